// Package daemonset is the DaemonSet controller, as Kubernetes': one pod per eligible node
// (nodeSelector, required node affinity, taints with the default DaemonSet tolerations),
// placed through the scheduler with a node affinity on metadata.name; pods of nodes that
// no longer qualify go, failed pods are replaced with backoff, and a RollingUpdate replaces
// old pods within maxUnavailable (or surges new ones first within maxSurge). Template
// changes are ControllerRevisions.
package daemonset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "daemonset"

// Failed daemon pods are replaced with a per-node backoff (Kubernetes: 1s doubling to 15m):
// a kubelet that keeps rejecting a pod must not make a hot loop.
const (
	failedBackoffBase = time.Second
	failedBackoffMax  = 15 * time.Minute
)

// Controller runs DaemonSets.
type Controller struct {
	c          *client.Client
	sets       *informer.Informer[apps.DaemonSet, *apps.DaemonSet]
	pods       *informer.Informer[core.Pod, *core.Pod]
	nodes      *informer.Informer[core.Node, *core.Node]
	revisions  *informer.Informer[apps.ControllerRevision, *apps.ControllerRevision]
	dsClient   *client.Typed[apps.DaemonSet, *apps.DaemonSet]
	revClient  *client.Typed[apps.ControllerRevision, *apps.ControllerRevision]
	queue      *controller.Queue
	exp        *controller.Expectations
	podControl *controller.PodControl
	recorder   controller.EventRecorder
	workers    int
	log        *slog.Logger
	now        func() time.Time

	mu sync.Mutex
	// failed is the backoff of failed-pod replacement per "ds key/node".
	failed map[string]failedBackoff
}

type failedBackoff struct {
	delay time.Duration
	last  time.Time
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	rec := cc.Recorder("daemonset-controller")
	c := &Controller{
		c:          cc.Client,
		sets:       controller.DaemonSetInformer(cc),
		pods:       controller.PodInformer(cc),
		nodes:      controller.NodeInformer(cc),
		revisions:  controller.ControllerRevisionInformer(cc),
		dsClient:   client.For[apps.DaemonSet](cc.Client, controller.DaemonSets),
		revClient:  client.For[apps.ControllerRevision](cc.Client, controller.ControllerRevisions),
		queue:      controller.NewQueue(cc, Name),
		exp:        controller.NewExpectations(),
		podControl: controller.NewPodControl(cc.Client, rec),
		recorder:   rec,
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
		now:        time.Now,
		failed:     map[string]failedBackoff{},
	}
	controller.IndexByController(c.pods)
	controller.IndexByController(c.revisions)
	c.sets.AddEventHandler(informer.Handler[*apps.DaemonSet]{
		AddFunc:    func(ds *apps.DaemonSet) { c.queue.Enqueue(ds) },
		UpdateFunc: func(_, ds *apps.DaemonSet) { c.queue.Enqueue(ds) },
		DeleteFunc: func(ds *apps.DaemonSet) { c.exp.Delete(informer.Key(ds)) },
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) {
			if ds := c.owner(p); ds != nil {
				if p.DeletionTimestamp != nil {
					c.exp.DeletionObserved(informer.Key(ds), informer.Key(p))
				} else {
					c.exp.CreationObserved(informer.Key(ds))
				}
				c.queue.Enqueue(ds)
			}
		},
		UpdateFunc: func(old, p *core.Pod) {
			if old.ResourceVersion == p.ResourceVersion {
				return
			}
			ds := c.owner(p)
			if ds == nil {
				return
			}
			if old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
				c.exp.DeletionObserved(informer.Key(ds), informer.Key(p))
			}
			c.queue.Enqueue(ds)
			if ds.Spec.MinReadySeconds > 0 && !old.IsReady() && p.IsReady() {
				c.queue.AddAfter(informer.Key(ds), time.Duration(ds.Spec.MinReadySeconds)*time.Second+time.Second)
			}
		},
		DeleteFunc: func(p *core.Pod) {
			if ds := c.owner(p); ds != nil {
				c.exp.DeletionObserved(informer.Key(ds), informer.Key(p))
				c.queue.Enqueue(ds)
			}
		},
	})
	// Node changes can change where daemons run: every DaemonSet takes a look.
	enqueueAll := func() {
		for _, ds := range c.sets.Indexer().List() {
			c.queue.Enqueue(ds)
		}
	}
	c.nodes.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: func(*core.Node) { enqueueAll() },
		UpdateFunc: func(old, n *core.Node) {
			if !controller.SemanticEqual(old.Labels, n.Labels) || !controller.SemanticEqual(old.Spec.Taints, n.Spec.Taints) {
				enqueueAll()
			}
		},
		DeleteFunc: func(*core.Node) { enqueueAll() },
	})
	return c
}

func (c *Controller) owner(p *core.Pod) *apps.DaemonSet {
	return controller.ResolveControllerRef(&p.ObjectMeta, "DaemonSet", c.sets.Indexer())
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.sets.HasSynced, c.pods.HasSynced, c.nodes.HasSynced, c.revisions.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cached, ok := c.sets.Indexer().Get(key)
	if !ok {
		return nil
	}
	ds := controller.DeepCopy(cached)
	sel, err := labels.SelectorFromLabelSelector(ds.Spec.Selector)
	if err != nil {
		return nil
	}
	ref := meta.NewControllerRef(ds, "apps/v1", "DaemonSet")
	recheck := func(ctx context.Context) (meta.Object, error) { return c.dsClient.Get(ctx, ds.Namespace, ds.Name) }
	pods, err := controller.Claim(ctx, &controller.RefManager{Client: c.c, Resource: controller.Pods, Owner: ds,
		OwnerRef: ref, Selector: sel, Recheck: recheck}, c.pods.Indexer().ListNamespace(ds.Namespace))
	if err != nil {
		return err
	}
	revs, err := controller.Claim(ctx, &controller.RefManager{Client: c.c, Resource: controller.ControllerRevisions, Owner: ds,
		OwnerRef: ref, Selector: sel, Recheck: recheck}, c.revisions.Indexer().ListNamespace(ds.Namespace))
	if err != nil {
		return err
	}
	data, err := controller.TemplatePatch(&ds.Spec.Template)
	if err != nil {
		return err
	}
	h := &controller.History{Client: c.revClient, Owner: ds, OwnerRef: ref, Labels: ds.Spec.Template.Labels, Revisions: revs}
	collisions := controller.Deref(ds.Status.CollisionCount, 0)
	cur, err := h.Update(ctx, data, &collisions)
	if err != nil {
		return err
	}
	hash := cur.Labels[apps.DefaultDaemonSetUniqueLabelKey]

	byNode := c.podsByNode(pods)
	nodes := c.nodes.Indexer().List()
	var manageErr error
	if c.exp.Satisfied(key) && ds.DeletionTimestamp == nil {
		var changed bool
		changed, manageErr = c.manage(ctx, ds, nodes, byNode, hash)
		// A rolling update step is decided only on a view that includes manage's own changes:
		// their watch events queue the next sync.
		if manageErr == nil && !changed && ds.Spec.UpdateStrategy.Type == apps.RollingUpdateDaemonSetStrategyType {
			manageErr = c.rollingUpdate(ctx, ds, nodes, byNode, hash)
		}
	}
	if err := c.truncateHistory(ctx, ds, revs, pods, cur); err != nil && manageErr == nil {
		manageErr = err
	}
	st := c.status(ds, nodes, byNode, hash)
	if collisions > 0 || ds.Status.CollisionCount != nil {
		st.CollisionCount = &collisions
	}
	if !controller.SemanticEqual(st, cached.Status) {
		ds.Status = st
		if _, err := c.dsClient.UpdateStatus(ctx, ds); err != nil && !client.IsNotFound(err) {
			return errors.Join(manageErr, fmt.Errorf("update status: %w", err))
		}
	}
	if manageErr == nil && ds.Spec.MinReadySeconds > 0 && st.NumberAvailable != st.NumberReady {
		c.queue.AddAfter(key, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// podsByNode maps node names to the daemon pods for them (placed or pinned), leaving out
// those already finished and deleted.
func (c *Controller) podsByNode(pods []*core.Pod) map[string][]*core.Pod {
	out := map[string][]*core.Pod{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil && (p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed) {
			continue
		}
		if n := targetNode(p); n != "" {
			out[n] = append(out[n], p)
		}
	}
	for _, list := range out {
		sortPods(list)
	}
	return out
}

// sortPods orders pods oldest first, running before pending at equal age.
func sortPods(pods []*core.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if !a.CreationTimestamp.Equal(b.CreationTimestamp.Time) {
			return a.CreationTimestamp.Before(b.CreationTimestamp.Time)
		}
		return a.Status.Phase == core.PodRunning && b.Status.Phase != core.PodRunning
	})
}

func (c *Controller) updated(p *core.Pod, hash string) bool {
	return p.Labels[apps.DefaultDaemonSetUniqueLabelKey] == hash
}

// manage puts a pod on every node that should run one and removes the others; changed
// reports whether it wrote anything.
func (c *Controller) manage(ctx context.Context, ds *apps.DaemonSet, nodes []*core.Node, byNode map[string][]*core.Pod, hash string) (changed bool, err error) {
	key := informer.Key(ds)
	var create []string
	var remove []*core.Pod
	surge := allowsSurge(ds)
	known := map[string]bool{}
	for _, n := range nodes {
		known[n.Name] = true
		run, stay := shouldRun(ds, n)
		pods, exists := byNode[n.Name]
		switch {
		case run && !exists:
			create = append(create, n.Name)
		case stay:
			var running []*core.Pod
			for _, p := range pods {
				switch {
				case p.DeletionTimestamp != nil:
				case p.Status.Phase == core.PodFailed:
					if wait := c.failedBackoff(key + "/" + n.Name); wait > 0 {
						c.queue.AddAfter(key, wait)
						continue
					}
					c.recorder.Eventf(ds, core.EventTypeWarning, "FailedDaemonPod", "Found failed daemon pod %s/%s on node %s, will try to kill it", p.Namespace, p.Name, n.Name)
					remove = append(remove, p)
				case p.Status.Phase == core.PodSucceeded:
					remove = append(remove, p)
				default:
					running = append(running, p)
				}
			}
			remove = append(remove, c.excess(ds, running, surge, hash)...)
		case exists:
			for _, p := range pods {
				if p.DeletionTimestamp == nil {
					remove = append(remove, p)
				}
			}
		}
	}
	// Pods pinned to nodes that are gone never get scheduled: nobody else removes them.
	for name, pods := range byNode {
		if known[name] {
			continue
		}
		for _, p := range pods {
			if p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				remove = append(remove, p)
			}
		}
	}
	return len(remove)+len(create) > 0, c.syncNodes(ctx, ds, remove, create, hash)
}

// excess are the running pods beyond one per node: without surge all but the oldest; with
// surge, all but the oldest updated and oldest old one, and the old one too once it is not
// ready or the updated one is available.
func (c *Controller) excess(ds *apps.DaemonSet, running []*core.Pod, surge bool, hash string) []*core.Pod {
	if len(running) <= 1 {
		return nil
	}
	if !surge {
		return running[1:]
	}
	var out []*core.Pod
	var newest, oldest *core.Pod
	for _, p := range running {
		switch {
		case c.updated(p, hash) && newest == nil:
			newest = p
		case !c.updated(p, hash) && oldest == nil:
			oldest = p
		default:
			out = append(out, p)
		}
	}
	if newest != nil && oldest != nil && (!oldest.IsReady() || controller.IsPodAvailable(newest, ds.Spec.MinReadySeconds, c.now())) {
		out = append(out, oldest)
	}
	return out
}

func (c *Controller) failedBackoff(k string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	b, ok := c.failed[k]
	if ok && now.Before(b.last.Add(b.delay)) {
		return b.last.Add(b.delay).Sub(now)
	}
	switch {
	case !ok || now.Sub(b.last) > 2*failedBackoffMax:
		b.delay = failedBackoffBase
	default:
		b.delay = min(2*b.delay, failedBackoffMax)
	}
	b.last = now
	c.failed[k] = b
	return 0
}

// newPod is the daemon pod for a node: the template at the current revision, pinned to the
// node, with the default tolerations.
func (c *Controller) newPod(ds *apps.DaemonSet, node, hash string) *core.Pod {
	t := controller.DeepCopy(&ds.Spec.Template)
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[apps.DefaultDaemonSetUniqueLabelKey] = hash
	t.Annotations = maps.Clone(t.Annotations)
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	t.Annotations[apps.DeprecatedTemplateGeneration] = strconv.FormatInt(ds.Generation, 10)
	addTolerations(&t.Spec)
	pinToNode(&t.Spec, node)
	ref := meta.NewControllerRef(ds, "apps/v1", "DaemonSet")
	return controller.PodFromTemplate(t, ds.Namespace, controller.GeneratePrefix(ds.Name), &ref)
}

// syncNodes deletes and creates pods (creations in slow-start batches), with expectations.
func (c *Controller) syncNodes(ctx context.Context, ds *apps.DaemonSet, remove []*core.Pod, create []string, hash string) error {
	key := informer.Key(ds)
	seen := map[string]bool{}
	var del []*core.Pod
	for _, p := range remove {
		if !seen[p.UID] {
			seen[p.UID] = true
			del = append(del, p)
		}
	}
	keys := make([]string, len(del))
	for i, p := range del {
		keys[i] = informer.Key(p)
	}
	c.exp.ExpectDeletions(key, keys)
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range del {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.podControl.Delete(ctx, p, ds); err != nil {
				c.exp.DeletionObserved(key, keys[i])
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(create) > 0 {
		c.exp.ExpectCreations(key, len(create))
		var next, attempted atomic.Int32
		_, err := controller.SlowStartBatch(len(create), controller.SlowStartInitialBatchSize, func() error {
			attempted.Add(1)
			node := create[next.Add(1)-1]
			if _, err := c.podControl.Create(ctx, c.newPod(ds, node, hash), ds); err != nil {
				c.exp.CreationObserved(key)
				return err
			}
			return nil
		})
		for range len(create) - int(attempted.Load()) {
			c.exp.CreationObserved(key)
		}
		if err != nil && !controller.IsNamespaceTerminating(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func allowsSurge(ds *apps.DaemonSet) bool {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	return ds.Spec.UpdateStrategy.Type == apps.RollingUpdateDaemonSetStrategyType && ru != nil && ru.MaxSurge != nil &&
		!(ru.MaxSurge.Type == intstr.Int && ru.MaxSurge.IntVal == 0) && ru.MaxSurge.StrVal != "0%"
}

// budgets are maxSurge and maxUnavailable resolved against the nodes that should run a pod
// (both rounding up; both zero means one unavailable).
func budgets(ds *apps.DaemonSet, desired int) (surge, unavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ru != nil && ru.MaxSurge != nil {
		surge, _ = intstr.ScaledValue(ru.MaxSurge, desired, true)
	}
	if ru != nil && ru.MaxUnavailable != nil {
		unavailable, _ = intstr.ScaledValue(ru.MaxUnavailable, desired, true)
	}
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, unavailable
}

// onNode splits a node's live daemon pods into the updated one and the old one; ok is false
// when there are several of either (manage sorts that out first).
func (c *Controller) onNode(pods []*core.Pod, hash string) (newPod, oldPod *core.Pod, ok bool) {
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if c.updated(p, hash) {
			if newPod != nil {
				return nil, nil, false
			}
			newPod = p
		} else {
			if oldPod != nil {
				return nil, nil, false
			}
			oldPod = p
		}
	}
	return newPod, oldPod, true
}

// rollingUpdate replaces old pods: without surge, deletes old pods (unavailable ones first)
// while fewer than maxUnavailable nodes lack an available pod; with surge, starts new pods
// next to old ones up to maxSurge and deletes each old pod once its replacement is available.
func (c *Controller) rollingUpdate(ctx context.Context, ds *apps.DaemonSet, nodes []*core.Node, byNode map[string][]*core.Pod, hash string) error {
	now := c.now()
	desired := 0
	should := map[string]bool{}
	for _, n := range nodes {
		if run, _ := shouldRun(ds, n); run {
			desired++
			should[n.Name] = true
		}
	}
	maxSurge, maxUnavailable := budgets(ds, desired)
	names := make([]string, 0, len(byNode))
	for name := range byNode {
		names = append(names, name)
	}
	sort.Strings(names)
	available := func(p *core.Pod) bool { return controller.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) }
	if maxSurge == 0 {
		unavailable := 0
		var replace, candidates []*core.Pod
		for _, name := range names {
			newPod, oldPod, ok := c.onNode(byNode[name], hash)
			switch {
			case !ok, newPod == nil && oldPod == nil, newPod != nil && oldPod != nil:
				unavailable++
			case newPod != nil:
				if !available(newPod) {
					unavailable++
				}
			case !available(oldPod):
				replace = append(replace, oldPod) // serves nothing: replacing it costs nothing
			case unavailable < maxUnavailable:
				candidates = append(candidates, oldPod)
			}
		}
		n := min(max(maxUnavailable-unavailable, 0), len(candidates))
		return c.syncNodes(ctx, ds, append(replace, candidates[:n]...), nil, hash)
	}
	var remove []*core.Pod
	var create []string
	surged := 0
	for _, name := range names {
		newPod, oldPod, ok := c.onNode(byNode[name], hash)
		if !ok {
			continue
		}
		if !should[name] {
			if oldPod != nil {
				remove = append(remove, oldPod)
			}
			continue
		}
		switch {
		case oldPod == nil:
		case newPod == nil:
			switch {
			case !available(oldPod):
				create = append(create, name)
			case surged < maxSurge:
				surged++
				create = append(create, name)
			}
		case !available(newPod):
			surged++
		default:
			remove = append(remove, oldPod)
		}
	}
	return c.syncNodes(ctx, ds, remove, create, hash)
}

func (c *Controller) truncateHistory(ctx context.Context, ds *apps.DaemonSet, revs []*apps.ControllerRevision, pods []*core.Pod, cur *apps.ControllerRevision) error {
	live := map[string]bool{cur.Name: true}
	hashes := map[string]bool{}
	for _, p := range pods {
		hashes[p.Labels[apps.DefaultDaemonSetUniqueLabelKey]] = true
	}
	for _, r := range revs {
		if hashes[r.Labels[apps.DefaultDaemonSetUniqueLabelKey]] {
			live[r.Name] = true
		}
	}
	h := &controller.History{Client: c.revClient, Revisions: revs}
	return h.Truncate(ctx, controller.Deref(ds.Spec.RevisionHistoryLimit, 10), live)
}

// status counts nodes: desired, scheduled, misscheduled, ready, available, updated.
func (c *Controller) status(ds *apps.DaemonSet, nodes []*core.Node, byNode map[string][]*core.Pod, hash string) apps.DaemonSetStatus {
	st := apps.DaemonSetStatus{ObservedGeneration: ds.Generation, Conditions: ds.Status.Conditions}
	now := c.now()
	for _, n := range nodes {
		run, _ := shouldRun(ds, n)
		pods := byNode[n.Name]
		if !run {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		p := pods[0]
		if p.IsReady() {
			st.NumberReady++
			if controller.IsPodAvailable(p, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if c.updated(p, hash) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}
