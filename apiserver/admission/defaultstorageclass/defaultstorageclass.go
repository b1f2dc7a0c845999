// Package defaultstorageclass is Kubernetes' DefaultStorageClass admission plugin: a new
// PersistentVolumeClaim that names no class (spec.storageClassName absent, and no beta
// storage-class annotation) gets the default StorageClass, the one annotated
// storageclass.kubernetes.io/is-default-class=true. When several are, the newest wins, as
// in Kubernetes since 1.26 (so that switching defaults never leaves a gap). A claim that
// sets storageClassName to "" asks for no class and is left alone; so is every claim when
// there is no default (the PV controller assigns one later, retroactively).
package defaultstorageclass

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Plugin fills in claims' storage class from the classes read through objs.
type Plugin struct{ objs admission.Objects }

// New makes the plugin.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

func (*Plugin) Name() string { return "DefaultStorageClass" }

// Admit sets spec.storageClassName of claims being created that name no class.
func (pl *Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	pvc, ok := a.Object.(*core.PersistentVolumeClaim)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	if pvc.Spec.StorageClassName != nil {
		return nil
	}
	if _, ok := pvc.Annotations[core.BetaStorageClassAnnotation]; ok {
		return nil
	}
	if def := Default(pl.objs); def != nil {
		name := def.Name
		pvc.Spec.StorageClassName = &name
	}
	return nil
}

// Default is the default class among those objs lists: the newest of those annotated as
// default (ties broken by name), nil if none is.
func Default(objs admission.Objects) *storage.StorageClass {
	var classes []*storage.StorageClass
	for _, o := range objs.List(storage.GroupName, "storageclasses", "") {
		classes = append(classes, o.(*storage.StorageClass))
	}
	return storage.DefaultClass(classes)
}
