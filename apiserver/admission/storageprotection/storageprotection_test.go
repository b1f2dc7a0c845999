package storageprotection

import (
	"context"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

func TestAdmit(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   admission.Operation
		obj  meta.Object
		want []string
	}{
		{"claim", admission.Create, &core.PersistentVolumeClaim{}, []string{PVCProtectionFinalizer}},
		{"claim keeps its own", admission.Create, &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Finalizers: []string{"a/b", PVCProtectionFinalizer}}},
			[]string{"a/b", PVCProtectionFinalizer}},
		{"volume", admission.Create, &core.PersistentVolume{}, []string{PVProtectionFinalizer}},
		{"update untouched", admission.Update, &core.PersistentVolume{}, nil},
		{"other kinds untouched", admission.Create, &core.Pod{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := (Plugin{}).Admit(context.Background(), &admission.Attributes{Operation: tc.op, Object: tc.obj}); err != nil {
				t.Fatal(err)
			}
			if got := tc.obj.GetObjectMeta().Finalizers; !slices.Equal(got, tc.want) {
				t.Fatalf("finalizers = %v, want %v", got, tc.want)
			}
		})
	}
}
