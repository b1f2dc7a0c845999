// Package replicaset is the ReplicaSet controller: it keeps spec.replicas pods matching a
// ReplicaSet's selector, as Kubernetes' does — creating them from the template in slow-start
// batches, deleting the least valuable first, adopting matching orphans and releasing pods
// whose labels stopped matching, and reporting replicas, fullyLabeledReplicas,
// readyReplicas and availableReplicas in status.
//
// Expectations keep a slow watch from causing extra pods: after asking for N pods the
// controller does nothing more for that ReplicaSet until its informer has seen them (or
// ExpectationsTimeout passed).
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

var kind = struct{ apiVersion, kind string }{"apps/v1", "ReplicaSet"}

// Controller keeps ReplicaSets' pods.
type Controller struct {
	c          *client.Client
	rsClient   *client.Typed[apps.ReplicaSet, *apps.ReplicaSet]
	pods       *informer.Informer[core.Pod, *core.Pod]
	sets       *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet]
	queue      *controller.Queue
	exp        *controller.Expectations
	podControl *controller.PodControl
	workers    int
	log        *slog.Logger
	now        func() time.Time
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	rec := cc.Recorder("replicaset-controller")
	c := &Controller{
		c:          cc.Client,
		rsClient:   client.For[apps.ReplicaSet](cc.Client, controller.ReplicaSets),
		pods:       controller.PodInformer(cc),
		sets:       controller.ReplicaSetInformer(cc),
		queue:      controller.NewQueue(cc, Name),
		exp:        controller.NewExpectations(),
		podControl: controller.NewPodControl(cc.Client, rec),
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
		now:        time.Now,
	}
	controller.IndexByController(c.pods)
	controller.IndexByController(c.sets)
	c.sets.AddEventHandler(informer.Handler[*apps.ReplicaSet]{
		AddFunc:    func(rs *apps.ReplicaSet) { c.queue.Enqueue(rs) },
		UpdateFunc: func(_, rs *apps.ReplicaSet) { c.queue.Enqueue(rs) },
		DeleteFunc: func(rs *apps.ReplicaSet) {
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
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.pods.HasSynced, c.sets.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// owner is the ReplicaSet that controls pod, if it is one of ours.
func (c *Controller) owner(m *meta.ObjectMeta) *apps.ReplicaSet {
	return controller.ResolveControllerRef(m, kind.kind, c.sets.Indexer())
}

// matching are the ReplicaSets whose selector matches an orphan pod (they may adopt it).
func (c *Controller) matching(pod *core.Pod) []*apps.ReplicaSet {
	var out []*apps.ReplicaSet
	for _, rs := range c.sets.Indexer().ListNamespace(pod.Namespace) {
		sel, err := labels.SelectorFromLabelSelector(rs.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pod.Labels)) {
			out = append(out, rs)
		}
	}
	return out
}

func (c *Controller) addPod(pod *core.Pod) {
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

func (c *Controller) updatePod(old, cur *core.Pod) {
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

func (c *Controller) deletePod(pod *core.Pod) {
	rs := c.owner(&pod.ObjectMeta)
	if rs == nil {
		return
	}
	key := informer.Key(rs)
	c.exp.DeletionObserved(key, informer.Key(pod))
	c.queue.Add(key)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	rs, ok := c.sets.Indexer().Get(key)
	if !ok {
		c.exp.Delete(key)
		return nil
	}
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
		OwnerRef: meta.NewControllerRef(rs, kind.apiVersion, kind.kind), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) { return c.rsClient.Get(ctx, rs.Namespace, rs.Name) },
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
	if err := c.updateStatus(ctx, rs, status); err != nil {
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
func (c *Controller) manage(ctx context.Context, rs *apps.ReplicaSet, pods []*core.Pod) (int, error) {
	key := informer.Key(rs)
	diff := len(pods) - int(controller.Deref(rs.Spec.Replicas, 1))
	switch {
	case diff < 0:
		n := min(-diff, BurstReplicas)
		c.exp.ExpectCreations(key, n)
		ref := meta.NewControllerRef(rs, kind.apiVersion, kind.kind)
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
func (c *Controller) podsToDelete(rs *apps.ReplicaSet, pods []*core.Pod, n int) []*core.Pod {
	related := pods
	if ref := meta.GetControllerOf(&rs.ObjectMeta); ref != nil {
		related = nil
		for _, sibling := range controller.Controlled(c.sets.Indexer(), ref.UID) {
			related = append(related, controller.Controlled(c.pods.Indexer(), sibling.UID)...)
		}
	}
	ranked := append([]*core.Pod(nil), pods...)
	controller.RankPodsForDeletion(ranked, related)
	return ranked[:n]
}

func (c *Controller) calculateStatus(rs *apps.ReplicaSet, pods, terminating []*core.Pod, diff int, manageErr error) apps.ReplicaSetStatus {
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

func (c *Controller) updateStatus(ctx context.Context, rs *apps.ReplicaSet, st apps.ReplicaSetStatus) error {
	if controller.SemanticEqual(rs.Status, st) {
		return nil
	}
	n := controller.DeepCopy(rs)
	n.Status = st
	_, err := c.rsClient.UpdateStatus(ctx, n)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("update status: %w", err)
	}
	return nil
}
