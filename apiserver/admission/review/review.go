// Package review describes a write as an admission.k8s.io/v1 AdmissionRequest, as Kubernetes'
// CreateAdmissionObjects does: what admission webhooks receive and what CEL admission
// expressions see as `request`.
package review

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/uuid"
	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/match"
)

// Request describes the write with a fresh uid. With withObjects, the objects are encoded from
// a as it is now (after the mutations so far); CEL expressions get them as variables of their
// own, and their `request` leaves them out, as Kubernetes' CreateAdmissionRequest does.
func Request(a *admission.Attributes, withObjects bool) (*admissionv1.AdmissionRequest, error) {
	k := a.Kind
	gvk := admissionv1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
	// A subresource whose body is not the parent (an Eviction, a Binding, a Scale) is
	// described by that body's kind, as Kubernetes does.
	if match.Present(a.Object) && reflect.TypeOf(a.Object).Elem() != k.Type {
		if tm := a.Object.GetTypeMeta(); tm.Kind != "" {
			g, v := splitAPIVersion(tm.APIVersion)
			gvk = admissionv1.GroupVersionKind{Group: g, Version: v, Kind: tm.Kind}
		}
	}
	gvr := admissionv1.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
	req := &admissionv1.AdmissionRequest{
		UID: uuid.NewString(), Kind: gvk, Resource: gvr, SubResource: a.Subresource,
		RequestKind: &gvk, RequestResource: &gvr, RequestSubResource: a.Subresource,
		Name: a.Name, Namespace: a.Namespace, Operation: string(a.Operation), DryRun: &a.DryRun,
	}
	if a.User != nil {
		req.UserInfo = authentication.UserInfo{Username: a.User.Name, UID: a.User.UID, Groups: a.User.Groups}
		if len(a.User.Extra) > 0 {
			req.UserInfo.Extra = map[string]authentication.ExtraValue{}
			for key, v := range a.User.Extra {
				req.UserInfo.Extra[key] = v
			}
		}
	}
	if !withObjects {
		req.Options = options(a)
		return req, nil
	}
	var err error
	if req.Object, err = EncodeObject(a, a.Object); err != nil {
		return nil, err
	}
	if req.OldObject, err = EncodeObject(a, a.OldObject); err != nil {
		return nil, err
	}
	req.Options = options(a)
	return req, nil
}

// EncodeObject is the object's JSON with apiVersion and kind set (a webhook decodes by them),
// or nil for no object.
func EncodeObject(a *admission.Attributes, o meta.Object) (json.RawMessage, error) {
	if !match.Present(o) {
		return nil, nil
	}
	if tm := o.GetTypeMeta(); tm.Kind == "" && reflect.TypeOf(o).Elem() == a.Kind.Type {
		tm.Kind, tm.APIVersion = a.Kind.Kind, a.Kind.APIVersion()
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", a.Kind.Kind, err)
	}
	return b, nil
}

// options is the operation's options object, as Kubernetes sends it (CreateOptions,
// UpdateOptions, DeleteOptions), carrying dryRun.
func options(a *admission.Attributes) json.RawMessage {
	kind := map[admission.Operation]string{admission.Create: "CreateOptions", admission.Update: "UpdateOptions", admission.Delete: "DeleteOptions"}[a.Operation]
	if kind == "" {
		return nil
	}
	o := map[string]any{"kind": kind, "apiVersion": "meta.k8s.io/v1"}
	if a.DryRun {
		o["dryRun"] = []string{"All"}
	}
	b, _ := json.Marshal(o)
	return b
}

func splitAPIVersion(av string) (group, version string) {
	for i := len(av) - 1; i >= 0; i-- {
		if av[i] == '/' {
			return av[:i], av[i+1:]
		}
	}
	return "", av
}
