package apiserver

// metadata.managedFields: every create, update and patch records which manager changed
// which fields (api/fieldmanager), as Kubernetes' field manager does; server-side apply
// (apply.go) merges with it.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/fieldmanager"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// fieldManagerMaxLength is Kubernetes' limit on a field manager's name.
const fieldManagerMaxLength = 128

// fieldType is the field-management Type of a kind, built once per Go type or schema.
func (s *Server) fieldType(k *registry.Kind) *fieldmanager.Type {
	var key any = k.Type
	if k.Custom != nil {
		key = k.Custom
	}
	if t, ok := s.fieldTypes.Load(key); ok {
		return t.(*fieldmanager.Type)
	}
	var t *fieldmanager.Type
	if k.Custom != nil {
		metaType := fieldmanager.FromGoType(reflect.TypeFor[meta.ObjectMeta](), fieldmanager.KubernetesOverrides())
		var props *apiextensions.JSONSchemaProps
		if k.Custom.Schema != nil {
			props = k.Custom.Schema.Props
		}
		t = fieldmanager.FromSchema(props, metaType)
	} else {
		t = fieldmanager.FromGoType(k.Type, fieldmanager.KubernetesOverrides())
	}
	s.fieldTypes.Store(key, t)
	return t
}

// fieldRequest describes a write to r for the field manager. The main resource of a kind
// with a status subresource does not track status, and /status tracks status only, as
// Kubernetes' strategies' reset fields say.
func (s *Server) fieldRequest(r *request) *fieldmanager.Request {
	k := r.kind
	fr := &fieldmanager.Request{Type: s.fieldType(k), APIVersion: k.APIVersion(), Subresource: r.subresource, Now: time.Now()}
	switch {
	case r.subresource == "status":
		fr.Tracked = func(f string) bool { return f == "status" || f == "metadata" }
	case r.subresource == "" && k.Status:
		fr.Tracked = func(f string) bool { return f != "status" }
	}
	return fr
}

// managerName is the request's field manager: ?fieldManager=, or the User-Agent up to its
// first '/' (printable characters, at most 128 bytes), as Kubernetes derives it.
func managerName(req *http.Request) string {
	if m := req.URL.Query().Get("fieldManager"); m != "" {
		return m
	}
	ua, _, _ := strings.Cut(req.UserAgent(), "/")
	var b bytes.Buffer
	for _, r := range ua {
		if !unicode.IsPrint(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > fieldManagerMaxLength {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// validateFieldManager checks ?fieldManager= (Kubernetes' ValidateFieldManager), naming the
// options kind the error is reported against.
func validateFieldManager(req *http.Request, optionsKind string, apply bool) *apiError {
	q := req.URL.Query()
	m := q.Get("fieldManager")
	var errs field.ErrorList
	p := field.NewPath("fieldManager")
	switch {
	case m == "" && apply:
		errs = append(errs, field.Required(p, "is required for apply patch"))
	case len(m) > fieldManagerMaxLength:
		errs = append(errs, field.TooLong(p, "", fieldManagerMaxLength))
	default:
		for _, r := range m {
			if !unicode.IsPrint(r) {
				errs = append(errs, field.Invalid(p, m, "must only contain printable characters"))
				break
			}
		}
	}
	if q.Has("force") && !apply {
		errs = append(errs, field.Forbidden(field.NewPath("force"), "may not be specified for non-apply patch"))
	}
	if len(errs) == 0 {
		return nil
	}
	return errInvalid(&registry.Kind{Group: "meta.k8s.io", Kind: optionsKind, Custom: &registry.Custom{}}, "", errs)
}

// toFieldMap is an object as decoded JSON, numbers kept exact.
func toFieldMap(obj meta.Object) (map[string]any, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// trackUpdate records in n's managedFields what manager changed from live (nil for a create:
// the kind's empty object). An object the field manager cannot type loses its managedFields,
// as in Kubernetes (UpdateNoErrors); the write itself goes on.
//
// sent are the managedFields the client sent: an empty list (which JSON encoding of the
// object drops) clears them.
func (s *Server) trackUpdate(req *http.Request, r *request, live, n meta.Object, sent []json.RawMessage) {
	if live == nil {
		live = r.kind.New()
	}
	lm, err1 := toFieldMap(live)
	nm, err2 := toFieldMap(n)
	if err1 != nil || err2 != nil {
		n.GetObjectMeta().ManagedFields = nil
		return
	}
	if sent != nil && len(sent) == 0 {
		if md, ok := nm["metadata"].(map[string]any); ok {
			md["managedFields"] = []any{}
		}
	}
	mf, err := s.fieldRequest(r).Update(lm, nm, managerName(req))
	if err != nil {
		s.log.Debug("managedFields not tracked", "resource", r.kind.Resource, "name", n.GetObjectMeta().Name, "err", err)
		mf = nil
	}
	n.GetObjectMeta().ManagedFields = mf
}
