package scheduler

import (
	"context"
	"encoding/json"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

var (
	pvcsResource       = client.Resource{Version: "v1", Resource: "persistentvolumeclaims", Namespaced: true}
	pvsResource        = client.Resource{Version: "v1", Resource: "persistentvolumes"}
	classesResource    = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "storageclasses"}
	capacitiesResource = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "csistoragecapacities", Namespaced: true}
	driversResource    = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "csidrivers"}
)

// volumeInformers serve plugins.VolumeAccess (VolumeBinding) from watches of claims,
// volumes, classes, capacities and CSI drivers, and write the bindings VolumeBinding decides.
type volumeInformers struct {
	claims     *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	volumes    *informer.Informer[core.PersistentVolume, *core.PersistentVolume]
	classes    *informer.Informer[storage.StorageClass, *storage.StorageClass]
	capacities *informer.Informer[storage.CSIStorageCapacity, *storage.CSIStorageCapacity]
	drivers    *informer.Informer[storage.CSIDriver, *storage.CSIDriver]
	pvcClient  *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	pvClient   *client.Typed[core.PersistentVolume, *core.PersistentVolume]
}

func newVolumeInformers(c *client.Client) *volumeInformers {
	return &volumeInformers{
		claims:     informer.NewInformer(client.For[core.PersistentVolumeClaim](c, pvcsResource), "", client.ListOptions{}, 0),
		volumes:    informer.NewInformer(client.For[core.PersistentVolume](c, pvsResource), "", client.ListOptions{}, 0),
		classes:    informer.NewInformer(client.For[storage.StorageClass](c, classesResource), "", client.ListOptions{}, 0),
		capacities: informer.NewInformer(client.For[storage.CSIStorageCapacity](c, capacitiesResource), "", client.ListOptions{}, 0),
		drivers:    informer.NewInformer(client.For[storage.CSIDriver](c, driversResource), "", client.ListOptions{}, 0),
		pvcClient:  client.For[core.PersistentVolumeClaim](c, pvcsResource),
		pvClient:   client.For[core.PersistentVolume](c, pvsResource),
	}
}

func (v *volumeInformers) run(ctx context.Context) {
	go v.claims.Run(ctx)
	go v.volumes.Run(ctx)
	go v.classes.Run(ctx)
	go v.capacities.Run(ctx)
	go v.drivers.Run(ctx)
}

func (v *volumeInformers) hasSynced() bool {
	return v.claims.HasSynced() && v.volumes.HasSynced() && v.classes.HasSynced() && v.capacities.HasSynced() && v.drivers.HasSynced()
}

// addEventHandlers turns storage changes into the cluster events that retry pods
// VolumeBinding rejected.
func (v *volumeInformers) addEventHandlers(q interface {
	OnEvent(ev fw.ClusterEvent, oldObj, newObj any)
}) {
	v.claims.AddEventHandler(informer.Handler[*core.PersistentVolumeClaim]{
		AddFunc: func(c *core.PersistentVolumeClaim) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.PVCEvent, Action: fw.Add, Label: "PersistentVolumeClaimAdd"}, nil, c)
		},
		UpdateFunc: func(old, c *core.PersistentVolumeClaim) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.PVCEvent, Action: fw.Update, Label: "PersistentVolumeClaimUpdate"}, old, c)
		},
	})
	v.volumes.AddEventHandler(informer.Handler[*core.PersistentVolume]{
		AddFunc: func(pv *core.PersistentVolume) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.PVEvent, Action: fw.Add, Label: "PersistentVolumeAdd"}, nil, pv)
		},
		UpdateFunc: func(old, pv *core.PersistentVolume) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.PVEvent, Action: fw.Update, Label: "PersistentVolumeUpdate"}, old, pv)
		},
	})
	v.classes.AddEventHandler(informer.Handler[*storage.StorageClass]{
		AddFunc: func(c *storage.StorageClass) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.StorageClassEvent, Action: fw.Add, Label: "StorageClassAdd"}, nil, c)
		},
	})
	v.capacities.AddEventHandler(informer.Handler[*storage.CSIStorageCapacity]{
		AddFunc: func(c *storage.CSIStorageCapacity) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.CSIStorageCapacityEvent, Action: fw.Add, Label: "CSIStorageCapacityAdd"}, nil, c)
		},
		UpdateFunc: func(old, c *storage.CSIStorageCapacity) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.CSIStorageCapacityEvent, Action: fw.Update, Label: "CSIStorageCapacityUpdate"}, old, c)
		},
	})
	v.drivers.AddEventHandler(informer.Handler[*storage.CSIDriver]{
		AddFunc: func(d *storage.CSIDriver) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.CSIDriverEvent, Action: fw.Add, Label: "CSIDriverAdd"}, nil, d)
		},
		UpdateFunc: func(old, d *storage.CSIDriver) {
			q.OnEvent(fw.ClusterEvent{Resource: fw.CSIDriverEvent, Action: fw.Update, Label: "CSIDriverUpdate"}, old, d)
		},
	})
}

func (v *volumeInformers) Claim(namespace, name string) (*core.PersistentVolumeClaim, bool) {
	return v.claims.Indexer().GetByName(namespace, name)
}

func (v *volumeInformers) Volume(name string) (*core.PersistentVolume, bool) {
	return v.volumes.Indexer().GetByName("", name)
}

func (v *volumeInformers) Volumes() []*core.PersistentVolume { return v.volumes.Indexer().List() }

func (v *volumeInformers) Class(name string) (*storage.StorageClass, bool) {
	if name == "" {
		return nil, false
	}
	return v.classes.Indexer().GetByName("", name)
}

func (v *volumeInformers) Capacities() []*storage.CSIStorageCapacity {
	return v.capacities.Indexer().List()
}

// CapacityTracked: skiff's local provisioner publishes its capacity (the storage-capacity
// controller); a CSI driver asks for tracking with its CSIDriver's storageCapacity.
func (v *volumeInformers) CapacityTracked(provisioner string) bool {
	if provisioner == storage.LocalProvisioner {
		return true
	}
	d, ok := v.drivers.Indexer().GetByName("", provisioner)
	return ok && d.Spec.StorageCapacity != nil && *d.Spec.StorageCapacity
}

// BindVolume sets the volume's claimRef, conditional on the volume's resourceVersion (a
// volume taken meanwhile fails with a Conflict, and the pod is retried).
func (v *volumeInformers) BindVolume(ctx context.Context, pv *core.PersistentVolume, claim *core.PersistentVolumeClaim) error {
	cp := *pv
	cp.Annotations = make(map[string]string, len(pv.Annotations)+1)
	for k, val := range pv.Annotations {
		cp.Annotations[k] = val
	}
	cp.Annotations[core.AnnBoundByController] = "yes"
	cp.Spec.ClaimRef = &core.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1",
		Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion}
	_, err := v.pvClient.Update(ctx, &cp)
	return err
}

// AnnotateSelectedNode sets volume.kubernetes.io/selected-node on the claim (a merge patch:
// the claim's other fields are the PV controller's).
func (v *volumeInformers) AnnotateSelectedNode(ctx context.Context, claim *core.PersistentVolumeClaim, node string) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{core.AnnSelectedNode: node}}})
	if err != nil {
		return err
	}
	_, err = v.pvcClient.Patch(ctx, claim.Namespace, claim.Name, client.MergePatchType, body)
	return err
}
