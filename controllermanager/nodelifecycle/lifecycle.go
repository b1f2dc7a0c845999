// Package nodelifecycle watches the health of nodes and acts on it, as Kubernetes' node
// lifecycle controller, taint-eviction controller and node IPAM do:
//
//   - a node whose agent stops renewing its Lease (kube-node-lease) and posting status for
//     the grace period (40s) gets its Ready (and pressure) conditions set to Unknown, its pods
//     marked not ready, and the node.kubernetes.io/unreachable taints; a node reporting
//     Ready=False gets the not-ready taints; the taints go when it is Ready again;
//   - NoExecute taints evict the pods that do not tolerate them, after the pods'
//     tolerationSeconds; adding NoExecute taints is rate limited (0.1 nodes/s) and stops when
//     every node of a zone is down (that is more likely the control plane's network than all
//     the nodes at once);
//   - IPAM gives every node a /24 pod CIDR from 10.244.0.0/16.
package nodelifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the node lifecycle controller's name in --controllers and in metrics.
const Name = "nodelifecycle"

// Options tune the node lifecycle controller (Kubernetes' flag names and defaults).
type Options struct {
	// MonitorPeriod is how often node health is checked (--node-monitor-period, 5s).
	MonitorPeriod time.Duration
	// GracePeriod without a heartbeat before a node is Unknown (--node-monitor-grace-period, 40s).
	GracePeriod time.Duration
	// StartupGracePeriod for a node that never reported Ready (--node-startup-grace-period, 60s).
	StartupGracePeriod time.Duration
	// EvictionRate is how many nodes a second may get NoExecute taints
	// (--node-eviction-rate, 0.1); SecondaryEvictionRate applies to large clusters in
	// partial disruption (--secondary-node-eviction-rate, 0.01).
	EvictionRate, SecondaryEvictionRate float64
}

func (o *Options) setDefaults() {
	if o.MonitorPeriod == 0 {
		o.MonitorPeriod = 5 * time.Second
	}
	if o.GracePeriod == 0 {
		o.GracePeriod = 40 * time.Second
	}
	if o.StartupGracePeriod == 0 {
		o.StartupGracePeriod = 60 * time.Second
	}
	if o.EvictionRate == 0 {
		o.EvictionRate = 0.1
	}
	if o.SecondaryEvictionRate == 0 {
		o.SecondaryEvictionRate = 0.01
	}
}

const (
	leaseNamespace = "kube-node-lease"
	// largeCluster is the zone size above which a partial disruption slows evictions down
	// instead of stopping them; unhealthyThreshold is the share of not-ready nodes that makes
	// a partial disruption (Kubernetes' --large-cluster-size-threshold and
	// --unhealthy-zone-threshold).
	largeCluster       = 50
	unhealthyThreshold = 0.55
)

// Controller monitors nodes.
type Controller struct {
	opts   Options
	nodes  *informer.Informer[core.Node, *core.Node]
	leases *informer.Informer[coordination.Lease, *coordination.Lease]
	pods   *informer.Informer[core.Pod, *core.Pod]
	client *client.Typed[core.Node, *core.Node]
	podsC  *client.Typed[core.Pod, *core.Pod]
	events controller.EventRecorder
	log    *slog.Logger
	now    func() time.Time

	// health is what this controller observed of each node, on its own clock: a heartbeat
	// counts from when it was seen, so clocks need not agree.
	mu     sync.Mutex
	health map[string]*nodeHealth
	// tokens ration NoExecute tainting (a bucket of one, refilled at the eviction rate).
	tokens     float64
	tokensAt   time.Time
	zoneStates map[string]zoneState

	evictions *evictor
}

type nodeHealth struct {
	probe     time.Time // when a heartbeat was last seen
	renew     time.Time // the Lease's renewTime then
	heartbeat time.Time // the Ready condition's lastHeartbeatTime then
}

type zoneState string

const (
	zoneNormal            zoneState = "Normal"
	zonePartialDisruption zoneState = "PartialDisruption"
	zoneFullDisruption    zoneState = "FullDisruption"
)

// New makes the controller (and its taint-based evictor).
func New(cc *controller.Context, o Options) *Controller {
	o.setDefaults()
	c := &Controller{
		opts:       o,
		nodes:      controller.NodeInformer(cc),
		leases:     controller.LeaseInformer(cc),
		pods:       controller.PodInformer(cc),
		client:     client.For[core.Node](cc.Client, controller.Nodes),
		podsC:      client.For[core.Pod](cc.Client, controller.Pods),
		events:     cc.Recorder("node-controller"),
		log:        cc.Logger(Name),
		now:        time.Now,
		health:     map[string]*nodeHealth{},
		tokens:     1,
		zoneStates: map[string]zoneState{},
	}
	controller.IndexPodsByNode(c.pods)
	c.nodes.AddEventHandler(informer.Handler[*core.Node]{
		DeleteFunc: func(n *core.Node) {
			c.mu.Lock()
			delete(c.health, n.Name)
			c.mu.Unlock()
		},
	})
	c.evictions = newEvictor(cc, c.nodes, c.pods)
	return c
}

// Run monitors until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.nodes.HasSynced, c.leases.HasSynced, c.pods.HasSynced) {
		return
	}
	go c.evictions.run(ctx)
	t := time.NewTicker(c.opts.MonitorPeriod)
	defer t.Stop()
	for {
		c.monitor(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// monitor is one pass over every node.
func (c *Controller) monitor(ctx context.Context) {
	nodes := c.nodes.Indexer().List()
	ready := map[string]core.ConditionStatus{}
	for _, n := range nodes {
		status, err := c.updateHealth(ctx, n)
		if err != nil {
			c.log.Warn("updating node health failed", "node", n.Name, "err", err)
			continue
		}
		ready[n.Name] = status
	}
	c.updateZones(nodes, ready)
	for _, n := range nodes {
		if status, ok := ready[n.Name]; ok && status != "" {
			if err := c.reconcileTaints(ctx, n.Name, status); err != nil && !client.IsConflict(err) {
				c.log.Warn("updating node taints failed", "node", n.Name, "err", err)
			}
		}
	}
}

// updateHealth records the node's heartbeats and, when none came for the grace period,
// sets its conditions to Unknown. It returns the node's Ready status ("" for a new node
// that has not reported yet).
func (c *Controller) updateHealth(ctx context.Context, cached *core.Node) (core.ConditionStatus, error) {
	now := c.now()
	cond := cached.Condition(core.NodeReady)
	grace := c.opts.GracePeriod
	var renew, heartbeat time.Time
	if l, ok := c.leases.Indexer().GetByName(leaseNamespace, cached.Name); ok && l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.Time
	}
	if cond != nil {
		heartbeat = cond.LastHeartbeatTime.Time
	} else {
		grace = c.opts.StartupGracePeriod
	}

	c.mu.Lock()
	h, known := c.health[cached.Name]
	if !known {
		// First sight (or a restart of this controller): the grace period starts now, or, for
		// a node that never reported, at its creation.
		h = &nodeHealth{probe: now, renew: renew, heartbeat: heartbeat}
		if cond == nil {
			h.probe = cached.CreationTimestamp.Time
		}
		c.health[cached.Name] = h
	}
	if renew.After(h.renew) || heartbeat.After(h.heartbeat) {
		h.probe = now
	}
	h.renew, h.heartbeat = maxTime(h.renew, renew), maxTime(h.heartbeat, heartbeat)
	expired := now.After(h.probe.Add(grace))
	c.mu.Unlock()

	status := core.ConditionUnknown
	if cond != nil {
		status = cond.Status
	}
	if !expired {
		if cond == nil {
			// Registered moments ago and not reported yet: no verdict (and no taints) until
			// it reports or its startup grace period runs out.
			return "", nil
		}
		return status, nil
	}
	n := controller.DeepCopy(cached)
	changed := false
	ts := meta.NewTime(now)
	for _, t := range []core.NodeConditionType{core.NodeReady, core.NodeMemoryPressure, core.NodeDiskPressure, core.NodePIDPressure} {
		i := slices.IndexFunc(n.Status.Conditions, func(x core.NodeCondition) bool { return x.Type == t })
		switch {
		case i < 0:
			n.Status.Conditions = append(n.Status.Conditions, core.NodeCondition{Type: t, Status: core.ConditionUnknown,
				Reason: "NodeStatusNeverUpdated", Message: "Kubelet never posted node status.",
				LastHeartbeatTime: n.CreationTimestamp, LastTransitionTime: ts})
			changed = true
		case n.Status.Conditions[i].Status != core.ConditionUnknown:
			x := &n.Status.Conditions[i]
			x.Status, x.Reason, x.Message, x.LastTransitionTime = core.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.", ts
			changed = true
		}
	}
	if !changed {
		return core.ConditionUnknown, nil
	}
	if _, err := c.client.UpdateStatus(ctx, n); err != nil {
		return status, err
	}
	c.log.Info("node stopped reporting: conditions set to Unknown", "node", n.Name)
	c.events.Eventf(n, core.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", n.Name)
	if status == core.ConditionTrue {
		c.markPodsNotReady(ctx, n.Name)
	}
	return core.ConditionUnknown, nil
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// markPodsNotReady sets Ready=False on the pods of a node that stopped reporting: nobody
// can vouch for them, and Services must stop sending them traffic.
func (c *Controller) markPodsNotReady(ctx context.Context, node string) {
	for _, p := range controller.PodsOnNode(c.pods.Indexer(), node) {
		if !p.IsReady() {
			continue
		}
		n := controller.DeepCopy(p)
		cond := n.Status.Condition(core.PodReady)
		cond.Status, cond.LastTransitionTime = core.ConditionFalse, meta.Now()
		if _, err := c.podsC.UpdateStatus(ctx, n); err != nil && !client.IsNotFound(err) {
			c.log.Warn("marking pod not ready failed", "pod", informer.Key(p), "err", err)
		}
	}
}

// updateZones works out each zone's state: full disruption (no node ready), partial
// disruption (many not ready) or normal.
func (c *Controller) updateZones(nodes []*core.Node, ready map[string]core.ConditionStatus) {
	type count struct{ ready, notReady int }
	zones := map[string]*count{}
	for _, n := range nodes {
		z := zoneOf(n)
		if zones[z] == nil {
			zones[z] = &count{}
		}
		if ready[n.Name] == core.ConditionTrue {
			zones[z].ready++
		} else {
			zones[z].notReady++
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for z, n := range zones {
		state := zoneNormal
		switch {
		case n.ready == 0 && n.notReady > 0:
			state = zoneFullDisruption
		case n.notReady > 2 && float64(n.notReady)/float64(n.ready+n.notReady) >= unhealthyThreshold:
			state = zonePartialDisruption
		}
		if old := c.zoneStates[z]; old != state && old != "" {
			c.log.Info("zone state changed", "zone", z, "from", old, "to", state)
		}
		c.zoneStates[z] = state
	}
}

func zoneOf(n *core.Node) string { return n.Labels[core.LabelTopologyZone] }

// takeToken spends one NoExecute tainting of zone's budget, if the rate allows it now.
func (c *Controller) takeToken(zone string, zoneSize int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	rate := c.opts.EvictionRate
	switch c.zoneStates[zone] {
	case zoneFullDisruption:
		return false
	case zonePartialDisruption:
		if zoneSize <= largeCluster {
			return false
		}
		rate = c.opts.SecondaryEvictionRate
	}
	now := c.now()
	if !c.tokensAt.IsZero() {
		c.tokens = min(1, c.tokens+now.Sub(c.tokensAt).Seconds()*rate)
	}
	c.tokensAt = now
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

func (c *Controller) zoneState(zone string) zoneState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.zoneStates[zone]
}

// desiredTaints are the lifecycle taints a node should carry for its Ready status and other
// conditions; noExecute is the one NoExecute taint it should have (nil for none).
func desiredTaints(n *core.Node, ready core.ConditionStatus) (noSchedule []core.Taint, noExecute *core.Taint) {
	switch ready {
	case core.ConditionFalse:
		noSchedule = append(noSchedule, core.Taint{Key: core.TaintNodeNotReady, Effect: core.TaintEffectNoSchedule})
		noExecute = &core.Taint{Key: core.TaintNodeNotReady, Effect: core.TaintEffectNoExecute}
	case core.ConditionUnknown:
		noSchedule = append(noSchedule, core.Taint{Key: core.TaintNodeUnreachable, Effect: core.TaintEffectNoSchedule})
		noExecute = &core.Taint{Key: core.TaintNodeUnreachable, Effect: core.TaintEffectNoExecute}
	}
	for _, cond := range n.Status.Conditions {
		var key string
		switch {
		case cond.Type == core.NodeMemoryPressure && cond.Status == core.ConditionTrue:
			key = core.TaintNodeMemoryPressure
		case cond.Type == core.NodeDiskPressure && cond.Status == core.ConditionTrue:
			key = core.TaintNodeDiskPressure
		case cond.Type == core.NodePIDPressure && cond.Status == core.ConditionTrue:
			key = core.TaintNodePIDPressure
		case cond.Type == core.NodeNetworkUnavailable && cond.Status == core.ConditionTrue:
			key = core.TaintNodeNetworkUnavailable
		}
		if key != "" {
			noSchedule = append(noSchedule, core.Taint{Key: key, Effect: core.TaintEffectNoSchedule})
		}
	}
	if n.Spec.Unschedulable {
		noSchedule = append(noSchedule, core.Taint{Key: core.TaintNodeUnschedulable, Effect: core.TaintEffectNoSchedule})
	}
	return noSchedule, noExecute
}

// lifecycleTaint: a taint this controller owns (added and removed by it).
func lifecycleTaint(t core.Taint) bool {
	switch t.Key {
	case core.TaintNodeNotReady, core.TaintNodeUnreachable:
		return t.Effect == core.TaintEffectNoSchedule || t.Effect == core.TaintEffectNoExecute
	case core.TaintNodeMemoryPressure, core.TaintNodeDiskPressure, core.TaintNodePIDPressure,
		core.TaintNodeNetworkUnavailable, core.TaintNodeUnschedulable:
		return t.Effect == core.TaintEffectNoSchedule
	}
	return false
}

// reconcileTaints brings the node's lifecycle taints in line with its health. NoSchedule
// taints change at once; a NoExecute taint (which evicts pods) is added only as the eviction
// rate and the zone's state allow, and is removed in a full disruption.
func (c *Controller) reconcileTaints(ctx context.Context, name string, ready core.ConditionStatus) error {
	n, ok := c.nodes.Indexer().Get(name)
	if !ok {
		return nil
	}
	noSchedule, noExecute := desiredTaints(n, ready)
	zone := zoneOf(n)
	if c.zoneState(zone) == zoneFullDisruption {
		noExecute = nil
	}
	var keep []core.Taint
	var haveNoExecute *core.Taint
	for _, t := range n.Spec.Taints {
		if !lifecycleTaint(t) {
			keep = append(keep, t)
			continue
		}
		if t.Effect == core.TaintEffectNoExecute && noExecute != nil && t.Key == noExecute.Key {
			haveNoExecute = &t
		}
	}
	want := append([]core.Taint(nil), keep...)
	for _, t := range noSchedule {
		if i := slices.IndexFunc(n.Spec.Taints, func(x core.Taint) bool { return x.MatchTaint(&t) }); i >= 0 {
			t = n.Spec.Taints[i] // keep its timeAdded
		} else {
			t.TimeAdded = controller.Ptr(meta.NewTime(c.now()))
		}
		want = append(want, t)
	}
	switch {
	case haveNoExecute != nil:
		want = append(want, *haveNoExecute)
	case noExecute != nil:
		size := 0
		for _, x := range c.nodes.Indexer().List() {
			if zoneOf(x) == zone {
				size++
			}
		}
		if c.takeToken(zone, size) {
			t := *noExecute
			t.TimeAdded = controller.Ptr(meta.NewTime(c.now()))
			want = append(want, t)
			c.log.Info("tainting node for eviction", "node", name, "taint", t.ToString())
		}
	}
	if sameTaints(n.Spec.Taints, want) {
		return nil
	}
	u := controller.DeepCopy(n)
	u.Spec.Taints = want
	if _, err := c.client.Update(ctx, u); err != nil {
		return fmt.Errorf("update taints: %w", err)
	}
	return nil
}

func sameTaints(a, b []core.Taint) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !slices.ContainsFunc(b, func(x core.Taint) bool { return x.MatchTaint(&t) && x.Value == t.Value }) {
			return false
		}
	}
	return true
}
