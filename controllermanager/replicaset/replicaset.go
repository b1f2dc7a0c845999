// Package replicaset is the ReplicaSet controller: it keeps spec.replicas pods matching a
// ReplicaSet's selector, as Kubernetes' does — creating them from the template in slow-start
// batches, deleting the least valuable first, adopting matching orphans and releasing pods
// whose labels stopped matching, and reporting replicas, fullyLabeledReplicas,
// readyReplicas and availableReplicas in status.
//
// Expectations keep a slow watch from causing extra pods: after asking for N pods the
// controller does nothing more for that ReplicaSet until its informer has seen them (or
// ExpectationsTimeout passed).
//
// The same controller keeps ReplicationControllers (NewReplicationManager), as Kubernetes'
// replication manager is its ReplicaSet controller behind an adapter: a ReplicationController
// is seen as a ReplicaSet (its equality selector as matchLabels) for everything but the
// owner references it sets, the events it records and the status it writes.
package replicaset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "replicaset"

// BurstReplicas bounds the pods created or deleted in one sync.
const BurstReplicas = 500

// Controller keeps the pods of ReplicaSets (PT *apps.ReplicaSet) or of
// ReplicationControllers (PT *core.ReplicationController).
type Controller[T any, PT interface {
	*T
	meta.Object
}] struct {
	c          *client.Client
	kind       adapter[T, PT]
	typed      *client.Typed[T, PT]
	pods       *informer.Informer[core.Pod, *core.Pod]
	sets       *informer.Informer[T, PT]
	queue      *controller.Queue
	exp        *controller.Expectations
	podControl *controller.PodControl
	workers    int
	log        *slog.Logger
	now        func() time.Time
}

// ReplicaSetController is the ReplicaSet controller.
type ReplicaSetController = Controller[apps.ReplicaSet, *apps.ReplicaSet]

// New makes the ReplicaSet controller.
func New(cc *controller.Context) *ReplicaSetController {
	return newController(cc, Name, "replicaset-controller", replicaSets, controller.ReplicaSets, controller.ReplicaSetInformer(cc))
}

func newController[T any, PT interface {
	*T
	meta.Object
}](cc *controller.Context, name, component string, a adapter[T, PT], res client.Resource, sets *informer.Informer[T, PT]) *Controller[T, PT] {
	rec := cc.Recorder(component)
	c := &Controller[T, PT]{
		c:          cc.Client,
		kind:       a,
		typed:      client.For[T, PT](cc.Client, res),
		pods:       controller.PodInformer(cc),
		sets:       sets,
		queue:      controller.NewQueue(cc, name),
		exp:        controller.NewExpectations(),
		podControl: controller.NewPodControl(cc.Client, rec),
		workers:    cc.WorkerCount(),
		log:        cc.Logger(name),
		now:        time.Now,
	}
	controller.IndexByController(c.pods)
	controller.IndexByController(c.sets)
	c.sets.AddEventHandler(informer.Handler[PT]{
		AddFunc:    func(rs PT) { c.queue.Enqueue(rs) },
		UpdateFunc: func(_, rs PT) { c.queue.Enqueue(rs) },
		DeleteFunc: func(rs PT) {
			c.exp.Delete(informer.Key(rs))
			c.queue.Enqueue(rs)
		},
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc:    c.addPod,
		UpdateFunc: c.updatePod,
		DeleteFunc: c.deletePod,
	})
	return c
}

// Run works until ctx ends.
func (c *Controller[T, PT]) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.pods.HasSynced, c.sets.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// owner is the ReplicaSet (view) that controls pod, if it is one of ours.
func (c *Controller[T, PT]) owner(m *meta.ObjectMeta) *apps.ReplicaSet {
	o := controller.ResolveControllerRef(m, c.kind.kind, c.sets.Indexer())
	if o == nil {
		return nil
	}
	return c.kind.view(o)
}

// matching are the ReplicaSets whose selector matches an orphan pod (they may adopt it).
func (c *Controller[T, PT]) matching(pod *core.Pod) []*apps.ReplicaSet {
	var out []*apps.ReplicaSet
	for _, o := range c.sets.Indexer().ListNamespace(pod.Namespace) {
		rs := c.kind.view(o)
		sel, err := labels.SelectorFromLabelSelector(rs.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, rs)
		}
	}
	return out
}

func (c *Controller[T, PT]) addPod(pod *core.Pod) {
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (a restart): count it as deleted.
		c.deletePod(pod)
		return
	}
	if rs := c.owner(&pod.ObjectMeta); rs != nil {
		c.exp.CreationObserved(informer.Key(rs))
		c.queue.Enqueue(rs)
		return
	}
	if meta.GetControllerOf(&pod.ObjectMeta) != nil {
		return
	}
	for _, rs := range c.matching(pod) {
		c.queue.Enqueue(rs)
	}
}

func (c *Controller[T, PT]) updatePod(old, cur *core.Pod) {
	if old.ResourceVersion == cur.ResourceVersion {
		return // a resync: nothing changed
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A graceful deletion starts: the pod stops counting now, not when it is gone.
		c.deletePod(cur)
		return
	}
	oldRef, curRef := meta.GetControllerOf(&old.ObjectMeta), meta.GetControllerOf(&cur.ObjectMeta)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if rs := c.owner(&old.ObjectMeta); rs != nil {
			c.queue.Enqueue(rs)
		}
	}
	if rs := c.owner(&cur.ObjectMeta); rs != nil {
		c.queue.Enqueue(rs)
		// A pod that just became ready becomes available minReadySeconds later: look again then.
		if !old.IsReady() && cur.IsReady() && rs.Spec.MinReadySeconds > 0 {
			c.queue.AddAfter(informer.Key(rs), time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if curRef == nil && (!controller.SemanticEqual(old.Labels, cur.Labels) || oldRef != nil) {
		for _, rs := range c.matching(cur) {
			c.queue.Enqueue(rs)
		}
	}
}

func (c *Controller[T, PT]) deletePod(pod *core.Pod) {
	rs := c.owner(&pod.ObjectMeta)
	if rs == nil {
		return
	}
	key := informer.Key(rs)
	c.exp.DeletionObserved(key, informer.Key(pod))
	c.queue.Add(key)
}

func (c *Controller[T, PT]) sync(ctx context.Context, key string) error {
	o, ok := c.sets.Indexer().Get(key)
	if !ok {
		c.exp.Delete(key)
		return nil
	}
	rs := c.kind.view(o)
	sel, err := labels.SelectorFromLabelSelector(rs.Spec.Selector)
	if err != nil {
		return nil // invalid selectors are refused by validation; nothing to do
	}
	// Read expectations before the pods: a pod seen after this point is never missed.
	satisfied := c.exp.Satisfied(key)

	var active, terminating []*core.Pod
	for _, p := range c.pods.Indexer().ListNamespace(rs.Namespace) {
		if controller.IsPodActive(p) {
			active = append(active, p)
		} else if controller.IsPodTerminating(p) && meta.IsControlledBy(&p.ObjectMeta, rs) {
			terminating = append(terminating, p)
		}
	}
	refs := &controller.RefManager{
		Client: c.c, Resource: controller.Pods, Owner: rs,
		OwnerRef: meta.NewControllerRef(rs, c.kind.apiVersion, c.kind.kind), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) { return c.typed.Get(ctx, rs.Namespace, rs.Name) },
	}
	pods, err := controller.Claim(ctx, refs, active)
	if err != nil {
		return err
	}

	var manageErr error
	diff := 0
	if satisfied && rs.DeletionTimestamp == nil {
		diff, manageErr = c.manage(ctx, rs, pods)
	}
	status := c.calculateStatus(rs, pods, terminating, diff, manageErr)
	if err := c.updateStatus(ctx, o, rs, status); err != nil {
		return errors.Join(manageErr, err)
	}
	if manageErr == nil && rs.Spec.MinReadySeconds > 0 && status.ReadyReplicas == controller.Deref(rs.Spec.Replicas, 1) &&
		status.AvailableReplicas != status.ReadyReplicas {
		c.queue.AddAfter(key, time.Duration(rs.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// manage creates or deletes pods to reach spec.replicas; diff is what it set out to do
// (negative: create).
func (c *Controller[T, PT]) manage(ctx context.Context, rs *apps.ReplicaSet, pods []*core.Pod) (int, error) {
	key := informer.Key(rs)
	diff := len(pods) - int(controller.Deref(rs.Spec.Replicas, 1))
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		c.exp.ExpectCreations(key, n)
		ref := meta.NewControllerRef(rs, c.kind.apiVersion, c.kind.kind)
		var attempted atomic.Int32
		_, err := controller.SlowStartBatch(n, controller.SlowStartInitialBatchSize, func() error {
			attempted.Add(1)
			pod := controller.PodFromTemplate(&rs.Spec.Template, rs.Namespace, controller.GeneratePrefix(rs.Name), &ref)
			if _, err := c.podControl.Create(ctx, pod, rs); err != nil {
				c.exp.CreationObserved(key) // this one will never be seen
				return err
			}
			return nil
		})
		// The creations never attempted will never be seen either.
		for range n - int(attempted.Load()) {
			c.exp.CreationObserved(key)
		}
		if controller.IsNamespaceTerminating(err) {
			return diff, nil // the namespace's deletion takes this ReplicaSet too: nothing to retry
		}
		return diff, err
	case diff > 0:
		n := min(diff, BurstReplicas)
		victims := c.podsToDelete(rs, pods, n)
		keys := make([]string, len(victims))
		for i, p := range victims {
			keys[i] = informer.Key(p)
		}
		c.exp.ExpectDeletions(key, keys)
		var wg sync.WaitGroup
		errs := make([]error, len(victims))
		for i, p := range victims {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := c.podControl.Delete(ctx, p, rs); err != nil {
					c.exp.DeletionObserved(key, keys[i])
					errs[i] = err
				}
			}()
		}
		wg.Wait()
		return diff, errors.Join(errs...)
	}
	return 0, nil
}

// podsToDelete picks the n pods to delete first (see RankPodsForDeletion). Pods of sibling
// ReplicaSets (same Deployment) count when judging how crowded a node is.
func (c *Controller[T, PT]) podsToDelete(rs *apps.ReplicaSet, pods []*core.Pod, n int) []*core.Pod {
	related := pods
	if ref := meta.GetControllerOf(&rs.ObjectMeta); ref != nil {
		related = nil
		for _, sibling := range controller.Controlled(c.sets.Indexer(), ref.UID) {
			related = append(related, controller.Controlled(c.pods.Indexer(), sibling.GetObjectMeta().UID)...)
		}
	}
	ranked := append([]*core.Pod(nil), pods...)
	controller.RankPodsForDeletion(ranked, related)
	return ranked[:n]
}

func (c *Controller[T, PT]) calculateStatus(rs *apps.ReplicaSet, pods, terminating []*core.Pod, diff int, manageErr error) apps.ReplicaSetStatus {
	st := *controller.DeepCopy(&rs.Status)
	templateSel := labels.SelectorFromSet(rs.Spec.Template.Labels)
	now := c.now()
	var fully, ready, available int32
	for _, p := range pods {
		if templateSel.Matches(labels.Set(p.Labels)) {
			fully++
		}
		if p.IsReady() {
			ready++
			if controller.IsPodAvailable(p, rs.Spec.MinReadySeconds, now) {
				available++
			}
		}
	}
	failure := -1
	for i, cond := range st.Conditions {
		if cond.Type == apps.ReplicaSetReplicaFailure {
			failure = i
		}
	}
	switch {
	case manageErr != nil && failure < 0:
		reason := "FailedCreate"
		if diff > 0 {
			reason = "FailedDelete"
		}
		st.Conditions = append(st.Conditions, apps.ReplicaSetCondition{
			Type: apps.ReplicaSetReplicaFailure, Status: core.ConditionTrue, Reason: reason,
			Message: manageErr.Error(), LastTransitionTime: meta.Now(),
		})
	case manageErr == nil && failure >= 0:
		st.Conditions = append(st.Conditions[:failure], st.Conditions[failure+1:]...)
	}
	st.Replicas = int32(len(pods))
	st.FullyLabeledReplicas = fully
	st.ReadyReplicas = ready
	st.AvailableReplicas = available
	st.ObservedGeneration = rs.Generation
	_ = terminating // terminatingReplicas is behind a Kubernetes feature gate that is off by default
	return st
}

func (c *Controller[T, PT]) updateStatus(ctx context.Context, o PT, rs *apps.ReplicaSet, st apps.ReplicaSetStatus) error {
	if controller.SemanticEqual(rs.Status, st) {
		return nil
	}
	_, err := c.typed.UpdateStatus(ctx, c.kind.withStatus(o, st))
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}
