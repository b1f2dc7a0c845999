package apiserver

// Custom resources go through the same handlers as every kind; this file holds where they
// differ: they decode into unstructured.Unstructured, unknown fields are pruned by the
// schema instead of refused by a Go type, defaults and validation come from the schema,
// status and spec are top-level fields rather than struct fields, and with None conversion
// the version an object is served in is its apiVersion only. Inside the server objects are
// kept in their storage version; they are converted at the edges: decoding a request, and
// writing a response or a watch event (toVersion).

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apiextensions/schema"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/crconversion"
)

// decodeCustom decodes a custom resource and prunes what its schema does not know, reporting
// the pruned fields as fieldValidation asks (Strict: 400; Warn, the default: Warning
// headers; Ignore: silently), then applies the schema's defaults.
func (s *Server) decodeCustom(w http.ResponseWriter, req *http.Request, k *registry.Kind, body []byte, report bool) (*unstructured.Unstructured, *apiError) {
	u := &unstructured.Unstructured{}
	if err := json.Unmarshal(body, u); err != nil {
		return nil, errBadRequest(decodeMessage(err))
	}
	if u.Kind != "" && u.Kind != k.Kind {
		return nil, errBadRequest(fmt.Sprintf("the kind %q of the body does not match the resource %s (kind %q)", u.Kind, k.Resource, k.Kind))
	}
	if u.APIVersion != "" && u.APIVersion != k.APIVersion() {
		return nil, errBadRequest(fmt.Sprintf("the apiVersion %q of the body does not match %q", u.APIVersion, k.APIVersion()))
	}
	u.Kind, u.APIVersion = k.Kind, k.APIVersion()
	if sc := k.Custom.Schema; sc != nil {
		pruned := sc.PruneFields(u)
		if report && len(pruned) > 0 {
			switch req.URL.Query().Get("fieldValidation") {
			case "Ignore":
			case "Strict":
				msgs := make([]string, len(pruned))
				for i, f := range pruned {
					msgs[i] = fmt.Sprintf("unknown field %q", f)
				}
				return nil, errBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
			default:
				for _, f := range pruned {
					w.Header().Add("Warning", fmt.Sprintf(`299 - "unknown field \"%s\""`, f))
				}
			}
		}
		sc.DefaultFields(u)
	}
	return u, nil
}

// validateCustom checks a custom resource against its version's schema (old is the stored
// object on update, for CEL transition rules).
func validateCustom(k *registry.Kind, obj, old meta.Object) field.ErrorList {
	if k.Custom == nil || k.Custom.Schema == nil {
		return nil
	}
	var oldObj map[string]any
	if old != nil {
		oldObj = old.(*unstructured.Unstructured).Object()
	}
	return k.Custom.Schema.Validate(obj.(*unstructured.Unstructured).Object(), oldObj)
}

// toStorageVersion is obj as it is stored: for a custom resource, obj in its storage version
// (relabelled for None conversion, converted by the definition's webhook for Webhook); for a
// served-only version of a built-in kind, a new object of the storage kind
// (registry.Conversion); obj itself otherwise. An object that cannot be converted (a
// malformed annotation the conversion reads) is a bad request; a failed webhook is a 500.
func (s *Server) toStorageVersion(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	switch {
	case k.Custom != nil:
		return s.convertCustom(ctx, k, obj, k.Custom.StorageVersion)
	case k.Conversion != nil:
		st, err := k.Conversion.ToStorage(obj)
		if err != nil {
			return nil, errBadRequest(fmt.Sprintf("the object cannot be converted to %s: %v", k.Conversion.Storage.APIVersion(), err))
		}
		return st, nil
	}
	return obj, nil
}

// fromStorageVersion is a stored object (a copy of the handler's own) in the request's
// version, for a read-modify-write: the inverse of toStorageVersion.
func (s *Server) fromStorageVersion(ctx context.Context, k *registry.Kind, cur meta.Object) (meta.Object, *apiError) {
	switch {
	case k.Custom != nil:
		return s.convertCustom(ctx, k, cur, k.APIVersion())
	case k.Conversion != nil:
		o, err := k.Conversion.FromStorage(cur)
		if err != nil {
			return nil, errInternal(err)
		}
		return o, nil
	}
	return cur, nil
}

// convertCustom is a custom resource in apiVersion to: obj itself relabelled (None
// conversion), or the webhook's answer.
func (s *Server) convertCustom(ctx context.Context, k *registry.Kind, obj meta.Object, to string) (meta.Object, *apiError) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.APIVersion == to {
		return obj, nil
	}
	if k.Custom.Webhook == nil {
		u.APIVersion = to
		return u, nil
	}
	out, aerr := s.convertWebhook(ctx, k, []*unstructured.Unstructured{u}, to)
	if aerr != nil {
		return nil, aerr
	}
	return out[0], nil
}

// convertWebhook converts objects through the definition's webhook, in one review, and
// applies the target version's defaults to the converted ones (Kubernetes defaults after
// conversion too). Objects in version to already are returned as they are. A failure is a
// 500, as in Kubernetes, worded "conversion webhook for ... failed: ...".
func (s *Server) convertWebhook(ctx context.Context, k *registry.Kind, objs []*unstructured.Unstructured, to string) ([]*unstructured.Unstructured, *apiError) {
	c := crconversion.Converter{Client: s.webhooks, Webhook: k.Custom.Webhook}
	start := time.Now()
	out, err := c.Convert(ctx, objs, to)
	from := ""
	for _, o := range objs {
		if o.APIVersion != to {
			from = o.APIVersion
			break
		}
	}
	if from != "" {
		s.metrics.crConversion.WithLabelValues(k.Custom.CRD, from, to, strconv.FormatBool(err == nil)).Observe(time.Since(start).Seconds())
	}
	if err != nil {
		return nil, errInternal(err)
	}
	if sc := s.customSchema(k, to); sc != nil {
		for i := range out {
			if out[i] != objs[i] {
				sc.DefaultFields(out[i])
			}
		}
	}
	return out, nil
}

// customSchema is the compiled schema of the version apiVersion of k's definition (nil if
// not served or without one).
func (s *Server) customSchema(k *registry.Kind, apiVersion string) *schema.Schema {
	if k.APIVersion() == apiVersion {
		return k.Custom.Schema
	}
	for _, o := range s.reg.Kinds() {
		if o.Custom != nil && o.Custom.CRD == k.Custom.CRD && o.APIVersion() == apiVersion {
			return o.Custom.Schema
		}
	}
	return nil
}

// toVersion is obj as the request's version serves it: for a custom resource stored under
// another version, a shallow copy with the apiVersion rewritten (None conversion) or the
// webhook's conversion; for a served-only version of a built-in kind, the converted object;
// obj itself otherwise. obj may be a watch cache's and is never modified.
func (s *Server) toVersion(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	if k.Custom != nil && k.Custom.Webhook != nil {
		out, aerr := s.toVersions(ctx, k, []meta.Object{obj})
		if aerr != nil {
			return nil, aerr
		}
		return out[0], nil
	}
	return toVersion(k, obj), nil
}

// toVersions is toVersion for a list: the objects a webhook must convert go to it in one
// review. The slice is converted in place and returned.
func (s *Server) toVersions(ctx context.Context, k *registry.Kind, items []meta.Object) ([]meta.Object, *apiError) {
	if k.Custom == nil || k.Custom.Webhook == nil {
		for i := range items {
			items[i] = toVersion(k, items[i])
		}
		return items, nil
	}
	var us []*unstructured.Unstructured
	var at []int
	for i, it := range items {
		if u, ok := it.(*unstructured.Unstructured); ok && u.APIVersion != k.APIVersion() {
			us = append(us, u)
			at = append(at, i)
		}
	}
	if len(us) == 0 {
		return items, nil
	}
	out, aerr := s.convertWebhook(ctx, k, us, k.APIVersion())
	if aerr != nil {
		return nil, aerr
	}
	for j, i := range at {
		items[i] = out[j]
	}
	return items, nil
}

// toVersion is the conversion that needs no webhook (None conversion, built-in kinds).
func toVersion(k *registry.Kind, obj meta.Object) meta.Object {
	if k.Conversion != nil {
		if obj.GetTypeMeta().APIVersion == k.APIVersion() && obj.GetTypeMeta().Kind == k.Kind {
			return obj // converted already (a dry run's answer)
		}
		o, err := k.Conversion.FromStorage(obj)
		if err != nil {
			// Conversions from storage only marshal what was stored; this cannot fail short
			// of a bug, and the stored object is better than nothing.
			slog.Error("conversion from storage failed", "kind", k.Kind, "version", k.APIVersion(), "err", err)
			return obj
		}
		return o
	}
	if k.Custom == nil {
		return obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.APIVersion == k.APIVersion() {
		return obj
	}
	c := *u
	c.APIVersion = k.APIVersion()
	return &c
}

// customFields is a custom resource's top-level fields (nil for any other object).
func customFields(obj meta.Object) map[string]any {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.Fields
	}
	return nil
}

// resetCustomStatus drops status from a new custom resource of a kind with a status
// subresource: status is written through /status only.
func resetCustomStatus(k *registry.Kind, obj meta.Object) {
	if u, ok := obj.(*unstructured.Unstructured); ok && k.Status {
		delete(u.Fields, "status")
	}
}

// copyCustomField sets dst's top-level field name to src's (or removes it).
func copyCustomField(dst, src meta.Object, name string) {
	d, s := dst.(*unstructured.Unstructured), src.(*unstructured.Unstructured)
	if v, ok := s.Fields[name]; ok {
		if d.Fields == nil {
			d.Fields = map[string]any{}
		}
		d.Fields[name] = unstructured.DeepCopyValue(v)
	} else {
		delete(d.Fields, name)
	}
}

// customSpecChanged: for custom resources generation counts changes to anything but
// metadata (and status, when it is a subresource), as Kubernetes counts them.
func customSpecChanged(k *registry.Kind, n, cur meta.Object) bool {
	a := maps.Clone(n.(*unstructured.Unstructured).Fields)
	b := maps.Clone(cur.(*unstructured.Unstructured).Fields)
	if k.Status {
		delete(a, "status")
		delete(b, "status")
	}
	if len(a) == 0 && len(b) == 0 {
		return false
	}
	return !reflect.DeepEqual(a, b)
}

// errCustomTerminating refuses new objects of a definition being deleted.
func errCustomTerminating(k *registry.Kind) *apiError {
	return newStatus(http.StatusMethodNotAllowed, meta.ReasonMethodNotAllowed,
		"create not allowed while custom resource definition is terminating", nil)
}

// customScale reads and writes the scale subresource of a custom resource through the
// definition's JSON paths.
func customToScale(k *registry.Kind, obj meta.Object) (replicas, statusReplicas int32, selector string) {
	u := obj.(*unstructured.Unstructured)
	sc := k.Custom.Scale
	num := func(p string) int32 {
		v, _ := unstructured.NestedField(u.Fields, unstructured.ParsePath(p)...)
		switch n := v.(type) {
		case int64:
			return int32(n)
		case float64:
			return int32(n)
		}
		return 0
	}
	replicas = num(sc.SpecReplicasPath)
	statusReplicas = num(sc.StatusReplicasPath)
	if sc.LabelSelectorPath != nil {
		v, _ := unstructured.NestedField(u.Fields, unstructured.ParsePath(*sc.LabelSelectorPath)...)
		selector, _ = v.(string)
	}
	return replicas, statusReplicas, selector
}

func customSetReplicas(k *registry.Kind, obj meta.Object, n int32) {
	u := obj.(*unstructured.Unstructured)
	if u.Fields == nil {
		u.Fields = map[string]any{}
	}
	unstructured.SetNestedField(u.Fields, int64(n), unstructured.ParsePath(k.Custom.Scale.SpecReplicasPath)...)
}

// isCRDKind reports whether k is CustomResourceDefinition itself.
func isCRDKind(k *registry.Kind) bool {
	return k.Group == apiextensions.GroupName && k.Resource == "customresourcedefinitions"
}

// kindsChanged republishes what depends on the set of kinds (OpenAPI; discovery is computed
// per request) after a definition came, changed or went.
func (s *Server) kindsChanged() {
	s.docs.Store(newOpenAPIDocs(s.reg))
}
