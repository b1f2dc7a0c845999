// Package disruption is Kubernetes' disruption controller: for every PodDisruptionBudget it
// counts the pods its selector matches and writes status — expectedPods, desiredHealthy (from
// minAvailable, or from maxUnavailable and the scale of the pods' controllers),
// currentHealthy (ready pods that are neither terminating nor being evicted), and
// disruptionsAllowed = currentHealthy - desiredHealthy — with the DisruptionAllowed
// condition. The API server's pods/eviction spends disruptionsAllowed and records the pod in
// disruptedPods; this controller forgets an entry once the pod is gone or terminating, or when
// it was not deleted within two minutes.
package disruption

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "disruption"

// DeletionTimeout is how long an eviction's entry in disruptedPods keeps the pod from
// counting as healthy: if the pod is not deleted by then, it is counted again.
const DeletionTimeout = 2 * time.Minute

// PodDisruptionBudgets is the resource the controller reads and writes.
var PodDisruptionBudgets = client.Resource{Group: policy.GroupName, Version: policy.Version, Resource: "poddisruptionbudgets", Namespaced: true}

// Controller keeps budgets' status current.
type Controller struct {
	cc     *controller.Context
	pdbs   *informer.Informer[policy.PodDisruptionBudget, *policy.PodDisruptionBudget]
	pods   *informer.Informer[core.Pod, *core.Pod]
	rss    *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet]
	deps   *informer.Informer[apps.Deployment, *apps.Deployment]
	sets   *informer.Informer[apps.StatefulSet, *apps.StatefulSet]
	client *client.Typed[policy.PodDisruptionBudget, *policy.PodDisruptionBudget]
	queue  *controller.Queue
	events controller.EventRecorder
	log    *slog.Logger
	now    func() time.Time

	mu     sync.Mutex
	mapper controller.RESTMapper // for controllers of other kinds, found through discovery
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		cc:     cc,
		pdbs:   informer.For[policy.PodDisruptionBudget](cc.Informers, PodDisruptionBudgets),
		pods:   controller.PodInformer(cc),
		rss:    controller.ReplicaSetInformer(cc),
		deps:   controller.DeploymentInformer(cc),
		sets:   controller.StatefulSetInformer(cc),
		client: client.For[policy.PodDisruptionBudget](cc.Client, PodDisruptionBudgets),
		queue:  controller.NewQueue(cc, Name),
		events: cc.Recorder("controllermanager"),
		log:    cc.Logger(Name),
		now:    time.Now,
	}
	c.pdbs.AddEventHandler(informer.Handler[*policy.PodDisruptionBudget]{
		AddFunc:    func(p *policy.PodDisruptionBudget) { c.queue.Enqueue(p) },
		UpdateFunc: func(_, p *policy.PodDisruptionBudget) { c.queue.Enqueue(p) },
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) { c.enqueueFor(p) },
		UpdateFunc: func(old, p *core.Pod) {
			c.enqueueFor(p)
			if !maps.Equal(old.Labels, p.Labels) {
				c.enqueueFor(old)
			}
		},
		DeleteFunc: func(p *core.Pod) { c.enqueueFor(p) },
	})
	// A controller's scale changes expectedPods of the budgets over its pods.
	c.rss.AddEventHandler(informer.Handler[*apps.ReplicaSet]{UpdateFunc: func(_, r *apps.ReplicaSet) { c.enqueueNamespace(r.Namespace) }})
	c.deps.AddEventHandler(informer.Handler[*apps.Deployment]{UpdateFunc: func(_, d *apps.Deployment) { c.enqueueNamespace(d.Namespace) }})
	c.sets.AddEventHandler(informer.Handler[*apps.StatefulSet]{UpdateFunc: func(_, s *apps.StatefulSet) { c.enqueueNamespace(s.Namespace) }})
	return c
}

// enqueueFor queues the budgets whose selector matches the pod.
func (c *Controller) enqueueFor(p *core.Pod) {
	for _, pdb := range c.pdbs.Indexer().List() {
		if pdb.Namespace != p.Namespace {
			continue
		}
		if sel, err := labels.SelectorFromLabelSelector(pdb.Spec.Selector); err == nil && sel.Matches(labels.Set(p.Labels)) {
			c.queue.Enqueue(pdb)
		}
	}
}

func (c *Controller) enqueueNamespace(ns string) {
	for _, pdb := range c.pdbs.Indexer().List() {
		if pdb.Namespace == ns {
			c.queue.Enqueue(pdb)
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.pdbs.HasSynced, c.pods.HasSynced, c.rss.HasSynced, c.deps.HasSynced, c.sets.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.cc.WorkerCount(), c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	pdb, ok := c.pdbs.Indexer().GetByName(ns, name)
	if !ok {
		return nil
	}
	err := c.trySync(ctx, pdb)
	if err == nil || client.IsConflict(err) {
		return err
	}
	c.log.Warn("syncing disruption budget failed", "pdb", key, "err", err)
	if ferr := c.failSafe(ctx, pdb, err); ferr != nil {
		return ferr
	}
	return err
}

func (c *Controller) trySync(ctx context.Context, pdb *policy.PodDisruptionBudget) error {
	pods, err := c.podsFor(pdb)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		c.events.Event(pdb, core.EventTypeNormal, "NoPods", "No matching pods found")
	}
	expected, desired, unmanaged, err := c.expectedPodCount(ctx, pdb, pods)
	if err != nil {
		c.events.Eventf(pdb, core.EventTypeWarning, "CalculateExpectedPodCountFailed", "Failed to calculate the number of expected pods: %v", err)
		return err
	}
	if len(unmanaged) > 0 {
		c.events.Eventf(pdb, core.EventTypeWarning, "UnmanagedPods", "Pods selected by this PodDisruptionBudget (selector: %v) were found "+
			"to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. "+
			"To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value.", labels.FormatLabelSelector(pdb.Spec.Selector))
	}
	now := c.now()
	disrupted, recheck := c.disruptedPods(pods, pdb, now)
	healthy := countHealthy(pods, disrupted, now)
	if err := c.updateStatus(ctx, pdb, healthy, desired, expected, disrupted); err != nil {
		return err
	}
	if recheck != nil {
		c.queue.AddAfter(informer.Key(pdb), recheck.Sub(now))
	}
	return nil
}

// podsFor are the pods the budget's selector matches (a nil selector matches none).
func (c *Controller) podsFor(pdb *policy.PodDisruptionBudget) ([]*core.Pod, error) {
	sel, err := labels.SelectorFromLabelSelector(pdb.Spec.Selector)
	if err != nil {
		return nil, err
	}
	var out []*core.Pod
	for _, p := range c.pods.Indexer().List() {
		if p.Namespace == pdb.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// expectedPodCount is Kubernetes' getExpectedPodCount: with maxUnavailable, or a percentage
// minAvailable, the denominator is the sum of the scale of the pods' controllers; with an
// integer minAvailable it is the number of pods.
func (c *Controller) expectedPodCount(ctx context.Context, pdb *policy.PodDisruptionBudget, pods []*core.Pod) (expected, desired int32, unmanaged []string, err error) {
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		expected, unmanaged, err = c.expectedScale(ctx, pods)
		if err != nil {
			return
		}
		var maxUnavailable int
		if maxUnavailable, err = intstr.ScaledValue(pdb.Spec.MaxUnavailable, int(expected), true); err != nil {
			return
		}
		desired = max(expected-int32(maxUnavailable), 0)
	case pdb.Spec.MinAvailable != nil && pdb.Spec.MinAvailable.Type == intstr.Int:
		desired = pdb.Spec.MinAvailable.IntVal
		expected = int32(len(pods))
	case pdb.Spec.MinAvailable != nil:
		expected, unmanaged, err = c.expectedScale(ctx, pods)
		if err != nil {
			return
		}
		var minAvailable int
		if minAvailable, err = intstr.ScaledValue(pdb.Spec.MinAvailable, int(expected), true); err != nil {
			return
		}
		desired = int32(minAvailable)
	}
	return
}

// expectedScale sums the scale of the distinct controllers of pods; pods without a
// controller are reported, a controller that cannot be found is an error.
func (c *Controller) expectedScale(ctx context.Context, pods []*core.Pod) (int32, []string, error) {
	scales := map[string]int32{}
	var unmanaged []string
	for _, p := range pods {
		ref := meta.GetControllerOf(&p.ObjectMeta)
		if ref == nil {
			unmanaged = append(unmanaged, p.Name)
			continue
		}
		if _, seen := scales[string(ref.UID)]; seen {
			continue
		}
		uid, scale, err := c.controllerScale(ctx, p.Namespace, ref)
		if err != nil {
			return 0, nil, err
		}
		if uid == "" {
			return 0, nil, fmt.Errorf("found no controllers for pod %q", p.Name)
		}
		scales[string(ref.UID)] = 0
		scales[uid] = scale
	}
	var total int32
	for _, s := range scales {
		total += s
	}
	return total, unmanaged, nil
}

// controllerScale finds the controller a pod's reference names and its desired replicas: a
// ReplicaSet owned by a Deployment counts as the Deployment. It returns "" when the
// controller is gone (or is not the one the reference names).
func (c *Controller) controllerScale(ctx context.Context, ns string, ref *meta.OwnerReference) (string, int32, error) {
	replicas := func(r *int32) int32 {
		if r == nil {
			return 1
		}
		return *r
	}
	switch {
	case ref.APIVersion == "apps/v1" && ref.Kind == "ReplicaSet":
		rs, ok := c.rss.Indexer().GetByName(ns, ref.Name)
		if !ok || rs.UID != ref.UID {
			return "", 0, nil
		}
		if dref := meta.GetControllerOf(&rs.ObjectMeta); dref != nil && dref.Kind == "Deployment" {
			d, ok := c.deps.Indexer().GetByName(ns, dref.Name)
			if !ok || d.UID != dref.UID {
				return "", 0, nil
			}
			return string(d.UID), replicas(d.Spec.Replicas), nil
		}
		return string(rs.UID), replicas(rs.Spec.Replicas), nil
	case ref.APIVersion == "apps/v1" && ref.Kind == "StatefulSet":
		s, ok := c.sets.Indexer().GetByName(ns, ref.Name)
		if !ok || s.UID != ref.UID {
			return "", 0, nil
		}
		return string(s.UID), replicas(s.Spec.Replicas), nil
	case ref.APIVersion == "apps/v1" && ref.Kind == "Deployment":
		d, ok := c.deps.Indexer().GetByName(ns, ref.Name)
		if !ok || d.UID != ref.UID {
			return "", 0, nil
		}
		return string(d.UID), replicas(d.Spec.Replicas), nil
	}
	// Any other kind with a scale subresource (a custom resource's).
	res, ok, err := c.resourceFor(ctx, ref.APIVersion, ref.Kind)
	if err != nil || !ok {
		return "", 0, err
	}
	var scale autoscaling.Scale
	if err := c.cc.Client.Do(ctx, http.MethodGet, res.Path(ns, ref.Name, "scale"), nil, &scale); err != nil {
		if client.IsNotFound(err) {
			return "", 0, nil
		}
		return "", 0, fmt.Errorf("reading the scale of %s %s: %w", ref.Kind, ref.Name, err)
	}
	if scale.UID != ref.UID {
		return "", 0, nil
	}
	return string(scale.UID), scale.Spec.Replicas, nil
}

func (c *Controller) resourceFor(ctx context.Context, apiVersion, kind string) (client.Resource, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.mapper.For(apiVersion, kind); ok {
		return r.Resource, true, nil
	}
	res, err := controller.Discover(ctx, c.cc.Client)
	if err != nil {
		return client.Resource{}, false, err
	}
	c.mapper = controller.NewRESTMapper(res)
	r, ok := c.mapper.For(apiVersion, kind)
	return r.Resource, ok, nil
}

// disruptedPods keeps the entries of status.disruptedPods whose pod still exists, is not
// terminating, and whose eviction is younger than DeletionTimeout; recheck is when the
// earliest of them expires.
func (c *Controller) disruptedPods(pods []*core.Pod, pdb *policy.PodDisruptionBudget, now time.Time) (map[string]meta.Time, *time.Time) {
	out := map[string]meta.Time{}
	var recheck *time.Time
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		t, ok := pdb.Status.DisruptedPods[p.Name]
		if !ok {
			continue
		}
		expires := t.Time.Add(DeletionTimeout)
		if expires.Before(now) {
			c.events.Eventf(p, core.EventTypeWarning, "NotDeleted", "Pod was expected by PDB %s/%s to be deleted but it wasn't", pdb.Namespace, pdb.Name)
			continue
		}
		out[p.Name] = t
		if recheck == nil || expires.Before(*recheck) {
			recheck = &expires
		}
	}
	return out, recheck
}

// countHealthy counts ready pods that are neither terminating nor being evicted.
func countHealthy(pods []*core.Pod, disrupted map[string]meta.Time, now time.Time) int32 {
	var n int32
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if t, ok := disrupted[p.Name]; ok && t.Time.Add(DeletionTimeout).After(now) {
			continue
		}
		if p.IsReady() {
			n++
		}
	}
	return n
}

func (c *Controller) updateStatus(ctx context.Context, pdb *policy.PodDisruptionBudget, healthy, desired, expected int32, disrupted map[string]meta.Time) error {
	allowed := healthy - desired
	if expected <= 0 || allowed <= 0 {
		allowed = 0
	}
	st := policy.PodDisruptionBudgetStatus{
		CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected, DisruptionsAllowed: allowed,
		DisruptedPods: disrupted, ObservedGeneration: pdb.Generation,
		Conditions: append([]meta.Condition(nil), pdb.Status.Conditions...),
	}
	if len(st.DisruptedPods) == 0 {
		st.DisruptedPods = nil
	}
	setAllowedCondition(&st)
	old := pdb.Status
	if len(old.DisruptedPods) == 0 {
		old.DisruptedPods = nil
	}
	if controller.SemanticEqual(old, st) {
		return nil
	}
	n := controller.DeepCopy(pdb)
	n.Status = st
	_, err := c.client.UpdateStatus(ctx, n)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// setAllowedCondition is Kubernetes' UpdateDisruptionAllowedCondition.
func setAllowedCondition(st *policy.PodDisruptionBudgetStatus) {
	if st.DisruptionsAllowed > 0 {
		setCondition(st, "True", policy.SufficientPodsReason, "")
	} else {
		setCondition(st, "False", policy.InsufficientPodsReason, "")
	}
}

func setCondition(st *policy.PodDisruptionBudgetStatus, status, reason, msg string) {
	c := meta.Condition{Type: policy.DisruptionAllowedCondition, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: st.ObservedGeneration, LastTransitionTime: meta.Now()}
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

// failSafe allows no disruption while the budget cannot be computed (SyncFailed).
func (c *Controller) failSafe(ctx context.Context, pdb *policy.PodDisruptionBudget, cause error) error {
	n := controller.DeepCopy(pdb)
	n.Status.DisruptionsAllowed = 0
	setCondition(&n.Status, "False", policy.SyncFailedReason, cause.Error())
	if controller.SemanticEqual(n.Status, pdb.Status) {
		return nil
	}
	_, err := c.client.UpdateStatus(ctx, n)
	if err != nil && !client.IsNotFound(err) {
		return errors.Join(cause, err)
	}
	return nil
}
