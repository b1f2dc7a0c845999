// Package deployment is the Deployment controller: it rolls a Deployment's pod template
// out through ReplicaSets, as Kubernetes' does. Each template gets a ReplicaSet named
// <deployment>-<pod-template-hash>; a rolling update scales the new one up and the old ones
// down within maxSurge and maxUnavailable (Kubernetes' rounding: surge up, unavailable down),
// Recreate scales the old ones to zero first. Revisions are recorded in annotations
// (kubectl rollout history / undo read them), old ReplicaSets beyond revisionHistoryLimit
// are deleted, a paused Deployment only scales, and progress is reported in the Available
// and Progressing conditions, Progressing=False with ProgressDeadlineExceeded when a rollout
// stalls for progressDeadlineSeconds.
package deployment

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
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
const Name = "deployment"

// Controller rolls Deployments out.
type Controller struct {
	c        *client.Client
	dClient  *client.Typed[apps.Deployment, *apps.Deployment]
	rsClient *client.Typed[apps.ReplicaSet, *apps.ReplicaSet]
	deps     *informer.Informer[apps.Deployment, *apps.Deployment]
	sets     *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet]
	pods     *informer.Informer[core.Pod, *core.Pod]
	queue    *controller.Queue
	recorder controller.EventRecorder
	workers  int
	log      *slog.Logger
	now      func() time.Time

	// written tracks the ReplicaSet writes whose watch events the cache may not have
	// delivered yet: a rollout step decided on a cache that lags one ReplicaSet while writing
	// another could break maxSurge (each write is conditional, but only on its own object).
	written *controller.WriteTracker
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		c:        cc.Client,
		dClient:  client.For[apps.Deployment](cc.Client, controller.Deployments),
		rsClient: client.For[apps.ReplicaSet](cc.Client, controller.ReplicaSets),
		deps:     controller.DeploymentInformer(cc),
		sets:     controller.ReplicaSetInformer(cc),
		pods:     controller.PodInformer(cc),
		queue:    controller.NewQueue(cc, Name),
		recorder: cc.Recorder("deployment-controller"),
		workers:  cc.WorkerCount(),
		log:      cc.Logger(Name),
		now:      time.Now,
		written:  controller.NewWriteTracker(),
	}
	controller.IndexByController(c.sets)
	controller.IndexByController(c.pods)
	c.deps.AddEventHandler(informer.Handler[*apps.Deployment]{
		AddFunc:    func(d *apps.Deployment) { c.queue.Enqueue(d) },
		UpdateFunc: func(_, d *apps.Deployment) { c.queue.Enqueue(d) },
		DeleteFunc: func(d *apps.Deployment) {
			c.written.Forget(informer.Key(d))
			c.queue.Enqueue(d)
		},
	})
	c.sets.AddEventHandler(informer.Handler[*apps.ReplicaSet]{
		AddFunc: func(rs *apps.ReplicaSet) { c.enqueueFor(rs, nil) },
		UpdateFunc: func(old, rs *apps.ReplicaSet) {
			if old.ResourceVersion != rs.ResourceVersion {
				c.enqueueFor(rs, old)
			}
		},
		DeleteFunc: func(rs *apps.ReplicaSet) { c.enqueueFor(rs, nil) },
	})
	// Recreate waits for the old pods to be gone: their deletions are its cue.
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		DeleteFunc: func(p *core.Pod) {
			rs := c.ownerRS(&p.ObjectMeta)
			if rs == nil {
				return
			}
			if d := c.ownerDeployment(&rs.ObjectMeta); d != nil && d.Spec.Strategy.Type == apps.RecreateDeploymentStrategyType {
				c.queue.Enqueue(d)
			}
		},
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.deps.HasSynced, c.sets.HasSynced, c.pods.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) ownerRS(m *meta.ObjectMeta) *apps.ReplicaSet {
	return controller.ResolveControllerRef(m, "ReplicaSet", c.sets.Indexer())
}

func (c *Controller) ownerDeployment(m *meta.ObjectMeta) *apps.Deployment {
	return controller.ResolveControllerRef(m, "Deployment", c.deps.Indexer())
}

// enqueueFor queues the Deployment(s) a ReplicaSet change concerns: its controller (old and
// new), or, for an orphan, every Deployment that could adopt it.
func (c *Controller) enqueueFor(rs, old *apps.ReplicaSet) {
	if old != nil {
		if d := c.ownerDeployment(&old.ObjectMeta); d != nil {
			c.queue.Enqueue(d)
		}
	}
	if d := c.ownerDeployment(&rs.ObjectMeta); d != nil {
		c.queue.Enqueue(d)
		return
	}
	if meta.GetControllerOf(&rs.ObjectMeta) != nil {
		return
	}
	for _, d := range c.deps.Indexer().ListNamespace(rs.Namespace) {
		sel, err := labels.SelectorFromLabelSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			c.queue.Enqueue(d)
		}
	}
}

// rollout is one sync of one Deployment: its copy (updated as the sync writes it) and
// copies of its ReplicaSets (updated likewise), never the cached objects.
type rollout struct {
	c    *Controller
	ctx  context.Context
	d    *apps.Deployment
	sets []*apps.ReplicaSet
}

// recordWrite notes a ReplicaSet write of the Deployment key.
func (c *Controller) recordWrite(key string, rs *apps.ReplicaSet) {
	c.written.Wrote(key, rs.Name, rs.ResourceVersion)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cached, ok := c.deps.Indexer().Get(key)
	if !ok {
		return nil
	}
	caughtUp := c.written.CaughtUp(key, func(name string) (string, bool) {
		rs, ok := c.sets.Indexer().GetByName(cached.Namespace, name)
		if !ok {
			return "", false
		}
		return rs.ResourceVersion, true
	})
	if !caughtUp {
		// The ReplicaSet's watch event requeues us; the delay is a safety net.
		c.queue.AddAfter(key, time.Second)
		return nil
	}
	r := &rollout{c: c, ctx: ctx, d: controller.DeepCopy(cached)}
	d := r.d
	if d.Spec.Selector != nil && len(d.Spec.Selector.MatchLabels)+len(d.Spec.Selector.MatchExpressions) == 0 {
		c.recorder.Event(d, core.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			return r.updateStatus()
		}
		return nil
	}
	if err := r.claimReplicaSets(); err != nil {
		return err
	}
	if d.DeletionTimestamp != nil {
		return r.syncStatusOnly()
	}
	if err := r.checkPausedConditions(); err != nil {
		return err
	}
	if d.Spec.Paused {
		return r.syncScale()
	}
	scaling, err := r.isScalingEvent()
	if err != nil {
		return err
	}
	if scaling {
		return r.syncScale()
	}
	if d.Spec.Strategy.Type == apps.RecreateDeploymentStrategyType {
		return r.rolloutRecreate()
	}
	return r.rolloutRolling()
}

// claimReplicaSets adopts and releases ReplicaSets by the Deployment's selector and keeps
// copies of the ones it controls.
func (r *rollout) claimReplicaSets() error {
	sel, err := labels.SelectorFromLabelSelector(r.d.Spec.Selector)
	if err != nil {
		return nil
	}
	refs := &controller.RefManager{
		Client: r.c.c, Resource: controller.ReplicaSets, Owner: r.d,
		OwnerRef: meta.NewControllerRef(r.d, "apps/v1", "Deployment"), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) {
			return r.c.dClient.Get(ctx, r.d.Namespace, r.d.Name)
		},
	}
	claimed, err := controller.Claim(r.ctx, refs, r.c.sets.Indexer().ListNamespace(r.d.Namespace))
	if err != nil {
		return err
	}
	r.sets = make([]*apps.ReplicaSet, len(claimed))
	for i, rs := range claimed {
		r.sets[i] = controller.DeepCopy(rs)
	}
	return nil
}

// updateStatus writes r.d's status and keeps the answer.
func (r *rollout) updateStatus() error {
	out, err := r.c.dClient.UpdateStatus(r.ctx, r.d)
	if err != nil {
		return err
	}
	r.d = out
	return nil
}

// setRevision records the revision on the Deployment itself (kubectl describe shows it),
// with a metadata patch: status writes cannot change annotations. Conditional on the version
// read, so a concurrent spec change is not mixed with this sync.
func (r *rollout) setRevision(rev string) error {
	if r.d.Annotations[RevisionAnnotation] == rev {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": r.d.ResourceVersion,
		"annotations":     map[string]string{RevisionAnnotation: rev},
	}})
	out, err := r.c.dClient.Patch(r.ctx, r.d.Namespace, r.d.Name, client.MergePatchType, body)
	if err != nil {
		return err
	}
	// Keep this sync's status changes; take the new metadata.
	out.Status = r.d.Status
	r.d = out
	return nil
}

// scaleReplicaSet sets rs to size (and its replicas annotations) and records the event.
func (r *rollout) scaleReplicaSet(rs *apps.ReplicaSet, size int32) (bool, error) {
	sizeChanged := rsReplicas(rs) != size
	desired, maxReplicas := replicas(r.d), replicas(r.d)+maxSurge(r.d)
	if !sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, maxReplicas) {
		return false, nil
	}
	from := rsReplicas(rs)
	n := controller.DeepCopy(rs)
	n.Spec.Replicas = &size
	setReplicasAnnotations(n, desired, maxReplicas)
	out, err := r.c.rsClient.Update(r.ctx, n)
	if err != nil {
		return false, fmt.Errorf("scale replica set %s: %w", rs.Name, err)
	}
	r.c.recordWrite(informer.Key(r.d), out)
	*rs = *out
	if sizeChanged {
		op := "up"
		if size < from {
			op = "down"
		}
		r.c.recorder.Eventf(r.d, core.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d", op, rs.Name, from, size)
	}
	return sizeChanged, nil
}

// newAndOld finds the new ReplicaSet (creating it when create is set) and the old ones,
// and brings the revision annotations up to date.
func (r *rollout) newAndOld(create bool) (*apps.ReplicaSet, []*apps.ReplicaSet, error) {
	olds := oldReplicaSets(r.d, r.sets)
	newRS, err := r.newReplicaSet(olds, create)
	if err != nil {
		return nil, nil, err
	}
	return newRS, olds, nil
}

// newReplicaSet is getNewReplicaSet of Kubernetes: the existing new ReplicaSet with its
// annotations and minReadySeconds brought up to date, or (create) a new one.
func (r *rollout) newReplicaSet(olds []*apps.ReplicaSet, create bool) (*apps.ReplicaSet, error) {
	d := r.d
	existing := findNewReplicaSet(d, r.sets)
	newRevision := fmt.Sprint(maxRevision(olds) + 1)
	now := r.c.now()
	if existing != nil {
		n := controller.DeepCopy(existing)
		annotationsChanged := setNewReplicaSetAnnotations(d, n, newRevision, true)
		if annotationsChanged || n.Spec.MinReadySeconds != d.Spec.MinReadySeconds {
			n.Spec.MinReadySeconds = d.Spec.MinReadySeconds
			out, err := r.c.rsClient.Update(r.ctx, n)
			if err != nil {
				return nil, err
			}
			r.c.recordWrite(informer.Key(d), out)
			*existing = *out
			return existing, nil
		}
		if err := r.setRevision(existing.Annotations[RevisionAnnotation]); err != nil {
			return nil, err
		}
		if hasProgressDeadline(d) && getCondition(&r.d.Status, apps.DeploymentProgressing) == nil {
			setCondition(&r.d.Status, newCondition(apps.DeploymentProgressing, core.ConditionTrue, FoundNewRSReason,
				fmt.Sprintf("Found new replica set %q", existing.Name), now))
			if err := r.updateStatus(); err != nil {
				return nil, err
			}
		}
		return existing, nil
	}
	if !create {
		return nil, nil
	}

	template := controller.DeepCopy(&d.Spec.Template)
	hash := controller.ComputeHash(template, d.Status.CollisionCount)
	template.Labels = cloneAndAdd(d.Spec.Template.Labels, apps.DefaultDeploymentUniqueLabelKey, hash)
	selector := controller.DeepCopy(d.Spec.Selector)
	selector.MatchLabels = cloneAndAdd(selector.MatchLabels, apps.DefaultDeploymentUniqueLabelKey, hash)
	rs := &apps.ReplicaSet{
		TypeMeta: meta.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace, Labels: template.Labels,
			OwnerReferences: []meta.OwnerReference{meta.NewControllerRef(d, "apps/v1", "Deployment")},
		},
		Spec: apps.ReplicaSetSpec{
			Replicas: controller.Ptr(int32(0)), MinReadySeconds: d.Spec.MinReadySeconds,
			Selector: selector, Template: *template,
		},
	}
	size := newRSNewReplicas(d, append(append([]*apps.ReplicaSet(nil), olds...), rs), rs)
	rs.Spec.Replicas = &size
	setNewReplicaSetAnnotations(d, rs, newRevision, false)

	created, err := r.c.rsClient.Create(r.ctx, rs)
	alreadyExists := false
	switch {
	case client.IsAlreadyExists(err):
		alreadyExists = true
		cur, ok := r.c.sets.Indexer().GetByName(d.Namespace, rs.Name)
		if !ok {
			return nil, fmt.Errorf("replica set %s exists but is not in the cache yet", rs.Name)
		}
		if meta.IsControlledBy(&cur.ObjectMeta, d) && equalIgnoreHash(&d.Spec.Template, &cur.Spec.Template) {
			// Ours, created by an earlier sync whose result the cache had not shown yet.
			created, err = controller.DeepCopy(cur), nil
			break
		}
		// A different ReplicaSet holds the name: a hash collision. Count it, so the next sync
		// hashes differently.
		r.d.Status.CollisionCount = controller.Ptr(controller.Deref(r.d.Status.CollisionCount, 0) + 1)
		if uerr := r.updateStatus(); uerr != nil {
			return nil, uerr
		}
		return nil, fmt.Errorf("replica set %s exists and is not this deployment's: hash collision, retrying", rs.Name)
	case err != nil:
		msg := fmt.Sprintf("Failed to create new replica set %q: %v", rs.Name, err)
		if hasProgressDeadline(d) {
			setCondition(&r.d.Status, newCondition(apps.DeploymentProgressing, core.ConditionFalse, FailedRSCreateReason, msg, now))
			_ = r.updateStatus()
		}
		r.c.recorder.Event(d, core.EventTypeWarning, FailedRSCreateReason, msg)
		return nil, err
	}
	r.sets = append(r.sets, created)
	r.c.recordWrite(informer.Key(d), created)
	if !alreadyExists && size > 0 {
		r.c.recorder.Eventf(d, core.EventTypeNormal, "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d", created.Name, size)
	}
	if err := r.setRevision(newRevision); err != nil {
		return nil, err
	}
	if !alreadyExists && hasProgressDeadline(d) {
		setCondition(&r.d.Status, newCondition(apps.DeploymentProgressing, core.ConditionTrue, NewReplicaSetReason,
			fmt.Sprintf("Created new replica set %q", created.Name), now))
		if err := r.updateStatus(); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// isScalingEvent: some active ReplicaSet was sized for a different replica count, so only
// the size changed (not the template).
func (r *rollout) isScalingEvent() (bool, error) {
	newRS, olds, err := r.newAndOld(false)
	if err != nil {
		return false, err
	}
	for _, rs := range filterActive(append(olds, newRS)) {
		if desired, ok := desiredReplicasAnnotation(rs); ok && desired != replicas(r.d) {
			return true, nil
		}
	}
	return false, nil
}

func (r *rollout) syncStatusOnly() error {
	newRS, olds, err := r.newAndOld(false)
	if err != nil {
		return err
	}
	return r.syncDeploymentStatus(append(olds, newRS), newRS)
}

// syncScale handles a paused Deployment or a size change: scale proportionally, clean up
// history when paused, report status.
func (r *rollout) syncScale() error {
	newRS, olds, err := r.newAndOld(false)
	if err != nil {
		return err
	}
	if err := r.scale(newRS, olds); err != nil {
		return err
	}
	if r.d.Spec.Paused {
		if err := r.cleanup(olds); err != nil {
			return err
		}
	}
	return r.syncDeploymentStatus(append(olds, newRS), newRS)
}

// scale resizes the ReplicaSets for a new Deployment size. With one active ReplicaSet it
// just takes the new size; in the middle of a rolling update the change is spread over the
// active ReplicaSets in proportion to their sizes (Kubernetes' proportional scaling), so a
// scale during a rollout neither favours nor starves either side.
func (r *rollout) scale(newRS *apps.ReplicaSet, olds []*apps.ReplicaSet) error {
	d := r.d
	if one := findActiveOrLatest(newRS, olds); one != nil {
		if rsReplicas(one) == replicas(d) {
			return nil
		}
		_, err := r.scaleReplicaSet(one, replicas(d))
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range filterActive(olds) {
			if _, err := r.scaleReplicaSet(old, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if !isRollingUpdate(d) {
		return nil
	}
	all := filterActive(append(append([]*apps.ReplicaSet(nil), olds...), newRS))
	allowed := replicas(d)
	if replicas(d) > 0 {
		allowed += maxSurge(d)
	}
	toAdd := allowed - replicaCount(all)
	switch {
	case toAdd > 0:
		bySize(all, true)
	case toAdd < 0:
		bySize(all, false)
	}
	sizes := make([]int32, len(all))
	var added int32
	for i, rs := range all {
		sizes[i] = rsReplicas(rs)
		if toAdd != 0 {
			p := proportion(rs, d, toAdd, added)
			sizes[i] += p
			added += p
		}
	}
	if toAdd != 0 && len(all) > 0 {
		// What rounding left over goes to the largest.
		sizes[0] = max(sizes[0]+toAdd-added, 0)
	}
	for i, rs := range all {
		if _, err := r.scaleReplicaSet(rs, sizes[i]); err != nil {
			return err
		}
	}
	return nil
}

// cleanup deletes the oldest old ReplicaSets beyond revisionHistoryLimit that are fully
// scaled down.
func (r *rollout) cleanup(olds []*apps.ReplicaSet) error {
	if r.d.Spec.RevisionHistoryLimit == nil {
		return nil
	}
	var alive []*apps.ReplicaSet
	for _, rs := range olds {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*r.d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	byRevision(alive)
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		uid := rs.UID
		err := r.c.rsClient.Delete(r.ctx, rs.Namespace, rs.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
		if err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// calculateStatus is the Deployment's status from its ReplicaSets.
func (r *rollout) calculateStatus(all []*apps.ReplicaSet, newRS *apps.ReplicaSet) apps.DeploymentStatus {
	d := r.d
	available := availableReplicaCount(all)
	st := apps.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            actualReplicaCount(all),
		UpdatedReplicas:     actualReplicaCount([]*apps.ReplicaSet{newRS}),
		ReadyReplicas:       readyReplicaCount(all),
		AvailableReplicas:   available,
		UnavailableReplicas: max(replicaCount(all)-available, 0),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          controller.DeepCopy(&d.Status).Conditions,
	}
	now := r.c.now()
	if available >= replicas(d)-maxUnavailable(d) {
		setCondition(&st, newCondition(apps.DeploymentAvailable, core.ConditionTrue, MinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setCondition(&st, newCondition(apps.DeploymentAvailable, core.ConditionFalse, MinimumReplicasUnavailable, "Deployment does not have minimum availability.", now))
	}
	return st
}

func (r *rollout) syncDeploymentStatus(all []*apps.ReplicaSet, newRS *apps.ReplicaSet) error {
	st := r.calculateStatus(all, newRS)
	if controller.SemanticEqual(r.d.Status, st) {
		return nil
	}
	r.d.Status = st
	return r.updateStatus()
}

// checkPausedConditions reports pause and resume in the Progressing condition (Unknown
// while paused, so the progress deadline does not run).
func (r *rollout) checkPausedConditions() error {
	d := r.d
	if !hasProgressDeadline(d) {
		return nil
	}
	cond := getCondition(&d.Status, apps.DeploymentProgressing)
	if cond != nil && cond.Reason == TimedOutReason {
		return nil // a timed-out rollout stays reported as such
	}
	paused := cond != nil && cond.Reason == PausedDeployReason
	now := r.c.now()
	switch {
	case d.Spec.Paused && !paused:
		setCondition(&d.Status, newCondition(apps.DeploymentProgressing, core.ConditionUnknown, PausedDeployReason, "Deployment is paused", now))
	case !d.Spec.Paused && paused:
		setCondition(&d.Status, newCondition(apps.DeploymentProgressing, core.ConditionUnknown, ResumedDeployReason, "Deployment is resumed", now))
	default:
		return nil
	}
	return r.updateStatus()
}
