// Package volumeprotection is Kubernetes' pvc-protection and pv-protection controllers: the
// StorageObjectInUseProtection admission plugin puts kubernetes.io/pvc-protection on every
// claim and kubernetes.io/pv-protection on every volume; once one is deleted, these loops
// remove the finalizer when nothing uses the object any more: a claim once no pod that has
// not finished uses it, a volume once it is not Bound to a claim. Until then a deleted claim
// stays (Terminating) and its pods keep their data.
package volumeprotection

import (
	"context"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Names of the controllers in --controllers and in metrics.
const (
	PVCName = "pvc-protection"
	PVName  = "pv-protection"
)

// The finalizers, as Kubernetes names them.
const (
	PVCFinalizer = "kubernetes.io/pvc-protection"
	PVFinalizer  = "kubernetes.io/pv-protection"
)

var persistentVolumes = client.Resource{Version: "v1", Resource: "persistentvolumes"}

// PVC is the pvc-protection controller.
type PVC struct {
	c      *client.Client
	claims *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	pods   *informer.Informer[core.Pod, *core.Pod]
	podAPI *client.Typed[core.Pod, *core.Pod]
	queue  *controller.Queue
	log    *slog.Logger
	w      int
}

// NewPVC makes the pvc-protection controller.
func NewPVC(cc *controller.Context) *PVC {
	c := &PVC{
		c:      cc.Client,
		claims: controller.PVCInformer(cc),
		pods:   controller.PodInformer(cc),
		podAPI: client.For[core.Pod](cc.Client, controller.Pods),
		queue:  controller.NewQueue(cc, PVCName),
		log:    cc.Logger(PVCName),
		w:      cc.WorkerCount(),
	}
	enqueue := func(pvc *core.PersistentVolumeClaim) {
		if pvc.DeletionTimestamp != nil && controller.HasFinalizer(&pvc.ObjectMeta, PVCFinalizer) {
			c.queue.Enqueue(pvc)
		}
	}
	c.claims.AddEventHandler(informer.Handler[*core.PersistentVolumeClaim]{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n *core.PersistentVolumeClaim) { enqueue(n) },
	})
	// A pod that finished or went away may free the claims it used.
	podChanged := func(p *core.Pod) {
		for _, name := range ClaimsOf(p) {
			c.queue.Add(p.Namespace + "/" + name)
		}
	}
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		UpdateFunc: func(old, n *core.Pod) {
			if !finished(old) && finished(n) {
				podChanged(n)
			}
		},
		DeleteFunc: podChanged,
	})
	return c
}

// Run works until ctx ends.
func (c *PVC) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.claims.HasSynced, c.pods.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.w, c.sync)
}

func (c *PVC) sync(ctx context.Context, key string) error {
	pvc, ok := c.claims.Indexer().Get(key)
	if !ok || pvc.DeletionTimestamp == nil || !controller.HasFinalizer(&pvc.ObjectMeta, PVCFinalizer) {
		return nil
	}
	if c.inUse(pvc, c.pods.Indexer().ListNamespace(pvc.Namespace)) {
		return nil
	}
	// The cache may not have a pod just created: ask the API server before letting go.
	live, err := c.podAPI.List(ctx, pvc.Namespace, client.ListOptions{})
	if err != nil {
		return err
	}
	pods := make([]*core.Pod, len(live.Items))
	for i := range live.Items {
		pods[i] = &live.Items[i]
	}
	if c.inUse(pvc, pods) {
		return nil
	}
	return ignoreGone(controller.PatchMetadata(ctx, c.c, controller.PersistentVolumeClaims, pvc.Namespace, pvc.Name, pvc.ResourceVersion,
		map[string]any{"finalizers": controller.OrNil(controller.Without(pvc.Finalizers, PVCFinalizer))}))
}

func (c *PVC) inUse(pvc *core.PersistentVolumeClaim, pods []*core.Pod) bool {
	for _, p := range pods {
		if finished(p) {
			continue
		}
		for _, name := range ClaimsOf(p) {
			if name == pvc.Name {
				return true
			}
		}
	}
	return false
}

// finished: a pod that succeeded or failed no longer uses its volumes (a pod that is only
// terminating still does).
func finished(p *core.Pod) bool {
	return p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed
}

// ClaimsOf lists the claims a pod's volumes use: persistentVolumeClaim volumes by their
// claimName, generic ephemeral volumes by the claim made for them (<pod>-<volume>).
func ClaimsOf(p *core.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, p.Name+"-"+v.Name)
		}
	}
	return out
}

// PV is the pv-protection controller.
type PV struct {
	c       *client.Client
	volumes *informer.Informer[core.PersistentVolume, *core.PersistentVolume]
	queue   *controller.Queue
	log     *slog.Logger
	w       int
}

// NewPV makes the pv-protection controller.
func NewPV(cc *controller.Context) *PV {
	c := &PV{
		c:       cc.Client,
		volumes: informer.For[core.PersistentVolume](cc.Informers, persistentVolumes),
		queue:   controller.NewQueue(cc, PVName),
		log:     cc.Logger(PVName),
		w:       cc.WorkerCount(),
	}
	enqueue := func(pv *core.PersistentVolume) {
		if pv.DeletionTimestamp != nil && controller.HasFinalizer(&pv.ObjectMeta, PVFinalizer) {
			c.queue.Enqueue(pv)
		}
	}
	c.volumes.AddEventHandler(informer.Handler[*core.PersistentVolume]{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n *core.PersistentVolume) { enqueue(n) },
	})
	return c
}

// Run works until ctx ends.
func (c *PV) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.volumes.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.w, c.sync)
}

func (c *PV) sync(ctx context.Context, key string) error {
	pv, ok := c.volumes.Indexer().Get(key)
	if !ok || pv.DeletionTimestamp == nil || !controller.HasFinalizer(&pv.ObjectMeta, PVFinalizer) {
		return nil
	}
	// A Bound volume is some claim's: it stays until the claim lets go of it.
	if pv.Status.Phase == core.VolumeBound {
		return nil
	}
	return ignoreGone(controller.PatchMetadata(ctx, c.c, persistentVolumes, "", pv.Name, pv.ResourceVersion,
		map[string]any{"finalizers": controller.OrNil(controller.Without(pv.Finalizers, PVFinalizer))}))
}

func ignoreGone(err error) error {
	if client.IsNotFound(err) {
		return nil
	}
	return err
}
