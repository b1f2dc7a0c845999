package persistentvolume

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/api/volume"
)

// Event reasons of expansion, as Kubernetes' expander records them.
const (
	reasonExternalExpanding = "ExternalExpanding"
	reasonVolumeResizeOK    = "VolumeResizeSuccessful"
)

// expand grows a skiff.dev/local volume to its claim's larger request (admission has
// checked that the class allows it). A local volume is a directory with no size of its own,
// so growing it is recording the new capacity; the claim's status follows in bind. Volumes
// of other provisioners are left to them.
func (c *Controller) expand(ctx context.Context, pv *core.PersistentVolume, pvc *core.PersistentVolumeClaim) (*core.PersistentVolume, error) {
	req, capacity := volume.Requested(pvc), volume.Capacity(pv)
	if req.Cmp(capacity) <= 0 {
		return pv, nil
	}
	if pv.Annotations[core.AnnDynamicallyProvisioned] != storage.LocalProvisioner {
		c.recorder.Event(pvc, core.EventTypeNormal, reasonExternalExpanding,
			"waiting for an external controller to expand this PVC")
		return pv, nil
	}
	cp := *pv
	cp.Spec.Capacity = core.ResourceList{core.ResourceStorage: req}
	updated, err := c.pvClient.Update(ctx, &cp)
	if err != nil {
		return nil, ignoreGone(err)
	}
	c.assumeVolume(updated)
	c.recorder.Event(pvc, core.EventTypeNormal, reasonVolumeResizeOK, fmt.Sprintf("resize volume %s to %s succeeded", pv.Name, req.String()))
	return updated, nil
}
