// Package podgc is the pod garbage collector, as Kubernetes' podgc controller: it deletes
// the oldest finished pods beyond a threshold, pods bound to nodes that no longer exist
// (after a quarantine and a live check, so a node informer that lags does not cost pods),
// and terminating pods that never reached a node.
package podgc

import (
	"context"
	"log/slog"
	"sort"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "podgc"

// Options tune the collector.
type Options struct {
	// TerminatedPodThreshold is how many finished pods may exist before the oldest are
	// deleted (--terminated-pod-gc-threshold; 0 means the default 12500, negative keeps them all).
	TerminatedPodThreshold int
	// Period between passes (20s).
	Period time.Duration
	// Quarantine is how long a node must be missing before its pods go (40s).
	Quarantine time.Duration
}

// Controller collects pods.
type Controller struct {
	opts   Options
	pods   *informer.Informer[core.Pod, *core.Pod]
	nodes  *informer.Informer[core.Node, *core.Node]
	client *client.Typed[core.Pod, *core.Pod]
	nodesC *client.Typed[core.Node, *core.Node]
	log    *slog.Logger
	now    func() time.Time

	// missingSince is when each node that pods are bound to was first found missing.
	missingSince map[string]time.Time
}

// New makes the collector.
func New(cc *controller.Context, o Options) *Controller {
	if o.TerminatedPodThreshold == 0 {
		o.TerminatedPodThreshold = 12500
	}
	if o.Period == 0 {
		o.Period = 20 * time.Second
	}
	if o.Quarantine == 0 {
		o.Quarantine = 40 * time.Second
	}
	return &Controller{
		opts:         o,
		pods:         controller.PodInformer(cc),
		nodes:        controller.NodeInformer(cc),
		client:       client.For[core.Pod](cc.Client, controller.Pods),
		nodesC:       client.For[core.Node](cc.Client, controller.Nodes),
		log:          cc.Logger(Name),
		now:          time.Now,
		missingSince: map[string]time.Time{},
	}
}

// Run collects until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.pods.HasSynced, c.nodes.HasSynced) {
		return
	}
	t := time.NewTicker(c.opts.Period)
	defer t.Stop()
	for {
		c.gc(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Controller) gc(ctx context.Context) {
	pods := c.pods.Indexer().List()
	c.gcTerminated(ctx, pods)
	c.gcOrphaned(ctx, pods)
	c.gcUnscheduledTerminating(ctx, pods)
}

// gcTerminated deletes the oldest finished pods beyond the threshold.
func (c *Controller) gcTerminated(ctx context.Context, pods []*core.Pod) {
	if c.opts.TerminatedPodThreshold < 0 {
		return
	}
	var done []*core.Pod
	for _, p := range pods {
		// Not those on the way out already: being deleted, or on a node found missing (the
		// orphan collection marks them Failed before deleting them, and counted here a moment
		// later they would make a finished pod that should stay go too).
		if _, orphan := c.missingSince[p.Spec.NodeName]; orphan || p.DeletionTimestamp != nil {
			continue
		}
		if p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed {
			done = append(done, p)
		}
	}
	excess := len(done) - c.opts.TerminatedPodThreshold
	if excess <= 0 {
		return
	}
	controller.ByCreation(done)
	c.log.Info("deleting finished pods beyond the threshold", "count", excess, "threshold", c.opts.TerminatedPodThreshold)
	for _, p := range done[:excess] {
		c.forceDelete(ctx, p, nil)
	}
}

// gcOrphaned deletes the pods bound to nodes that have been gone for the quarantine.
func (c *Controller) gcOrphaned(ctx context.Context, pods []*core.Pod) {
	byNode := map[string][]*core.Pod{}
	for _, p := range pods {
		if p.Spec.NodeName != "" {
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
		}
	}
	now := c.now()
	for name := range c.missingSince {
		if _, ok := byNode[name]; !ok {
			delete(c.missingSince, name) // no pods left there
		}
	}
	names := make([]string, 0, len(byNode))
	for name := range byNode {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := c.nodes.Indexer().Get(name); ok {
			delete(c.missingSince, name)
			continue
		}
		since, seen := c.missingSince[name]
		if !seen {
			c.missingSince[name] = now
			continue
		}
		if now.Sub(since) < c.opts.Quarantine {
			continue
		}
		// The cache says gone for a while; make sure before deleting anything.
		if _, err := c.nodesC.Get(ctx, "", name); !client.IsNotFound(err) {
			continue
		}
		for _, p := range byNode[name] {
			c.log.Info("deleting pod of a node that no longer exists", "pod", informer.Key(p), "node", name)
			c.forceDelete(ctx, p, &core.PodCondition{Type: core.DisruptionTarget, Status: core.ConditionTrue,
				Reason: "DeletionByPodGC", Message: "PodGC: node no longer exists"})
		}
	}
}

// gcUnscheduledTerminating deletes terminating pods no node will ever confirm.
func (c *Controller) gcUnscheduledTerminating(ctx context.Context, pods []*core.Pod) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Spec.NodeName == "" {
			c.forceDelete(ctx, p, nil)
		}
	}
}

// forceDelete marks an unfinished pod Failed (with cond, if given) and deletes it at once
// (grace period 0): nobody is left to run it.
func (c *Controller) forceDelete(ctx context.Context, p *core.Pod, cond *core.PodCondition) {
	if p.Status.Phase != core.PodSucceeded && p.Status.Phase != core.PodFailed {
		n := controller.DeepCopy(p)
		n.Status.Phase = core.PodFailed
		if cond != nil && n.Status.Condition(cond.Type) == nil {
			cond.LastTransitionTime = meta.Now()
			n.Status.Conditions = append(n.Status.Conditions, *cond)
		}
		if _, err := c.client.UpdateStatus(ctx, n); err != nil && !client.IsNotFound(err) {
			c.log.Warn("marking pod failed", "pod", informer.Key(p), "err", err)
		}
	}
	err := c.client.Delete(ctx, p.Namespace, p.Name, &meta.DeleteOptions{
		GracePeriodSeconds: controller.Ptr(int64(0)), Preconditions: &meta.Preconditions{UID: &p.UID}})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		c.log.Warn("deleting pod failed", "pod", informer.Key(p), "err", err)
	}
}
