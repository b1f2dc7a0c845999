package persistentvolume

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
)

// Event reasons of volumes.
const (
	reasonVolumeFailedRecycle = "VolumeFailedRecycle"
	reasonVolumeFailedDelete  = "VolumeFailedDelete"
	reasonVolumeDeleted       = "VolumeDeleted"
)

func (c *Controller) syncVolumeKey(ctx context.Context, name string) error {
	pv, ok := c.volume(name)
	if !ok || pv.DeletionTimestamp != nil {
		return nil
	}
	ref := pv.Spec.ClaimRef
	if ref == nil {
		_, err := c.setVolumePhase(ctx, pv, core.VolumeAvailable, "", "")
		return err
	}
	if ref.UID == "" {
		// Pre-bound by the user to a claim that has not been bound yet: the claim's sync
		// completes it; until then the volume waits, offered to no other claim.
		_, err := c.setVolumePhase(ctx, pv, core.VolumeAvailable, "", "")
		return err
	}
	pvc, found := c.claim(ref.Namespace + "/" + ref.Name)
	if found && pvc.UID != ref.UID {
		found = false
	}
	if !found {
		// The cache may lag a claim just created; ask the API server before releasing.
		live, err := c.pvcClient.Get(ctx, ref.Namespace, ref.Name)
		switch {
		case err == nil && live.UID == ref.UID:
			pvc, found = live, true
		case err != nil && !isNotFound(err):
			return err
		}
	}
	if !found {
		return c.release(ctx, pv)
	}
	switch pvc.Spec.VolumeName {
	case "":
		// Being bound: the claim's sync writes the rest.
		_, err := c.setVolumePhase(ctx, pv, core.VolumeBound, "", "")
		return err
	case pv.Name:
		_, err := c.setVolumePhase(ctx, pv, core.VolumeBound, "", "")
		return err
	default:
		// The claim is bound to another volume. A binding this controller made is undone,
		// so that the volume is Available again; one the user made is left alone.
		if pv.Annotations[core.AnnBoundByController] == "" {
			return nil
		}
		cp := *pv
		cp.Spec.ClaimRef = nil
		cp.Annotations = copyMap(pv.Annotations)
		delete(cp.Annotations, core.AnnBoundByController)
		updated, err := c.pvClient.Update(ctx, &cp)
		if err != nil {
			return ignoreGone(err)
		}
		c.assumeVolume(updated)
		_, err = c.setVolumePhase(ctx, updated, core.VolumeAvailable, "", "")
		return err
	}
}

// release handles a volume whose claim is gone, by its reclaim policy.
func (c *Controller) release(ctx context.Context, pv *core.PersistentVolume) error {
	pv, err := c.setVolumePhase(ctx, pv, core.VolumeReleased, "", "")
	if err != nil || pv == nil {
		return err
	}
	switch pv.Spec.PersistentVolumeReclaimPolicy {
	case core.PersistentVolumeReclaimRetain, "":
		return nil
	case core.PersistentVolumeReclaimRecycle:
		msg := "Recycle is not supported: reclaim this volume by hand"
		c.recorder.Event(pv, core.EventTypeWarning, reasonVolumeFailedRecycle, msg)
		_, err := c.setVolumePhase(ctx, pv, core.VolumeFailed, reasonVolumeFailedRecycle, msg)
		return err
	}
	// Delete: only volumes of a provisioner skiff runs can be deleted by it; an external
	// provisioner deletes its own.
	prov := pv.Annotations[core.AnnDynamicallyProvisioned]
	switch {
	case prov == storage.LocalProvisioner:
		return c.deleteVolume(ctx, pv)
	case prov != "":
		return nil
	}
	msg := fmt.Sprintf("error getting deleter volume plugin for volume %q: no deletable volume plugin matched", pv.Name)
	if pv.Status.Phase != core.VolumeFailed {
		c.recorder.Event(pv, core.EventTypeWarning, reasonVolumeFailedDelete, msg)
	}
	_, err = c.setVolumePhase(ctx, pv, core.VolumeFailed, reasonVolumeFailedDelete, msg)
	return err
}

// deleteVolume deletes a released skiff.dev/local volume object; the node holding its
// directory removes the data before the volume's cleanup finalizer lets it go.
func (c *Controller) deleteVolume(ctx context.Context, pv *core.PersistentVolume) error {
	if err := c.pvClient.Delete(ctx, "", pv.Name, nil); err != nil {
		return ignoreGone(err)
	}
	c.recorder.Event(pv, core.EventTypeNormal, reasonVolumeDeleted, "Volume deleted; its node removes the data")
	return nil
}

func isNotFound(err error) bool { return client.IsNotFound(err) }
