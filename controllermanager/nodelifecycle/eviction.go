package nodelifecycle

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// evictor deletes pods from nodes with NoExecute taints they do not tolerate, or tolerate
// only for a while (tolerationSeconds), as Kubernetes' taint-eviction controller does.
type evictor struct {
	nodes  *informer.Informer[core.Node, *core.Node]
	pods   *informer.Informer[core.Pod, *core.Pod]
	client *client.Typed[core.Pod, *core.Pod]
	queue  *controller.Queue
	events controller.EventRecorder
	log    *slog.Logger
	now    func() time.Time
	clock  *taintClock
}

func newEvictor(cc *controller.Context, nodes *informer.Informer[core.Node, *core.Node], pods *informer.Informer[core.Pod, *core.Pod]) *evictor {
	e := &evictor{
		nodes:  nodes,
		pods:   pods,
		client: client.For[core.Pod](cc.Client, controller.Pods),
		queue:  controller.NewQueue(cc, "taint-eviction"),
		events: cc.Recorder("taint-eviction-controller"),
		log:    cc.Logger("taint-eviction"),
		now:    time.Now,
		clock:  &taintClock{seen: map[string]map[core.Taint]time.Time{}},
	}
	pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) {
			if p.Spec.NodeName != "" {
				e.queue.Enqueue(p)
			}
		},
		UpdateFunc: func(old, p *core.Pod) {
			if p.Spec.NodeName != "" && (old.Spec.NodeName != p.Spec.NodeName || !controller.SemanticEqual(old.Spec.Tolerations, p.Spec.Tolerations)) {
				e.queue.Enqueue(p)
			}
		},
	})
	enqueueNode := func(n *core.Node) {
		for _, p := range controller.PodsOnNode(pods.Indexer(), n.Name) {
			e.queue.Enqueue(p)
		}
	}
	nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: enqueueNode,
		UpdateFunc: func(old, n *core.Node) {
			if !controller.SemanticEqual(noExecuteTaints(old), noExecuteTaints(n)) {
				e.clock.keepOnly(n.Name, noExecuteTaints(n))
				enqueueNode(n)
			}
		},
		DeleteFunc: func(n *core.Node) { e.clock.keepOnly(n.Name, nil) },
	})
	return e
}

func (e *evictor) run(ctx context.Context) { e.queue.Run(ctx, 2, e.sync) }

func noExecuteTaints(n *core.Node) []core.Taint {
	var out []core.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == core.TaintEffectNoExecute {
			out = append(out, t)
		}
	}
	return out
}

// tolerationTime is how long a pod may stay on a node with these NoExecute taints: 0 (evict
// now) if one is not tolerated, -1 (forever) if every toleration used is unbounded, else the
// shortest tolerationSeconds among the tolerations used (Kubernetes' getMinTolerationTime).
func tolerationTime(taints []core.Taint, tolerations []core.Toleration) time.Duration {
	minSeconds := int64(math.MaxInt64)
	for i := range taints {
		tolerated := false
		for j := range tolerations {
			tol := &tolerations[j]
			if !tol.ToleratesTaint(&taints[i]) {
				continue
			}
			tolerated = true
			if tol.TolerationSeconds != nil {
				minSeconds = min(minSeconds, max(*tol.TolerationSeconds, 0))
			}
		}
		if !tolerated {
			return 0
		}
	}
	if minSeconds == math.MaxInt64 {
		return -1
	}
	return time.Duration(minSeconds) * time.Second
}

func (e *evictor) sync(ctx context.Context, key string) error {
	p, ok := e.pods.Indexer().Get(key)
	if !ok || p.Spec.NodeName == "" || p.DeletionTimestamp != nil || p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed {
		return nil
	}
	n, ok := e.nodes.Indexer().Get(p.Spec.NodeName)
	if !ok {
		return nil // the pod garbage collector deals with pods of nodes that are gone
	}
	taints := noExecuteTaints(n)
	if len(taints) == 0 {
		return nil
	}
	wait := tolerationTime(taints, p.Spec.Tolerations)
	if wait < 0 {
		return nil
	}
	// Counted from when the first of the taints was added, so a restart of the controller
	// manager does not restart the clock; a taint without timeAdded (kubectl taint adds none)
	// counts from when this controller first saw it, as Kubernetes' does.
	now := e.now()
	start := now
	for _, t := range taints {
		added := e.clock.firstSeen(n.Name, t, now)
		if t.TimeAdded != nil {
			added = t.TimeAdded.Time
		}
		if added.Before(start) {
			start = added
		}
	}
	if left := start.Add(wait).Sub(e.now()); left > 0 {
		e.queue.AddAfter(key, left)
		return nil
	}
	return e.evict(ctx, p)
}

// evict marks the pod as disrupted (DisruptionTarget) and deletes it.
func (e *evictor) evict(ctx context.Context, p *core.Pod) error {
	n := controller.DeepCopy(p)
	now := meta.Now()
	if c := n.Status.Condition(core.DisruptionTarget); c == nil {
		n.Status.Conditions = append(n.Status.Conditions, core.PodCondition{Type: core.DisruptionTarget, Status: core.ConditionTrue,
			Reason: "DeletionByTaintManager", Message: "Taint manager: deleting due to NoExecute taint", LastTransitionTime: now})
		if _, err := e.client.UpdateStatus(ctx, n); err != nil {
			if client.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
	e.events.Eventf(p, core.EventTypeNormal, "TaintManagerEviction", "Marking for deletion Pod %s", informer.Key(p))
	err := e.client.Delete(ctx, p.Namespace, p.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &p.UID}})
	if client.IsNotFound(err) {
		return nil
	}
	if err == nil {
		e.log.Info("evicted pod from tainted node", "pod", informer.Key(p), "node", p.Spec.NodeName)
	}
	return err
}

// taintClock remembers when each NoExecute taint without timeAdded was first seen on its
// node, so that tolerationSeconds run out from then and not from each later look.
type taintClock struct {
	mu   sync.Mutex
	seen map[string]map[core.Taint]time.Time // node → taint (timeAdded nil) → first seen
}

// firstSeen is when t was first seen on node, now if this is the first time.
func (c *taintClock) firstSeen(node string, t core.Taint, now time.Time) time.Time {
	t.TimeAdded = nil
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.seen[node]
	if m == nil {
		m = map[core.Taint]time.Time{}
		c.seen[node] = m
	}
	if at, ok := m[t]; ok {
		return at
	}
	m[t] = now
	return now
}

// keepOnly forgets the taints node no longer has: one added again later counts anew.
func (c *taintClock) keepOnly(node string, taints []core.Taint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := map[core.Taint]bool{}
	for _, t := range taints {
		t.TimeAdded = nil
		keep[t] = true
	}
	for t := range c.seen[node] {
		if !keep[t] {
			delete(c.seen[node], t)
		}
	}
	if len(c.seen[node]) == 0 {
		delete(c.seen, node)
	}
}
