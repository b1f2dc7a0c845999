package pvcresize

import (
	"context"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
)

func TestValidate(t *testing.T) {
	yes, no := true, false
	objs := admissiontest.NewObjects(
		&storage.StorageClass{ObjectMeta: meta.ObjectMeta{Name: "grows"}, AllowVolumeExpansion: &yes},
		&storage.StorageClass{ObjectMeta: meta.ObjectMeta{Name: "fixed"}, AllowVolumeExpansion: &no},
	)
	k, _ := registry.Default().Lookup("", "v1", "persistentvolumeclaims")
	claim := func(class, size string, phase core.PersistentVolumeClaimPhase) *core.PersistentVolumeClaim {
		return &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "ns"},
			Spec: core.PersistentVolumeClaimSpec{StorageClassName: &class,
				Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse(size)}}},
			Status: core.PersistentVolumeClaimStatus{Phase: phase}}
	}
	for _, tc := range []struct {
		name     string
		old, new *core.PersistentVolumeClaim
		want     string
	}{
		{"grow allowed", claim("grows", "1Gi", core.ClaimBound), claim("grows", "2Gi", core.ClaimBound), ""},
		{"same size", claim("fixed", "1Gi", core.ClaimBound), claim("fixed", "1Gi", core.ClaimBound), ""},
		{"class forbids", claim("fixed", "1Gi", core.ClaimBound), claim("fixed", "2Gi", core.ClaimBound), "storageclass that provisions the pvc must support resize"},
		{"unknown class", claim("gone", "1Gi", core.ClaimBound), claim("gone", "2Gi", core.ClaimBound), "must support resize"},
		{"not bound", claim("grows", "1Gi", core.ClaimPending), claim("grows", "2Gi", core.ClaimPending), "Only bound persistent volume claims can be expanded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &admission.Attributes{Operation: admission.Update, Kind: k, Name: "data", Namespace: "ns", Object: tc.new, OldObject: tc.old}
			err := New(objs).Validate(context.Background(), a)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}
