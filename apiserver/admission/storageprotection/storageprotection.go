// Package storageprotection is Kubernetes' StorageObjectInUseProtection admission plugin:
// every new PersistentVolumeClaim gets the kubernetes.io/pvc-protection finalizer and every
// new PersistentVolume kubernetes.io/pv-protection, so that deleting one that is in use
// only marks it; the PV controller's protection loops remove the finalizer once no pod uses
// the claim (and no claim is bound to the volume).
package storageprotection

import (
	"context"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// The finalizers, as Kubernetes names them.
const (
	PVCProtectionFinalizer = "kubernetes.io/pvc-protection"
	PVProtectionFinalizer  = "kubernetes.io/pv-protection"
)

// Plugin adds the protection finalizers.
type Plugin struct{}

func (Plugin) Name() string { return "StorageObjectInUseProtection" }

// Admit adds the finalizer to claims and volumes being created.
func (Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	if a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	switch o := a.Object.(type) {
	case *core.PersistentVolumeClaim:
		if !slices.Contains(o.Finalizers, PVCProtectionFinalizer) {
			o.Finalizers = append(o.Finalizers, PVCProtectionFinalizer)
		}
	case *core.PersistentVolume:
		if !slices.Contains(o.Finalizers, PVProtectionFinalizer) {
			o.Finalizers = append(o.Finalizers, PVProtectionFinalizer)
		}
	}
	return nil
}
