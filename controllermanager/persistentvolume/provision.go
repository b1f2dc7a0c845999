package persistentvolume

import (
	"context"
	"fmt"
	"path"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
)

// provisionLocal is skiff's local provisioner: a volume on the node the scheduler chose for
// the claim's first pod, a directory under the node's local volume directory (the node
// advertises it in the skiff.dev/local-volume-dir annotation; its agent creates the
// directory when a pod first mounts the volume), pinned to the node by node affinity.
//
// The controller manager makes the PersistentVolume rather than the node agent because a
// node may not create PersistentVolumes (Node authorizer, as in Kubernetes): a node that
// could would be able to point a volume at any path of any node.
func (c *Controller) provisionLocal(ctx context.Context, pvc *core.PersistentVolumeClaim, class *storage.StorageClass, nodeName string) error {
	if nodeName == "" {
		c.recorder.Event(pvc, core.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf(
			"storageclass %q: the %s provisioner makes a volume on the node of the claim's first pod; use volumeBindingMode WaitForFirstConsumer", class.Name, storage.LocalProvisioner))
		return c.setClaimPhase(ctx, pvc, core.ClaimPending)
	}
	node, ok := c.nodes.Indexer().GetByName("", nodeName)
	if !ok {
		// A node just added may not be cached yet: ask before giving up on it.
		live, err := c.nodeClient.Get(ctx, "", nodeName)
		switch {
		case err == nil:
			node, ok = live, true
		case !client.IsNotFound(err):
			return err
		}
	}
	if !ok {
		// The chosen node is gone: forget the choice so that the scheduler chooses again.
		c.recorder.Event(pvc, core.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("node %q not found; rescheduling", nodeName))
		cp := *pvc
		cp.Annotations = copyMap(pvc.Annotations)
		delete(cp.Annotations, core.AnnSelectedNode)
		updated, err := c.pvcClient.Update(ctx, &cp)
		if err != nil {
			return ignoreGone(err)
		}
		c.assumeClaim(updated)
		return nil
	}
	dir := node.Annotations[storage.LocalVolumeDirAnnotation]
	if dir == "" {
		c.recorder.Event(pvc, core.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf(
			"node %q does not advertise a local volume directory (annotation %s)", nodeName, storage.LocalVolumeDirAnnotation))
		return c.setClaimPhase(ctx, pvc, core.ClaimPending)
	}
	pv := localVolume(pvc, class, nodeName, dir)
	created, err := c.pvClient.Create(ctx, pv)
	switch {
	case client.IsAlreadyExists(err):
		// Made by an earlier sync whose cache has not caught up: binding finishes it.
		existing, ok := c.volume(pv.Name)
		if !ok {
			return fmt.Errorf("volume %s exists but is not cached yet", pv.Name)
		}
		created = existing
	case err != nil:
		c.recorder.Event(pvc, core.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("failed to create volume %s: %v", pv.Name, err))
		return err
	default:
		c.assumeVolume(created)
		c.recorder.Event(pvc, core.EventTypeNormal, reasonProvisioningSucceeded, fmt.Sprintf("Successfully provisioned volume %s", created.Name))
	}
	return c.bind(ctx, created, pvc)
}

// localVolume is the PersistentVolume provisioned for pvc on node: named pvc-<claim uid> as
// Kubernetes' provisioners name theirs, already naming its claim.
func localVolume(pvc *core.PersistentVolumeClaim, class *storage.StorageClass, node, dir string) *core.PersistentVolume {
	name := "pvc-" + string(pvc.UID)
	reclaim := core.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	mode := core.VolumeModeOf(pvc.Spec.VolumeMode)
	return &core.PersistentVolume{
		TypeMeta: meta.TypeMeta{Kind: "PersistentVolume", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name, Annotations: map[string]string{
			core.AnnDynamicallyProvisioned: storage.LocalProvisioner,
			core.AnnBoundByController:      "yes",
		}},
		Spec: core.PersistentVolumeSpec{
			Capacity:                      core.ResourceList{core.ResourceStorage: pvc.Spec.Resources.Requests[core.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			VolumeMode:                    &mode,
			PersistentVolumeSource:        core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: path.Join(dir, name)}},
			ClaimRef: &core.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion},
			NodeAffinity: &core.VolumeNodeAffinity{Required: &core.NodeSelector{NodeSelectorTerms: []core.NodeSelectorTerm{{
				MatchExpressions: []core.NodeSelectorRequirement{{Key: core.LabelHostname, Operator: core.NodeSelectorOpIn, Values: []string{node}}},
			}}}},
		},
	}
}
