package defaultstorageclass

import (
	"context"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// classes is an admission.Objects over a fixed list of StorageClasses.
type classes []*storage.StorageClass

func (c classes) Get(context.Context, string, string, string, string) (meta.Object, error) {
	panic("not used")
}

func (c classes) List(group, resource, _ string) []meta.Object {
	if group != storage.GroupName || resource != "storageclasses" {
		return nil
	}
	out := make([]meta.Object, len(c))
	for i, sc := range c {
		out[i] = sc
	}
	return out
}

func class(name string, isDefault bool, created time.Time) *storage.StorageClass {
	sc := &storage.StorageClass{ObjectMeta: meta.ObjectMeta{Name: name, CreationTimestamp: meta.Time{Time: created}}, Provisioner: "x"}
	if isDefault {
		sc.Annotations = map[string]string{storage.IsDefaultStorageClassAnnotation: "true"}
	}
	return sc
}

func TestAdmit(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	empty, fast := "", "fast"
	betaDefault := class("beta", false, t0.Add(time.Hour))
	betaDefault.Annotations = map[string]string{storage.BetaIsDefaultStorageClassAnnotation: "true"}
	for _, tc := range []struct {
		name    string
		classes classes
		op      admission.Operation
		class   *string
		annot   map[string]string
		want    *string
	}{
		{"default filled in", classes{class("standard", true, t0), class("fast", false, t0)}, admission.Create, nil, nil, ptr("standard")},
		{"newest default wins", classes{class("old", true, t0), class("new", true, t0.Add(time.Minute))}, admission.Create, nil, nil, ptr("new")},
		{"same age: first by name", classes{class("b", true, t0), class("a", true, t0)}, admission.Create, nil, nil, ptr("a")},
		{"beta annotation counts", classes{class("standard", true, t0), betaDefault}, admission.Create, nil, nil, ptr("beta")},
		{"no default: left unset", classes{class("fast", false, t0)}, admission.Create, nil, nil, nil},
		{"explicit class kept", classes{class("standard", true, t0)}, admission.Create, &fast, nil, ptr("fast")},
		{"empty class means none", classes{class("standard", true, t0)}, admission.Create, &empty, nil, ptr("")},
		{"beta claim annotation kept", classes{class("standard", true, t0)}, admission.Create, nil, map[string]string{core.BetaStorageClassAnnotation: "fast"}, nil},
		{"updates untouched", classes{class("standard", true, t0)}, admission.Update, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pvc := &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "ns", Annotations: tc.annot},
				Spec: core.PersistentVolumeClaimSpec{StorageClassName: tc.class}}
			a := &admission.Attributes{Operation: tc.op, Object: pvc, Namespace: "ns", Name: "data"}
			if err := New(tc.classes).Admit(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			got := pvc.Spec.StorageClassName
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("storageClassName = %v, want %v", deref(got), deref(tc.want))
			}
		})
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
