package persistentvolume

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/api/volume"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
)

// Event reasons of claims, as Kubernetes' binder records them.
const (
	reasonFailedBinding         = "FailedBinding"
	reasonWaitForFirstConsumer  = "WaitForFirstConsumer"
	reasonProvisioningFailed    = "ProvisioningFailed"
	reasonProvisioningSucceeded = "ProvisioningSucceeded"
	reasonExternalProvisioning  = "ExternalProvisioning"
	reasonClaimLost             = "ClaimLost"
	reasonClaimMisbound         = "ClaimMisbound"
)

func (c *Controller) syncClaimKey(ctx context.Context, key string) error {
	pvc, ok := c.claim(key)
	if !ok {
		return nil
	}
	if pvc.Spec.VolumeName == "" {
		return c.syncUnboundClaim(ctx, pvc)
	}
	return c.syncBoundClaim(ctx, pvc)
}

// syncUnboundClaim finds a volume for a claim naming none, or provisions one, or says why
// it cannot.
func (c *Controller) syncUnboundClaim(ctx context.Context, pvc *core.PersistentVolumeClaim) error {
	className := core.ClaimClass(pvc)
	var class *storage.StorageClass
	if className != "" {
		class, _ = c.class(className)
	}
	delay := class != nil && class.BindingMode() == storage.VolumeBindingWaitForFirstConsumer
	// A volume is chosen and reserved in memory under one lock, so that workers do not all
	// pick the same smallest volume and lose with Conflicts; its claimRef is written
	// outside the lock (workers' writes go in parallel), and the reservation dropped once
	// the write is assumed, or failed.
	key := informer.Key(pvc)
	c.choosing.Lock()
	excluded := make(map[string]bool, len(c.reserved))
	for name, by := range c.reserved {
		if by != key {
			excluded[name] = true
		}
	}
	pv, err := volume.FindMatching(pvc, c.allVolumes(), nil, excluded, delay)
	if err == nil && pv != nil {
		c.reserved[pv.Name] = key
	}
	c.choosing.Unlock()
	if err == nil && pv != nil {
		bound, err := c.bindVolume(ctx, pv, pvc)
		c.choosing.Lock()
		delete(c.reserved, pv.Name)
		c.choosing.Unlock()
		if err != nil || bound == nil {
			return err
		}
		return c.bind(ctx, bound, pvc)
	}
	if err != nil {
		c.recorder.Event(pvc, core.EventTypeWarning, reasonFailedBinding, err.Error())
		return c.setClaimPhase(ctx, pvc, core.ClaimPending)
	}
	if assigned, err := c.assignDefaultClass(ctx, pvc); err != nil || assigned {
		return err // the update brings the claim back, with its class
	}
	node := pvc.Annotations[core.AnnSelectedNode]
	switch {
	case className == "":
		c.recorder.Event(pvc, core.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	case class == nil:
		c.recorder.Event(pvc, core.EventTypeWarning, reasonProvisioningFailed, fmt.Sprintf("storageclass.storage.k8s.io %q not found", className))
	case delay && node == "":
		c.recorder.Event(pvc, core.EventTypeNormal, reasonWaitForFirstConsumer, "waiting for first consumer to be created before binding")
	case class.Provisioner == noProvisioner:
		c.recorder.Event(pvc, core.EventTypeNormal, reasonFailedBinding, "no persistent volumes available for this claim and no storage class is set")
	case class.Provisioner == storage.LocalProvisioner:
		return c.provisionLocal(ctx, pvc, class, node)
	default:
		return c.waitForExternalProvisioner(ctx, pvc, class)
	}
	return c.setClaimPhase(ctx, pvc, core.ClaimPending)
}

// assignDefaultClass gives the default class to a claim that names none (storageClassName
// absent, not ""), when no volume satisfies it: Kubernetes' retroactive default StorageClass
// assignment (GA in 1.28), for claims made before any class was default. True when the
// claim was updated.
func (c *Controller) assignDefaultClass(ctx context.Context, pvc *core.PersistentVolumeClaim) (bool, error) {
	if pvc.Spec.StorageClassName != nil {
		return false, nil
	}
	if _, ok := pvc.Annotations[core.BetaStorageClassAnnotation]; ok {
		return false, nil
	}
	def := storage.DefaultClass(c.classes.Indexer().List())
	if def == nil {
		return false, nil
	}
	cp := *pvc
	name := def.Name
	cp.Spec.StorageClassName = &name
	updated, err := c.pvcClient.Update(ctx, &cp)
	if err != nil {
		return false, ignoreGone(err)
	}
	c.assumeClaim(updated)
	return true, nil
}

// noProvisioner is the provisioner of classes whose volumes are made by hand (local
// volumes in Kubernetes' documentation).
const noProvisioner = "kubernetes.io/no-provisioner"

// waitForExternalProvisioner annotates the claim with the provisioner expected to make its
// volume (as Kubernetes does, so that an external provisioner finds its claims).
func (c *Controller) waitForExternalProvisioner(ctx context.Context, pvc *core.PersistentVolumeClaim, class *storage.StorageClass) error {
	if pvc.Annotations[core.AnnStorageProvisioner] != class.Provisioner {
		cp := *pvc
		cp.Annotations = copyMap(pvc.Annotations)
		cp.Annotations[core.AnnStorageProvisioner] = class.Provisioner
		cp.Annotations[core.AnnBetaStorageProvisioner] = class.Provisioner
		updated, err := c.pvcClient.Update(ctx, &cp)
		if err != nil {
			return ignoreGone(err)
		}
		c.assumeClaim(updated)
		pvc = updated
	}
	c.recorder.Event(pvc, core.EventTypeNormal, reasonExternalProvisioning,
		fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", class.Provisioner))
	return c.setClaimPhase(ctx, pvc, core.ClaimPending)
}

// syncBoundClaim completes or checks the binding of a claim naming a volume.
func (c *Controller) syncBoundClaim(ctx context.Context, pvc *core.PersistentVolumeClaim) error {
	pv, ok := c.volume(pvc.Spec.VolumeName)
	if !ok {
		// Pre-bound by the user to a volume that may come later; or bound, and the volume
		// is gone: the data with it.
		if pvc.Annotations[core.AnnBindCompleted] == "" {
			c.recorder.Event(pvc, core.EventTypeNormal, reasonFailedBinding, fmt.Sprintf("volume %q not found", pvc.Spec.VolumeName))
			return c.setClaimPhase(ctx, pvc, core.ClaimPending)
		}
		if pvc.Status.Phase != core.ClaimLost {
			c.recorder.Event(pvc, core.EventTypeWarning, reasonClaimLost, "Bound claim has lost its PersistentVolume. Data on the volume is lost!")
		}
		return c.setClaimPhase(ctx, pvc, core.ClaimLost)
	}
	switch {
	case pv.Spec.ClaimRef == nil:
		// The user pre-bound the claim: the volume must satisfy it.
		if msg := unsatisfied(pvc, pv); msg != "" {
			c.recorder.Event(pvc, core.EventTypeWarning, reasonFailedBinding, fmt.Sprintf("Cannot bind to requested volume %q: %s", pv.Name, msg))
			return c.setClaimPhase(ctx, pvc, core.ClaimPending)
		}
		return c.bind(ctx, pv, pvc)
	case volume.IsBoundToClaim(pv, pvc):
		pv, err := c.expand(ctx, pv, pvc)
		if err != nil || pv == nil {
			return err
		}
		return c.bind(ctx, pv, pvc) // finishes whatever part is missing
	default:
		if pvc.Annotations[core.AnnBindCompleted] == "" {
			c.recorder.Event(pvc, core.EventTypeWarning, reasonFailedBinding, "volume \""+pv.Name+"\" already bound to a different claim.")
			return c.setClaimPhase(ctx, pvc, core.ClaimPending)
		}
		if pvc.Status.Phase != core.ClaimLost {
			c.recorder.Event(pvc, core.EventTypeWarning, reasonClaimMisbound, "Two claims are bound to the same volume, this one is bound incorrectly")
		}
		return c.setClaimPhase(ctx, pvc, core.ClaimLost)
	}
}

// unsatisfied says why a volume a claim names cannot serve it ("" when it can).
func unsatisfied(pvc *core.PersistentVolumeClaim, pv *core.PersistentVolume) string {
	req, capacity := volume.Requested(pvc), volume.Capacity(pv)
	switch {
	case capacity.Cmp(req) < 0:
		return "requested PV is too small"
	case core.VolumeClass(pv) != core.ClaimClass(pvc):
		return "storageClassName does not match"
	case volume.VolumeModeMismatch(pvc, pv):
		return "incompatible volumeMode"
	case !volume.AccessModesSatisfied(pvc, pv):
		return "incompatible accessMode"
	}
	return ""
}

// setClaimPhase writes the claim's phase when it differs.
func (c *Controller) setClaimPhase(ctx context.Context, pvc *core.PersistentVolumeClaim, phase core.PersistentVolumeClaimPhase) error {
	if pvc.Status.Phase == phase {
		return nil
	}
	cp := *pvc
	cp.Status.Phase = phase
	if phase == core.ClaimLost {
		cp.Status.Capacity, cp.Status.AccessModes = nil, nil
	}
	updated, err := c.pvcClient.UpdateStatus(ctx, &cp)
	if err != nil {
		return ignoreGone(err)
	}
	c.assumeClaim(updated)
	return nil
}

// ignoreGone: an object deleted under us needs nothing more.
func ignoreGone(err error) error {
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
