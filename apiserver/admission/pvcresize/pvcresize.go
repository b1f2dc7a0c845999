// Package pvcresize is Kubernetes' PersistentVolumeClaimResize admission plugin: a claim's
// storage request may grow only when the claim is bound and its StorageClass sets
// allowVolumeExpansion (shrinking is refused by validation).
package pvcresize

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Plugin checks claim expansions against the classes read through objs.
type Plugin struct{ objs admission.Objects }

// New makes the plugin.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

func (*Plugin) Name() string { return "PersistentVolumeClaimResize" }

// Validate refuses growing a claim that is not bound or whose class does not allow it.
func (pl *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	pvc, ok := a.Object.(*core.PersistentVolumeClaim)
	if !ok || a.Subresource != "" || a.Operation != admission.Update {
		return nil
	}
	old, ok := a.OldObject.(*core.PersistentVolumeClaim)
	if !ok {
		return nil
	}
	newSize, oldSize := pvc.Spec.Resources.Requests[core.ResourceStorage], old.Spec.Resources.Requests[core.ResourceStorage]
	if newSize.Cmp(oldSize) <= 0 {
		return nil
	}
	if old.Status.Phase != core.ClaimBound {
		return admission.Forbidden(a, "Only bound persistent volume claims can be expanded")
	}
	if !pl.allowResize(ctx, pvc, old) {
		return admission.Forbidden(a, "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize")
	}
	return nil
}

func (pl *Plugin) allowResize(ctx context.Context, pvc, old *core.PersistentVolumeClaim) bool {
	class, oldClass := core.ClaimClass(pvc), core.ClaimClass(old)
	if class == "" || class != oldClass {
		return false
	}
	o, err := pl.objs.Get(ctx, storage.GroupName, "storageclasses", "", class)
	if err != nil {
		return false
	}
	sc := o.(*storage.StorageClass)
	return sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
}
