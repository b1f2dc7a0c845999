// Package persistentvolume is the PV controller (Kubernetes' persistentvolume-binder): it
// binds PersistentVolumeClaims to PersistentVolumes, provisions volumes for claims of
// classes whose provisioner is skiff's own (skiff.dev/local), keeps both objects' phases,
// and reclaims a volume whose claim is gone by its reclaim policy.
//
// Binding follows Kubernetes' state machine. A claim naming no volume gets the smallest
// Available volume of its class, access modes, volume mode and selector (api/volume); a
// claim or volume naming the other (pre-bound, either way) is completed; a claim of a
// WaitForFirstConsumer class is left Pending until the scheduler annotates it with the node
// it chose for the first pod (volume.kubernetes.io/selected-node). A binding is four writes,
// in an order that survives a crash between any two: the volume's claimRef, the volume's
// phase, the claim's volumeName, the claim's phase. Events say why a claim stays Pending.
//
// When a claim is deleted, its volume becomes Released: Retain leaves it so (an
// administrator reclaims it by hand), Delete deletes the volume object (for skiff.dev/local
// volumes the node that holds the data removes it; see nodeagent/localvolume).
package persistentvolume

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "persistentvolume-binder"

// resync is how often every claim and volume is looked at again, as the binder's
// --pvclaimbinder-sync-period: a Pending claim retries, and its event is recorded again.
const resync = 15 * time.Second

// Controller binds claims and volumes.
type Controller struct {
	claims    *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	volumes   *informer.Informer[core.PersistentVolume, *core.PersistentVolume]
	classes   *informer.Informer[storage.StorageClass, *storage.StorageClass]
	nodes     *informer.Informer[core.Node, *core.Node]
	pvcClient *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	pvClient  *client.Typed[core.PersistentVolume, *core.PersistentVolume]
	// nodeClient confirms a node the cache does not have yet is really gone.
	nodeClient *client.Typed[core.Node, *core.Node]
	queue      *controller.Queue
	recorder   controller.EventRecorder
	workers    int
	log        *slog.Logger
	now        func() time.Time

	// assumed holds volumes and claims as this controller last wrote them, until the
	// informers catch up: a volume just given to one claim is not offered to the next.
	mu             sync.Mutex
	choosing       sync.Mutex        // held while a volume is chosen for a claim and reserved
	reserved       map[string]string // volume name -> key of the claim whose claimRef write is in flight
	assumedVolumes map[string]*core.PersistentVolume
	assumedClaims  map[string]*core.PersistentVolumeClaim
}

// Keys in the queue: claims and volumes share it, told apart by a prefix.
const (
	claimPrefix  = "claim:"
	volumePrefix = "volume:"
)

// Resources of the storage kinds.
var (
	PersistentVolumes = client.Resource{Version: "v1", Resource: "persistentvolumes"}
	StorageClasses    = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "storageclasses"}
)

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		claims:         controller.PVCInformer(cc),
		volumes:        informer.For[core.PersistentVolume](cc.Informers, PersistentVolumes),
		classes:        informer.For[storage.StorageClass](cc.Informers, StorageClasses),
		nodes:          controller.NodeInformer(cc),
		pvcClient:      client.For[core.PersistentVolumeClaim](cc.Client, controller.PersistentVolumeClaims),
		pvClient:       client.For[core.PersistentVolume](cc.Client, PersistentVolumes),
		nodeClient:     client.For[core.Node](cc.Client, controller.Nodes),
		queue:          controller.NewQueue(cc, Name),
		recorder:       cc.Recorder("persistentvolume-controller"),
		workers:        cc.WorkerCount(),
		log:            cc.Logger(Name),
		now:            time.Now,
		assumedVolumes: map[string]*core.PersistentVolume{},
		reserved:       map[string]string{},
		assumedClaims:  map[string]*core.PersistentVolumeClaim{},
	}
	c.claims.AddEventHandler(informer.Handler[*core.PersistentVolumeClaim]{
		AddFunc:    c.enqueueClaim,
		UpdateFunc: func(_, n *core.PersistentVolumeClaim) { c.enqueueClaim(n) },
		DeleteFunc: func(pvc *core.PersistentVolumeClaim) {
			c.forgetClaim(pvc)
			// Its volume is released.
			if pvc.Spec.VolumeName != "" {
				c.queue.Add(volumePrefix + pvc.Spec.VolumeName)
			}
		},
	})
	c.volumes.AddEventHandler(informer.Handler[*core.PersistentVolume]{
		AddFunc:    c.volumeChanged,
		UpdateFunc: func(_, n *core.PersistentVolume) { c.volumeChanged(n) },
		DeleteFunc: func(pv *core.PersistentVolume) {
			c.mu.Lock()
			delete(c.assumedVolumes, pv.Name)
			c.mu.Unlock()
			if ref := pv.Spec.ClaimRef; ref != nil {
				c.queue.Add(claimPrefix + ref.Namespace + "/" + ref.Name)
			}
		},
	})
	// A class appearing may let Pending claims of it proceed; one becoming the default, the
	// claims that name no class (retroactive default class assignment).
	c.classes.AddEventHandler(informer.Handler[*storage.StorageClass]{
		AddFunc: func(*storage.StorageClass) { c.enqueuePendingClaims() },
		UpdateFunc: func(o, n *storage.StorageClass) {
			if !storage.IsDefaultAnnotation(o) && storage.IsDefaultAnnotation(n) {
				c.enqueuePendingClaims()
			}
		},
	})
	return c
}

func (c *Controller) enqueueClaim(pvc *core.PersistentVolumeClaim) {
	c.queue.Add(claimPrefix + informer.Key(pvc))
}

// volumeChanged queues the volume and, when it could satisfy a claim now, the claims
// waiting for one.
func (c *Controller) volumeChanged(pv *core.PersistentVolume) {
	c.queue.Add(volumePrefix + pv.Name)
	if ref := pv.Spec.ClaimRef; ref != nil {
		c.queue.Add(claimPrefix + ref.Namespace + "/" + ref.Name)
		return
	}
	if pv.Status.Phase == core.VolumeAvailable {
		c.enqueuePendingClaims()
	}
}

func (c *Controller) enqueuePendingClaims() {
	for _, pvc := range c.claims.Indexer().List() {
		if pvc.Spec.VolumeName == "" {
			c.enqueueClaim(pvc)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.claims.HasSynced, c.volumes.HasSynced, c.classes.HasSynced, c.nodes.HasSynced) {
		return
	}
	go c.resyncLoop(ctx)
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) resyncLoop(ctx context.Context) {
	t := time.NewTicker(resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, pvc := range c.claims.Indexer().List() {
				if pvc.Status.Phase != core.ClaimBound {
					c.enqueueClaim(pvc)
				}
			}
			for _, pv := range c.volumes.Indexer().List() {
				if pv.Status.Phase != core.VolumeBound && pv.Status.Phase != core.VolumeAvailable {
					c.queue.Add(volumePrefix + pv.Name)
				}
			}
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) error {
	switch {
	case len(key) > len(claimPrefix) && key[:len(claimPrefix)] == claimPrefix:
		return c.syncClaimKey(ctx, key[len(claimPrefix):])
	case len(key) > len(volumePrefix) && key[:len(volumePrefix)] == volumePrefix:
		return c.syncVolumeKey(ctx, key[len(volumePrefix):])
	}
	return nil
}

// newer reports whether resourceVersion a is later than b (both etcd revisions).
func newer(a, b string) bool {
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	return err1 == nil && err2 == nil && x > y
}

// volume is the freshest known state of a volume: the cache, or what this controller wrote
// if the cache has not seen it yet.
func (c *Controller) volume(name string) (*core.PersistentVolume, bool) {
	pv, ok := c.volumes.Indexer().GetByName("", name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, aok := c.assumedVolumes[name]; aok {
		if !ok || newer(a.ResourceVersion, pv.ResourceVersion) {
			return a, true
		}
		delete(c.assumedVolumes, name)
	}
	return pv, ok
}

// allVolumes lists volumes, each in its freshest known state.
func (c *Controller) allVolumes() []*core.PersistentVolume {
	list := c.volumes.Indexer().List()
	out := make([]*core.PersistentVolume, 0, len(list))
	seen := make(map[string]bool, len(list))
	for _, pv := range list {
		fresh, _ := c.volume(pv.Name)
		out = append(out, fresh)
		seen[pv.Name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, pv := range c.assumedVolumes {
		if !seen[name] {
			out = append(out, pv)
		}
	}
	return out
}

func (c *Controller) claim(key string) (*core.PersistentVolumeClaim, bool) {
	pvc, ok := c.claims.Indexer().Get(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, aok := c.assumedClaims[key]; aok {
		if !ok {
			return nil, false // deleted
		}
		if a.UID == pvc.UID && newer(a.ResourceVersion, pvc.ResourceVersion) {
			return a, true
		}
		delete(c.assumedClaims, key)
	}
	return pvc, ok
}

func (c *Controller) assumeVolume(pv *core.PersistentVolume) {
	c.mu.Lock()
	c.assumedVolumes[pv.Name] = pv
	c.mu.Unlock()
}

func (c *Controller) assumeClaim(pvc *core.PersistentVolumeClaim) {
	c.mu.Lock()
	c.assumedClaims[informer.Key(pvc)] = pvc
	c.mu.Unlock()
}

func (c *Controller) forgetClaim(pvc *core.PersistentVolumeClaim) {
	c.mu.Lock()
	delete(c.assumedClaims, informer.Key(pvc))
	c.mu.Unlock()
}

// class returns the named class; ok is false when there is none of that name.
func (c *Controller) class(name string) (*storage.StorageClass, bool) {
	return c.classes.Indexer().GetByName("", name)
}
