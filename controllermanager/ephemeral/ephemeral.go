// Package ephemeral is Kubernetes' ephemeral-volume controller: for every generic ephemeral
// volume of a pod (volumes[].ephemeral) it creates the claim <pod>-<volume> from the
// volume's template, owned by the pod, so that the claim is provisioned and bound like any
// other and the garbage collector deletes it with the pod. A claim of that name that the pod
// does not own is never taken over: the pod cannot start, and an event says why.
package ephemeral

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "ephemeral-volume"

// Controller creates the claims of generic ephemeral volumes.
type Controller struct {
	pods     *informer.Informer[core.Pod, *core.Pod]
	claims   *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	pvc      *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	queue    *controller.Queue
	recorder controller.EventRecorder
	log      *slog.Logger
	w        int
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		pods:     controller.PodInformer(cc),
		claims:   controller.PVCInformer(cc),
		pvc:      client.For[core.PersistentVolumeClaim](cc.Client, controller.PersistentVolumeClaims),
		queue:    controller.NewQueue(cc, Name),
		recorder: cc.Recorder("ephemeral_volume"),
		log:      cc.Logger(Name),
		w:        cc.WorkerCount(),
	}
	enqueue := func(p *core.Pod) {
		if p.DeletionTimestamp == nil && hasEphemeral(p) {
			c.queue.Enqueue(p)
		}
	}
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc:    enqueue,
		UpdateFunc: func(_, n *core.Pod) { enqueue(n) },
	})
	// A claim deleted under a pod that still needs it is made again.
	c.claims.AddEventHandler(informer.Handler[*core.PersistentVolumeClaim]{
		DeleteFunc: func(pvc *core.PersistentVolumeClaim) {
			if ref := meta.GetControllerOf(&pvc.ObjectMeta); ref != nil && ref.Kind == "Pod" {
				c.queue.Add(pvc.Namespace + "/" + ref.Name)
			}
		},
	})
	return c
}

func hasEphemeral(p *core.Pod) bool {
	for _, v := range p.Spec.Volumes {
		if v.Ephemeral != nil {
			return true
		}
	}
	return false
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.pods.HasSynced, c.claims.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.w, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	pod, ok := c.pods.Indexer().Get(key)
	if !ok || pod.DeletionTimestamp != nil {
		return nil
	}
	for _, v := range pod.Spec.Volumes {
		if v.Ephemeral == nil || v.Ephemeral.VolumeClaimTemplate == nil {
			continue
		}
		name := ClaimName(pod, &v)
		if existing, ok := c.claims.Indexer().GetByName(pod.Namespace, name); ok {
			if !meta.IsControlledBy(&existing.ObjectMeta, pod) {
				c.recorder.Event(pod, core.EventTypeWarning, "FailedBinding",
					fmt.Sprintf("PVC %s/%s was not created for pod %s/%s (pod is not owner)", pod.Namespace, name, pod.Namespace, pod.Name))
			}
			continue
		}
		tmpl := v.Ephemeral.VolumeClaimTemplate
		claim := &core.PersistentVolumeClaim{
			TypeMeta: meta.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Name: name, Namespace: pod.Namespace,
				Labels: tmpl.Labels, Annotations: tmpl.Annotations,
				OwnerReferences: []meta.OwnerReference{meta.NewControllerRef(pod, "v1", "Pod")}},
			Spec: tmpl.Spec,
		}
		if _, err := c.pvc.Create(ctx, claim); err != nil && !client.IsAlreadyExists(err) {
			c.recorder.Event(pod, core.EventTypeWarning, "FailedBinding", fmt.Sprintf("create PVC %s: %v", name, err))
			return err
		}
	}
	return nil
}

// ClaimName is the claim of a pod's generic ephemeral volume: <pod>-<volume>.
func ClaimName(pod *core.Pod, v *core.Volume) string { return pod.Name + "-" + v.Name }
