// Package storagecapacity publishes the room the local provisioner has on each node, as the
// CSIStorageCapacity objects a CSI driver's external-provisioner publishes: one per node
// and skiff.dev/local StorageClass, in kube-system, whose nodeTopology selects the node by
// kubernetes.io/hostname and whose capacity is what the node's agent last measured free on
// the filesystem of its local volume directory (the Node annotation
// skiff.dev/local-volume-capacity). The scheduler's VolumeBinding plugin reads them, because
// the CSIDriver skiff.dev/local asks for capacity tracking (storageCapacity: true), and
// does not provision a claim on a node without room.
//
// The node measures and the controller manager publishes because a node may not write
// CSIStorageCapacity objects (nor should: one node could then speak for another).
package storagecapacity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "storage-capacity"

// Namespace holds the published capacities (a CSI driver's would be in the driver's).
const Namespace = "kube-system"

// ManagedByLabel marks the capacities this controller owns (external-provisioner's label).
const ManagedByLabel = "csi.storage.k8s.io/managed-by"

// managedBy is this controller's value of ManagedByLabel.
const managedBy = "skiff-controller-manager"

// Resources the controller reads and writes.
var (
	Capacities     = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "csistoragecapacities", Namespaced: true}
	StorageClasses = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "storageclasses"}
)

// gcKey is the queue key of the pass that deletes capacities of nodes or classes gone.
const gcKey = "\x00gc"

// Controller publishes CSIStorageCapacity for the local provisioner.
type Controller struct {
	nodes      *informer.Informer[core.Node, *core.Node]
	classes    *informer.Informer[storage.StorageClass, *storage.StorageClass]
	capacities *informer.Informer[storage.CSIStorageCapacity, *storage.CSIStorageCapacity]
	client     *client.Typed[storage.CSIStorageCapacity, *storage.CSIStorageCapacity]
	queue      *controller.Queue
	log        *slog.Logger
	workers    int
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		nodes:      controller.NodeInformer(cc),
		classes:    informer.For[storage.StorageClass](cc.Informers, StorageClasses),
		capacities: informer.For[storage.CSIStorageCapacity](cc.Informers, Capacities),
		client:     client.For[storage.CSIStorageCapacity](cc.Client, Capacities),
		queue:      controller.NewQueue(cc, Name),
		log:        cc.Logger(Name),
		workers:    cc.WorkerCount(),
	}
	c.nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: func(n *core.Node) { c.queue.Add(n.Name) },
		UpdateFunc: func(o, n *core.Node) {
			if o.Annotations[storage.LocalVolumeCapacityAnnotation] != n.Annotations[storage.LocalVolumeCapacityAnnotation] {
				c.queue.Add(n.Name)
			}
		},
		DeleteFunc: func(*core.Node) { c.queue.Add(gcKey) },
	})
	allNodes := func() {
		for _, n := range c.nodes.Indexer().List() {
			c.queue.Add(n.Name)
		}
		c.queue.Add(gcKey)
	}
	c.classes.AddEventHandler(informer.Handler[*storage.StorageClass]{
		AddFunc:    func(*storage.StorageClass) { allNodes() },
		UpdateFunc: func(*storage.StorageClass, *storage.StorageClass) {}, // provisioner is immutable
		DeleteFunc: func(*storage.StorageClass) { c.queue.Add(gcKey) },
	})
	// A published capacity changed or deleted by someone else is put right.
	c.capacities.AddEventHandler(informer.Handler[*storage.CSIStorageCapacity]{
		UpdateFunc: func(_, cap *storage.CSIStorageCapacity) { c.enqueueCapacity(cap) },
		DeleteFunc: c.enqueueCapacity,
	})
	return c
}

func (c *Controller) enqueueCapacity(cap *storage.CSIStorageCapacity) {
	if cap.Labels[ManagedByLabel] == managedBy {
		if n := nodeOf(cap); n != "" {
			c.queue.Add(n)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.nodes.HasSynced, c.classes.HasSynced, c.capacities.HasSynced) {
		return
	}
	c.queue.Add(gcKey)
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	if key == gcKey {
		return c.collect(ctx)
	}
	node, ok := c.nodes.Indexer().Get(key)
	if !ok {
		return nil // its capacities go in the collection pass
	}
	room, ok := roomOf(node)
	if !ok {
		return nil
	}
	for _, class := range c.localClasses() {
		want := desired(node.Name, class.Name, room)
		have, ok := c.capacities.Indexer().GetByName(Namespace, want.Name)
		switch {
		case !ok:
			if _, err := c.client.Create(ctx, want); err != nil && !client.IsAlreadyExists(err) {
				return fmt.Errorf("publish capacity of %s on %s: %w", class.Name, node.Name, err)
			}
		case have.Capacity == nil || have.Capacity.Cmp(*want.Capacity) != 0 || have.StorageClassName != want.StorageClassName ||
			nodeOf(have) != node.Name || have.Labels[ManagedByLabel] != managedBy:
			upd := *have
			upd.Labels = want.Labels
			upd.Capacity, upd.StorageClassName, upd.NodeTopology = want.Capacity, want.StorageClassName, want.NodeTopology
			if _, err := c.client.Update(ctx, &upd); err != nil && !client.IsNotFound(err) {
				return fmt.Errorf("update capacity of %s on %s: %w", class.Name, node.Name, err)
			}
		}
	}
	return nil
}

// collect deletes the published capacities whose node, class or measurement is gone.
func (c *Controller) collect(ctx context.Context) error {
	classes := map[string]bool{}
	for _, cl := range c.localClasses() {
		classes[cl.Name] = true
	}
	for _, cap := range c.capacities.Indexer().List() {
		if cap.Namespace != Namespace || cap.Labels[ManagedByLabel] != managedBy {
			continue
		}
		nodeName := nodeOf(cap)
		node, ok := c.nodes.Indexer().Get(nodeName)
		if ok {
			_, ok = roomOf(node)
		}
		if ok && classes[cap.StorageClassName] && cap.Name == objectName(nodeName, cap.StorageClassName) {
			continue
		}
		if err := c.client.Delete(ctx, Namespace, cap.Name, nil); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("delete capacity %s: %w", cap.Name, err)
		}
	}
	return nil
}

// localClasses are the classes of the local provisioner.
func (c *Controller) localClasses() []*storage.StorageClass {
	var out []*storage.StorageClass
	for _, cl := range c.classes.Indexer().List() {
		if cl.Provisioner == storage.LocalProvisioner {
			out = append(out, cl)
		}
	}
	return out
}

// roomOf is the free space the node reported for local volumes.
func roomOf(n *core.Node) (resource.Quantity, bool) {
	v, ok := n.Annotations[storage.LocalVolumeCapacityAnnotation]
	if !ok || n.Annotations[storage.LocalVolumeDirAnnotation] == "" {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(v)
	if err != nil || q.Sign() < 0 {
		return resource.Quantity{}, false
	}
	// Bytes, written in binary units (10Gi, not 10737418240), as external-provisioner does.
	return *resource.NewQuantity(q.Value(), resource.BinarySI), true
}

// nodeOf is the node a capacity's topology selects.
func nodeOf(cap *storage.CSIStorageCapacity) string {
	if cap.NodeTopology == nil {
		return ""
	}
	return cap.NodeTopology.MatchLabels[core.LabelHostname]
}

// desired is the capacity of class on node.
func desired(node, class string, room resource.Quantity) *storage.CSIStorageCapacity {
	return &storage.CSIStorageCapacity{
		TypeMeta: meta.TypeMeta{Kind: "CSIStorageCapacity", APIVersion: storage.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: objectName(node, class), Namespace: Namespace,
			Labels: map[string]string{ManagedByLabel: managedBy}},
		NodeTopology:     &meta.LabelSelector{MatchLabels: map[string]string{core.LabelHostname: node}},
		StorageClassName: class,
		Capacity:         &room,
	}
}

// objectName is skiff-local-<node>-<class>-<hash of both> (the hash tells node "a-b" with
// class "c" from node "a" with class "b-c"), or only the hash where that is too long.
func objectName(node, class string) string {
	sum := sha256.Sum256([]byte(node + "/" + class))
	h := hex.EncodeToString(sum[:])
	if name := "skiff-local-" + node + "-" + class + "-" + h[:8]; len(name) <= 253 {
		return name
	}
	return "skiff-local-" + h[:24]
}
