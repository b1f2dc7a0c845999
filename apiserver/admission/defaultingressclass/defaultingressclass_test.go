package defaultingressclass

import (
	"context"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// classes is an admission.Objects holding IngressClasses only.
type classes []meta.Object

func (c classes) Get(context.Context, string, string, string, string) (meta.Object, error) {
	return nil, nil
}

func (c classes) List(group, resource, _ string) []meta.Object {
	if group == networking.GroupName && resource == "ingressclasses" {
		return c
	}
	return nil
}

func class(name string, def string, created time.Time) *networking.IngressClass {
	c := &networking.IngressClass{ObjectMeta: meta.ObjectMeta{Name: name, CreationTimestamp: meta.Time{Time: created}}}
	if def != "" {
		c.Annotations = map[string]string{networking.AnnotationIsDefaultIngressClass: def}
	}
	return c
}

func TestAdmit(t *testing.T) {
	reg := registry.Default()
	ingKind, _ := reg.Lookup(networking.GroupName, "v1", "ingresses")
	classKind, _ := reg.Lookup(networking.GroupName, "v1", "ingressclasses")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	skiff := class("skiff", "true", t0)
	newer := class("newer", "true", t0.Add(time.Hour))
	sameTime := class("aaa", "true", t0)
	notDefault := class("other", "false", t0.Add(2*time.Hour))
	name := func(s string) *string { return &s }

	for _, tc := range []struct {
		name       string
		op         admission.Operation
		kind       *registry.Kind
		sub        string
		classes    classes
		className  *string
		annotation string
		want       *string
	}{
		{"no class gets the default", admission.Create, ingKind, "", classes{skiff, notDefault}, nil, "", name("skiff")},
		{"the newest default wins", admission.Create, ingKind, "", classes{skiff, newer}, nil, "", name("newer")},
		{"same age: by name", admission.Create, ingKind, "", classes{skiff, sameTime}, nil, "", name("aaa")},
		{"a class named stays", admission.Create, ingKind, "", classes{skiff}, name("mine"), "", name("mine")},
		{"the deprecated annotation stays", admission.Create, ingKind, "", classes{skiff}, nil, "nginx", nil},
		{"no default class: nothing", admission.Create, ingKind, "", classes{notDefault}, nil, "", nil},
		{"updates are left alone", admission.Update, ingKind, "", classes{skiff}, nil, "", nil},
		{"status writes are left alone", admission.Create, ingKind, "status", classes{skiff}, nil, "", nil},
		{"other kinds are left alone", admission.Create, classKind, "", classes{skiff}, nil, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ing := &networking.Ingress{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
				Spec: networking.IngressSpec{IngressClassName: tc.className}}
			if tc.annotation != "" {
				ing.Annotations = map[string]string{networking.AnnotationIngressClass: tc.annotation}
			}
			var obj meta.Object = ing
			if tc.kind == classKind {
				obj = class("x", "", t0)
			}
			a := &admission.Attributes{Operation: tc.op, Kind: tc.kind, Subresource: tc.sub, Namespace: "default", Name: "web", Object: obj}
			if err := New(tc.classes).Admit(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			got := ing.Spec.IngressClassName
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("ingressClassName = %v, want %v", deref(got), deref(tc.want))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
