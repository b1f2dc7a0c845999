package persistentvolume

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// bind makes pv and pvc point at each other and both Bound, writing only what is missing,
// volume first: a crash between writes leaves a volume that names its claim, which the next
// sync of either finishes (and never a claim naming a volume that could go to another).
func (c *Controller) bind(ctx context.Context, pv *core.PersistentVolume, pvc *core.PersistentVolumeClaim) error {
	pv, err := c.bindVolume(ctx, pv, pvc)
	if err != nil || pv == nil {
		return err
	}
	if pv, err = c.setVolumePhase(ctx, pv, core.VolumeBound, "", ""); err != nil || pv == nil {
		return err
	}
	if pvc, err = c.bindClaim(ctx, pv, pvc); err != nil || pvc == nil {
		return err
	}
	return c.setClaimBound(ctx, pv, pvc)
}

// bindVolume sets the volume's claimRef to the claim (with its UID); nil, nil when the
// volume is gone.
func (c *Controller) bindVolume(ctx context.Context, pv *core.PersistentVolume, pvc *core.PersistentVolumeClaim) (*core.PersistentVolume, error) {
	if ref := pv.Spec.ClaimRef; ref != nil && ref.UID == pvc.UID && ref.Name == pvc.Name && ref.Namespace == pvc.Namespace {
		return pv, nil
	}
	cp := *pv
	if pv.Spec.ClaimRef == nil {
		cp.Annotations = copyMap(pv.Annotations)
		cp.Annotations[core.AnnBoundByController] = "yes"
	}
	cp.Spec.ClaimRef = &core.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
		Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion}
	updated, err := c.pvClient.Update(ctx, &cp)
	if err != nil {
		return nil, ignoreGone(err)
	}
	c.assumeVolume(updated)
	return updated, nil
}

// bindClaim sets the claim's volumeName and marks the binding complete.
func (c *Controller) bindClaim(ctx context.Context, pv *core.PersistentVolume, pvc *core.PersistentVolumeClaim) (*core.PersistentVolumeClaim, error) {
	if pvc.Spec.VolumeName == pv.Name && pvc.Annotations[core.AnnBindCompleted] == "yes" {
		return pvc, nil
	}
	cp := *pvc
	cp.Annotations = copyMap(pvc.Annotations)
	if pvc.Spec.VolumeName == "" {
		cp.Annotations[core.AnnBoundByController] = "yes"
	}
	cp.Annotations[core.AnnBindCompleted] = "yes"
	cp.Spec.VolumeName = pv.Name
	updated, err := c.pvcClient.Update(ctx, &cp)
	if err != nil {
		return nil, ignoreGone(err)
	}
	c.assumeClaim(updated)
	return updated, nil
}

// setClaimBound reports the volume's capacity and access modes in the claim's status.
func (c *Controller) setClaimBound(ctx context.Context, pv *core.PersistentVolume, pvc *core.PersistentVolumeClaim) error {
	if pvc.Status.Phase == core.ClaimBound && equalQuantities(pvc.Status.Capacity, pv.Spec.Capacity) &&
		equalModes(pvc.Status.AccessModes, pv.Spec.AccessModes) {
		return nil
	}
	cp := *pvc
	cp.Status.Phase = core.ClaimBound
	cp.Status.AccessModes = pv.Spec.AccessModes
	cp.Status.Capacity = pv.Spec.Capacity
	updated, err := c.pvcClient.UpdateStatus(ctx, &cp)
	if err != nil {
		return ignoreGone(err)
	}
	c.assumeClaim(updated)
	return nil
}

// setVolumePhase writes the volume's phase (with reason and message) when it differs; nil,
// nil when the volume is gone.
func (c *Controller) setVolumePhase(ctx context.Context, pv *core.PersistentVolume, phase core.PersistentVolumePhase, reason, msg string) (*core.PersistentVolume, error) {
	if pv.Status.Phase == phase && pv.Status.Reason == reason && pv.Status.Message == msg {
		return pv, nil
	}
	cp := *pv
	if cp.Status.Phase != phase {
		now := meta.NewTime(c.now())
		cp.Status.LastPhaseTransitionTime = &now
	}
	cp.Status.Phase, cp.Status.Reason, cp.Status.Message = phase, reason, msg
	updated, err := c.pvClient.UpdateStatus(ctx, &cp)
	if err != nil {
		return nil, ignoreGone(err)
	}
	c.assumeVolume(updated)
	return updated, nil
}

func equalQuantities(a, b core.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func equalModes(a, b []core.PersistentVolumeAccessMode) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}
