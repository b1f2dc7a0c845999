// Package statefulset is the StatefulSet controller, as Kubernetes': pods with stable
// identities <set>-<ordinal> (hostname, subdomain from serviceName, the pod-name and
// pod-index labels) and stable storage (a PersistentVolumeClaim per volumeClaimTemplate
// and ordinal, created before the pod). With OrderedReady it creates pods in ordinal order,
// each once the previous is Running and Ready, and removes them in reverse; Parallel does
// both at once. Template changes are ControllerRevisions; a RollingUpdate replaces pods
// from the highest ordinal down to the partition, one at a time, each once the others are
// healthy; OnDelete waits for the user to delete them.
package statefulset

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
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
const Name = "statefulset"

// Controller runs StatefulSets.
type Controller struct {
	c         *client.Client
	sets      *informer.Informer[apps.StatefulSet, *apps.StatefulSet]
	pods      *informer.Informer[core.Pod, *core.Pod]
	claims    *informer.Informer[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	revisions *informer.Informer[apps.ControllerRevision, *apps.ControllerRevision]
	setClient *client.Typed[apps.StatefulSet, *apps.StatefulSet]
	podClient *client.Typed[core.Pod, *core.Pod]
	pvcClient *client.Typed[core.PersistentVolumeClaim, *core.PersistentVolumeClaim]
	revClient *client.Typed[apps.ControllerRevision, *apps.ControllerRevision]
	queue     *controller.Queue
	tracker   *controller.WriteTracker
	recorder  controller.EventRecorder
	workers   int
	log       *slog.Logger
	now       func() time.Time
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		c:         cc.Client,
		sets:      controller.StatefulSetInformer(cc),
		pods:      controller.PodInformer(cc),
		claims:    controller.PVCInformer(cc),
		revisions: controller.ControllerRevisionInformer(cc),
		setClient: client.For[apps.StatefulSet](cc.Client, controller.StatefulSets),
		podClient: client.For[core.Pod](cc.Client, controller.Pods),
		pvcClient: client.For[core.PersistentVolumeClaim](cc.Client, controller.PersistentVolumeClaims),
		revClient: client.For[apps.ControllerRevision](cc.Client, controller.ControllerRevisions),
		queue:     controller.NewQueue(cc, Name),
		tracker:   controller.NewWriteTracker(),
		recorder:  cc.Recorder("statefulset-controller"),
		workers:   cc.WorkerCount(),
		log:       cc.Logger(Name),
		now:       time.Now,
	}
	controller.IndexByController(c.pods)
	controller.IndexByController(c.revisions)
	c.sets.AddEventHandler(informer.Handler[*apps.StatefulSet]{
		AddFunc:    func(s *apps.StatefulSet) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *apps.StatefulSet) { c.queue.Enqueue(s) },
		DeleteFunc: func(s *apps.StatefulSet) { c.tracker.Forget(informer.Key(s)) },
	})
	enqueuePod := func(p *core.Pod) {
		if s := c.owner(p); s != nil {
			c.queue.Enqueue(s)
			return
		}
		if meta.GetControllerOf(&p.ObjectMeta) == nil {
			for _, s := range c.sets.Indexer().ListNamespace(p.Namespace) {
				if parentName(p.Name) == s.Name {
					c.queue.Enqueue(s)
				}
			}
		}
	}
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: enqueuePod,
		UpdateFunc: func(old, p *core.Pod) {
			if old.ResourceVersion == p.ResourceVersion {
				return
			}
			enqueuePod(p)
			// A pod that became ready becomes available minReadySeconds later.
			if s := c.owner(p); s != nil && s.Spec.MinReadySeconds > 0 && !old.IsReady() && p.IsReady() {
				c.queue.AddAfter(informer.Key(s), time.Duration(s.Spec.MinReadySeconds)*time.Second+time.Second)
			}
		},
		DeleteFunc: enqueuePod,
	})
	return c
}

func (c *Controller) owner(p *core.Pod) *apps.StatefulSet {
	return controller.ResolveControllerRef(&p.ObjectMeta, "StatefulSet", c.sets.Indexer())
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.sets.HasSynced, c.pods.HasSynced, c.claims.HasSynced, c.revisions.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// parentName and ordinal split a stateful pod's name <set>-<ordinal>.
func parentName(pod string) string {
	i := strings.LastIndexByte(pod, '-')
	if i < 0 {
		return ""
	}
	if _, err := strconv.Atoi(pod[i+1:]); err != nil {
		return ""
	}
	return pod[:i]
}

func ordinal(pod string) int {
	i := strings.LastIndexByte(pod, '-')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(pod[i+1:])
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func podName(set *apps.StatefulSet, ord int) string { return fmt.Sprintf("%s-%d", set.Name, ord) }

func claimName(set *apps.StatefulSet, tmpl *core.PersistentVolumeClaim, ord int) string {
	return fmt.Sprintf("%s-%s-%d", tmpl.Name, set.Name, ord)
}

func startOrdinal(set *apps.StatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

func revisionOf(p *core.Pod) string { return p.Labels[apps.ControllerRevisionHashLabelKey] }

func isRunningAndReady(p *core.Pod) bool {
	return p.Status.Phase == core.PodRunning && p.IsReady()
}

func isFinished(p *core.Pod) bool {
	return p.Status.Phase == core.PodFailed || p.Status.Phase == core.PodSucceeded
}

// sync is one pass of Kubernetes' stateful_set_control UpdateStatefulSet.
func (c *Controller) sync(ctx context.Context, key string) error {
	cached, ok := c.sets.Indexer().Get(key)
	if !ok {
		return nil
	}
	ns := cached.Namespace
	if !c.tracker.CaughtUp(key, func(name string) (string, bool) {
		p, ok := c.pods.Indexer().GetByName(ns, name)
		if !ok {
			return "", false
		}
		return p.ResourceVersion, true
	}) {
		return nil // the pod's event that catches the cache up queues the set again
	}
	set := controller.DeepCopy(cached)
	sel, err := labels.SelectorFromLabelSelector(set.Spec.Selector)
	if err != nil {
		return nil
	}
	pods, err := c.claimPods(ctx, set, sel)
	if err != nil {
		return err
	}
	revs, err := c.claimRevisions(ctx, set, sel)
	if err != nil {
		return err
	}
	current, update, collisions, err := c.resolveRevisions(ctx, set, revs)
	if err != nil {
		return err
	}
	r := &round{c: c, ctx: ctx, set: set, key: key, current: current, update: update}
	if r.currentTmpl, err = controller.TemplateOf(current); err != nil {
		return err
	}
	if r.updateTmpl, err = controller.TemplateOf(update); err != nil {
		return err
	}
	manageErr := r.step(pods)
	st := r.status(pods)
	st.CollisionCount = collisions
	if err := c.truncateHistory(ctx, set, revs, pods, current, update); err != nil && manageErr == nil {
		manageErr = err
	}
	if !controller.SemanticEqual(st, cached.Status) {
		set.Status = st
		if _, err := c.setClient.UpdateStatus(ctx, set); err != nil && !client.IsNotFound(err) {
			return fmt.Errorf("update status: %w", err)
		}
	}
	if manageErr == nil && set.Spec.MinReadySeconds > 0 && st.AvailableReplicas != st.ReadyReplicas {
		c.queue.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

func (c *Controller) claimPods(ctx context.Context, set *apps.StatefulSet, sel labels.Selector) ([]*core.Pod, error) {
	refs := &controller.RefManager{
		Client: c.c, Resource: controller.Pods, Owner: set,
		OwnerRef: meta.NewControllerRef(set, "apps/v1", "StatefulSet"), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) { return c.setClient.Get(ctx, set.Namespace, set.Name) },
	}
	// Only pods named as this set's members are its pods.
	var candidates []*core.Pod
	for _, p := range c.pods.Indexer().ListNamespace(set.Namespace) {
		if parentName(p.Name) == set.Name {
			candidates = append(candidates, p)
		}
	}
	return controller.Claim(ctx, refs, candidates)
}

func (c *Controller) claimRevisions(ctx context.Context, set *apps.StatefulSet, sel labels.Selector) ([]*apps.ControllerRevision, error) {
	refs := &controller.RefManager{
		Client: c.c, Resource: controller.ControllerRevisions, Owner: set,
		OwnerRef: meta.NewControllerRef(set, "apps/v1", "StatefulSet"), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) { return c.setClient.Get(ctx, set.Namespace, set.Name) },
	}
	return controller.Claim(ctx, refs, c.revisions.Indexer().ListNamespace(set.Namespace))
}

// resolveRevisions finds (or creates) the update revision of the set's template and the current
// revision (status.currentRevision, or the update revision for a new set).
func (c *Controller) resolveRevisions(ctx context.Context, set *apps.StatefulSet, revs []*apps.ControllerRevision) (current, update *apps.ControllerRevision, collisions *int32, err error) {
	data, err := controller.TemplatePatch(&set.Spec.Template)
	if err != nil {
		return nil, nil, nil, err
	}
	h := &controller.History{Client: c.revClient, Owner: set, OwnerRef: meta.NewControllerRef(set, "apps/v1", "StatefulSet"),
		Labels: set.Spec.Template.Labels, Revisions: revs}
	count := controller.Deref(set.Status.CollisionCount, 0)
	update, err = h.Update(ctx, data, &count)
	if err != nil {
		return nil, nil, nil, err
	}
	if count > 0 || set.Status.CollisionCount != nil {
		collisions = &count
	}
	current = update
	for _, r := range revs {
		if r.Name == set.Status.CurrentRevision {
			current = r
		}
	}
	return current, update, collisions, nil
}

func (c *Controller) truncateHistory(ctx context.Context, set *apps.StatefulSet, revs []*apps.ControllerRevision, pods []*core.Pod, current, update *apps.ControllerRevision) error {
	live := map[string]bool{current.Name: true, update.Name: true}
	for _, p := range pods {
		live[revisionOf(p)] = true
	}
	h := &controller.History{Client: c.revClient, Revisions: slices.DeleteFunc(slices.Clone(revs), func(r *apps.ControllerRevision) bool {
		return r.Name == update.Name || r.Name == current.Name
	})}
	return h.Truncate(ctx, controller.Deref(set.Spec.RevisionHistoryLimit, 10), live)
}

// round is one update of one set.
type round struct {
	c                       *Controller
	ctx                     context.Context
	set                     *apps.StatefulSet
	key                     string
	current, update         *apps.ControllerRevision
	currentTmpl, updateTmpl *core.PodTemplateSpec
}

// newPod is the pod of ordinal ord at the revision the strategy wants for it: the current
// revision below the partition (or below the current replicas without one), else the
// update revision.
func (r *round) newPod(ord int) *core.Pod {
	set := r.set
	tmpl, rev := r.updateTmpl, r.update
	if set.Spec.UpdateStrategy.Type == apps.RollingUpdateStatefulSetStrategyType {
		ru := set.Spec.UpdateStrategy.RollingUpdate
		partition := -1
		if ru != nil && ru.Partition != nil {
			partition = int(*ru.Partition)
		}
		if (partition < 0 && ord < int(set.Status.CurrentReplicas)) || (partition >= 0 && ord < partition) {
			tmpl, rev = r.currentTmpl, r.current
		}
	}
	ref := meta.NewControllerRef(set, "apps/v1", "StatefulSet")
	p := controller.PodFromTemplate(tmpl, set.Namespace, "", &ref)
	p.Name = podName(set, ord)
	if p.Labels == nil {
		p.Labels = map[string]string{}
	}
	p.Labels[apps.StatefulSetPodNameLabel] = p.Name
	p.Labels[apps.PodIndexLabel] = strconv.Itoa(ord)
	p.Labels[apps.ControllerRevisionHashLabelKey] = rev.Name
	p.Spec.Hostname = p.Name
	if set.Spec.ServiceName != "" {
		p.Spec.Subdomain = set.Spec.ServiceName
	}
	// Storage: each claim template becomes the pod's own claim, replacing a volume of that name.
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		v := core.Volume{Name: t.Name, VolumeSource: core.VolumeSource{PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: claimName(set, t, ord)}}}
		if j := slices.IndexFunc(p.Spec.Volumes, func(x core.Volume) bool { return x.Name == t.Name }); j >= 0 {
			p.Spec.Volumes[j] = v
		} else {
			p.Spec.Volumes = append(p.Spec.Volumes, v)
		}
	}
	return p
}

// ensureClaims creates the pod's missing claims.
func (r *round) ensureClaims(ord int) error {
	set := r.set
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		name := claimName(set, t, ord)
		if _, ok := r.c.claims.Indexer().GetByName(set.Namespace, name); ok {
			continue
		}
		claim := controller.DeepCopy(t)
		claim.TypeMeta = meta.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"}
		claim.ObjectMeta = meta.ObjectMeta{Namespace: set.Namespace, Name: name, Labels: maps.Clone(t.Labels), Annotations: maps.Clone(t.Annotations)}
		if claim.Labels == nil {
			claim.Labels = map[string]string{}
		}
		if set.Spec.Selector != nil {
			maps.Copy(claim.Labels, set.Spec.Selector.MatchLabels)
		}
		if p := set.Spec.PersistentVolumeClaimRetentionPolicy; p != nil && p.WhenDeleted == apps.DeletePersistentVolumeClaimRetentionPolicyType {
			ref := meta.NewControllerRef(set, "apps/v1", "StatefulSet")
			ref.Controller = nil
			claim.OwnerReferences = []meta.OwnerReference{ref}
		}
		claim.Status = core.PersistentVolumeClaimStatus{}
		_, err := r.c.pvcClient.Create(r.ctx, claim)
		if err != nil && !client.IsAlreadyExists(err) {
			r.c.recorder.Eventf(set, core.EventTypeWarning, "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s failed error: %v", name, podName(set, ord), set.Name, err)
			return err
		}
		if err == nil {
			r.c.recorder.Eventf(set, core.EventTypeNormal, "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s success", name, podName(set, ord), set.Name)
		}
	}
	return nil
}

func (r *round) createPod(ord int) error {
	if err := r.ensureClaims(ord); err != nil {
		return err
	}
	p := r.newPod(ord)
	created, err := r.c.podClient.Create(r.ctx, p)
	if err != nil {
		if client.IsAlreadyExists(err) {
			return err // the cache lags: requeue
		}
		if controller.IsNamespaceTerminating(err) {
			return nil
		}
		if !client.IsForbidden(err) {
			r.c.recorder.Eventf(r.set, core.EventTypeWarning, "FailedCreate", "create Pod %s in StatefulSet %s failed error: %v", p.Name, r.set.Name, err)
		}
		return err
	}
	r.c.tracker.Wrote(r.key, created.Name, created.ResourceVersion)
	r.c.recorder.Eventf(r.set, core.EventTypeNormal, "SuccessfulCreate", "create Pod %s in StatefulSet %s successful", p.Name, r.set.Name)
	return nil
}

func (r *round) deletePod(p *core.Pod) error {
	// Claims of a pod removed by a scale-down go with it if the policy says so.
	if pol := r.set.Spec.PersistentVolumeClaimRetentionPolicy; pol != nil && pol.WhenScaled == apps.DeletePersistentVolumeClaimRetentionPolicyType &&
		ordinal(p.Name) >= startOrdinal(r.set)+int(controller.Deref(r.set.Spec.Replicas, 1)) {
		for i := range r.set.Spec.VolumeClaimTemplates {
			name := claimName(r.set, &r.set.Spec.VolumeClaimTemplates[i], ordinal(p.Name))
			claim, ok := r.c.claims.Indexer().GetByName(p.Namespace, name)
			if !ok || slices.ContainsFunc(claim.OwnerReferences, func(o meta.OwnerReference) bool { return o.UID == p.UID }) {
				continue
			}
			refs := append(slices.Clone(claim.OwnerReferences), meta.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: p.Name, UID: p.UID})
			if err := controller.PatchMetadata(r.ctx, r.c.c, controller.PersistentVolumeClaims, claim.Namespace, claim.Name, claim.ResourceVersion,
				map[string]any{"ownerReferences": refs}); err != nil {
				return err
			}
		}
	}
	err := r.c.podClient.Delete(r.ctx, p.Namespace, p.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &p.UID}})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		r.c.recorder.Eventf(r.set, core.EventTypeWarning, "FailedDelete", "delete Pod %s in StatefulSet %s failed error: %v", p.Name, r.set.Name, err)
		return err
	}
	r.c.tracker.Deleted(r.key, p.Name)
	r.c.recorder.Eventf(r.set, core.EventTypeNormal, "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful", p.Name, r.set.Name)
	return nil
}

// healthy: running, ready and available, and not on its way out.
func (r *round) healthy(p *core.Pod) bool {
	return p.DeletionTimestamp == nil && isRunningAndReady(p) && controller.IsPodAvailable(p, r.set.Spec.MinReadySeconds, r.c.now())
}

// step takes the set one step towards its spec; with OrderedReady it stops at the first
// pod that has to be waited for.
func (r *round) step(pods []*core.Pod) error {
	set := r.set
	if set.DeletionTimestamp != nil {
		return nil
	}
	start, n := startOrdinal(set), int(controller.Deref(set.Spec.Replicas, 1))
	replicas := make([]*core.Pod, n)
	var condemned []*core.Pod
	for _, p := range pods {
		ord := ordinal(p.Name)
		if ord >= start && ord < start+n {
			replicas[ord-start] = p
		} else {
			condemned = append(condemned, p)
		}
	}
	slices.SortFunc(condemned, func(a, b *core.Pod) int { return ordinal(a.Name) - ordinal(b.Name) })
	monotonic := set.Spec.PodManagementPolicy != apps.ParallelPodManagement

	// The first unhealthy pod, in ordinal order: in OrderedReady nothing after it happens.
	var firstUnhealthy *core.Pod
	for _, p := range append(slices.Clone(replicas), condemned...) {
		if p != nil && !r.healthy(p) {
			firstUnhealthy = p
			break
		}
	}
	// Bring up (and repair) the replicas in order.
	for i, p := range replicas {
		ord := start + i
		if p != nil && isFinished(p) {
			// A failed or succeeded pod is replaced with a fresh one of the same identity.
			r.c.recorder.Eventf(set, core.EventTypeWarning, "RecreatingFailedPod", "StatefulSet %s/%s is recreating failed Pod %s", set.Namespace, set.Name, p.Name)
			if err := r.deletePod(p); err != nil {
				return err
			}
			if monotonic {
				return nil
			}
			continue
		}
		if p == nil {
			if err := r.createPod(ord); err != nil {
				return err
			}
			if monotonic {
				return nil
			}
			continue
		}
		if p.DeletionTimestamp != nil {
			if monotonic {
				return nil // wait for it to go before going on
			}
			continue
		}
		if !r.healthy(p) && monotonic {
			return nil
		}
		if err := r.fixIdentity(p); err != nil {
			return err
		}
	}
	// Then remove the condemned, highest ordinal first.
	for i := len(condemned) - 1; i >= 0; i-- {
		p := condemned[i]
		if p.DeletionTimestamp != nil {
			if monotonic {
				return nil
			}
			continue
		}
		if monotonic && !r.healthy(p) && p != firstUnhealthy {
			return nil
		}
		if err := r.deletePod(p); err != nil {
			return err
		}
		if monotonic {
			return nil
		}
	}
	if set.Spec.UpdateStrategy.Type == apps.OnDeleteStatefulSetStrategyType {
		return nil
	}
	// Rolling update: replace the highest-ordinal pod not at the update revision, one at a
	// time, only when every pod above the partition is healthy.
	minOrd := 0
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		minOrd = int(*ru.Partition) - start
	}
	for i := len(replicas) - 1; i >= max(minOrd, 0); i-- {
		p := replicas[i]
		if p == nil {
			return nil
		}
		if revisionOf(p) != r.update.Name && p.DeletionTimestamp == nil {
			return r.deletePod(p)
		}
		if !r.healthy(p) {
			return nil
		}
	}
	return nil
}

// fixIdentity puts back the identity labels of a pod that lost them.
func (r *round) fixIdentity(p *core.Pod) error {
	want := map[string]string{apps.StatefulSetPodNameLabel: p.Name, apps.PodIndexLabel: strconv.Itoa(ordinal(p.Name))}
	ok := true
	for k, v := range want {
		ok = ok && p.Labels[k] == v
	}
	if ok {
		return nil
	}
	l := maps.Clone(p.Labels)
	if l == nil {
		l = map[string]string{}
	}
	maps.Copy(l, want)
	err := controller.PatchMetadata(r.ctx, r.c.c, controller.Pods, p.Namespace, p.Name, p.ResourceVersion, map[string]any{"labels": l})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// status is the set's status from its pods.
func (r *round) status(pods []*core.Pod) apps.StatefulSetStatus {
	set := r.set
	st := apps.StatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    r.current.Name,
		UpdateRevision:     r.update.Name,
		Conditions:         set.Status.Conditions,
	}
	for _, p := range pods {
		st.Replicas++
		if isRunningAndReady(p) {
			st.ReadyReplicas++
			if controller.IsPodAvailable(p, set.Spec.MinReadySeconds, r.c.now()) {
				st.AvailableReplicas++
			}
		}
		if p.DeletionTimestamp == nil {
			if revisionOf(p) == r.current.Name {
				st.CurrentReplicas++
			}
			if revisionOf(p) == r.update.Name {
				st.UpdatedReplicas++
			}
		}
	}
	// A rolling update is done when every pod is updated and ready: the update revision
	// becomes the current one.
	if set.Spec.UpdateStrategy.Type == apps.RollingUpdateStatefulSetStrategyType &&
		st.UpdatedReplicas == st.Replicas && st.ReadyReplicas == st.Replicas {
		st.CurrentReplicas = st.UpdatedReplicas
		st.CurrentRevision = st.UpdateRevision
	}
	return st
}
