// Package job is the Job controller, as Kubernetes' (with pod tracking by finalizers):
//
//   - it runs up to parallelism pods until completions succeed (or, without completions, until
//     one succeeds), creating them in slow-start batches, replacing failed ones after an
//     exponential backoff (10s, 20s, ... 10m), and failing the Job past backoffLimit or
//     activeDeadlineSeconds; Indexed jobs give each pod a completion index;
//   - every pod carries the batch.kubernetes.io/job-tracking finalizer, so that a finished
//     pod is counted exactly once even if it is deleted right away: its uid first goes into
//     status.uncountedTerminatedPods, then its finalizer is removed, then it moves into the
//     succeeded/failed counters;
//   - a Job that met its completions gets SuccessCriteriaMet, then Complete once its pods are
//     accounted for; a failing one FailureTarget, then Failed; suspend deletes the pods;
//     ttlSecondsAfterFinished deletes a finished Job.
package job

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "job"

// Options tune the controller.
type Options struct {
	// PodFailureBackoff is the delay before replacing the first failed pod; it doubles with
	// each further failure up to MaxPodFailureBackoff (Kubernetes: 10s and 10m).
	PodFailureBackoff, MaxPodFailureBackoff time.Duration
}

// maxPodChangesPerSync bounds pod creations and deletions in one sync (Kubernetes' 500).
const maxPodChangesPerSync = 500

// Controller runs Jobs.
type Controller struct {
	opts       Options
	c          *client.Client
	jobs       *informer.Informer[batch.Job, *batch.Job]
	pods       *informer.Informer[core.Pod, *core.Pod]
	jobClient  *client.Typed[batch.Job, *batch.Job]
	podClient  *client.Typed[core.Pod, *core.Pod]
	queue      *controller.Queue
	orphans    *controller.Queue // pods whose tracking finalizer no Job will remove
	exp        *controller.Expectations
	podControl *controller.PodControl
	recorder   controller.EventRecorder
	workers    int
	log        *slog.Logger
	now        func() time.Time

	mu sync.Mutex
	// removed holds, per Job, the uids of pods whose finalizer this controller removed but
	// whose update the cache has not shown yet: counting such a pod again would count it
	// twice.
	removed map[string]map[string]struct{}
	// backoff remembers each Job's failures since its last success.
	backoff map[string]*backoffRecord
}

type backoffRecord struct {
	failures    int
	lastFailure time.Time
}

// New makes the controller.
func New(cc *controller.Context, o Options) *Controller {
	if o.PodFailureBackoff == 0 {
		o.PodFailureBackoff = 10 * time.Second
	}
	if o.MaxPodFailureBackoff == 0 {
		o.MaxPodFailureBackoff = 10 * time.Minute
	}
	rec := cc.Recorder("job-controller")
	c := &Controller{
		opts:       o,
		c:          cc.Client,
		jobs:       controller.JobInformer(cc),
		pods:       controller.PodInformer(cc),
		jobClient:  client.For[batch.Job](cc.Client, controller.Jobs),
		podClient:  client.For[core.Pod](cc.Client, controller.Pods),
		queue:      controller.NewQueue(cc, Name),
		orphans:    controller.NewQueue(cc, "job-orphan-pods"),
		exp:        controller.NewExpectations(),
		podControl: controller.NewPodControl(cc.Client, rec),
		recorder:   rec,
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
		now:        time.Now,
		removed:    map[string]map[string]struct{}{},
		backoff:    map[string]*backoffRecord{},
	}
	controller.IndexByController(c.pods)
	c.jobs.AddEventHandler(informer.Handler[*batch.Job]{
		AddFunc:    func(j *batch.Job) { c.queue.Enqueue(j) },
		UpdateFunc: func(_, j *batch.Job) { c.queue.Enqueue(j) },
		DeleteFunc: func(j *batch.Job) {
			key := informer.Key(j)
			c.exp.Delete(key)
			c.mu.Lock()
			delete(c.removed, key)
			delete(c.backoff, key)
			c.mu.Unlock()
			// Its pods' finalizers are nobody's business but ours: release them.
			for _, p := range controller.Controlled(c.pods.Indexer(), j.UID) {
				c.orphans.Enqueue(p)
			}
		},
	})
	c.pods.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc: func(p *core.Pod) {
			if j := c.owner(p); j != nil {
				if p.DeletionTimestamp == nil {
					c.exp.CreationObserved(informer.Key(j))
				} else {
					c.exp.DeletionObserved(informer.Key(j), informer.Key(p))
				}
				c.queue.Enqueue(j)
			} else if hasFinalizer(p) {
				c.orphans.Enqueue(p)
			}
		},
		UpdateFunc: func(old, p *core.Pod) {
			if old.ResourceVersion == p.ResourceVersion {
				return
			}
			j := c.owner(p)
			if j == nil {
				if hasFinalizer(p) {
					c.orphans.Enqueue(p)
				}
				// An orphan whose labels or owner changed may be adopted by a Job it matches
				// (Kubernetes' updatePod syncs those Jobs).
				if meta.GetControllerOf(&old.ObjectMeta) != nil || !controller.SemanticEqual(old.Labels, p.Labels) {
					for _, m := range c.matching(p) {
						c.queue.Enqueue(m)
					}
				}
				return
			}
			key := informer.Key(j)
			if old.DeletionTimestamp == nil && p.DeletionTimestamp != nil {
				c.exp.DeletionObserved(key, informer.Key(p))
			}
			if !hasFinalizer(p) {
				c.finalizerSeen(key, p.UID)
			}
			c.queue.Enqueue(j)
		},
		DeleteFunc: func(p *core.Pod) {
			if j := c.owner(p); j != nil {
				key := informer.Key(j)
				c.exp.DeletionObserved(key, informer.Key(p))
				c.finalizerSeen(key, p.UID)
				c.queue.Enqueue(j)
			}
		},
	})
	return c
}

func hasFinalizer(p *core.Pod) bool {
	return controller.HasFinalizer(&p.ObjectMeta, batch.JobTrackingFinalizer)
}

func (c *Controller) finalizerSeen(jobKey, uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.removed[jobKey], uid)
}

// matching are the unfinished Jobs whose selector matches an orphan pod (they may adopt it).
func (c *Controller) matching(p *core.Pod) []*batch.Job {
	var out []*batch.Job
	for _, j := range c.jobs.Indexer().ListNamespace(p.Namespace) {
		sel, err := labels.SelectorFromLabelSelector(j.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, j)
		}
	}
	return out
}

func (c *Controller) owner(p *core.Pod) *batch.Job {
	return controller.ResolveControllerRef(&p.ObjectMeta, "Job", c.jobs.Indexer())
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.jobs.HasSynced, c.pods.HasSynced) {
		return
	}
	go c.orphans.Run(ctx, 1, c.releaseOrphan)
	c.queue.Run(ctx, c.workers, c.sync)
}

// releaseOrphan removes the tracking finalizer of a pod whose Job is gone.
func (c *Controller) releaseOrphan(ctx context.Context, key string) error {
	p, ok := c.pods.Indexer().Get(key)
	if !ok || !hasFinalizer(p) {
		return nil
	}
	if ref := meta.GetControllerOf(&p.ObjectMeta); ref != nil && ref.Kind == "Job" {
		j, err := c.jobClient.Get(ctx, p.Namespace, ref.Name)
		if err == nil && j.UID == ref.UID {
			return nil // its Job exists: the Job's sync handles it
		}
		if err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	return removeFinalizer(ctx, c.c, p)
}

func removeFinalizer(ctx context.Context, c *client.Client, p *core.Pod) error {
	err := controller.PatchMetadata(ctx, c, controller.Pods, p.Namespace, p.Name, p.ResourceVersion,
		map[string]any{"finalizers": controller.OrNil(controller.Without(p.Finalizers, batch.JobTrackingFinalizer))})
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

func condition(st *batch.JobStatus, t batch.JobConditionType) *batch.JobCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t && st.Conditions[i].Status == core.ConditionTrue {
			return &st.Conditions[i]
		}
	}
	return nil
}

// finished: the Job has its final Complete or Failed condition.
func finished(j *batch.Job) bool {
	return condition(&j.Status, batch.JobComplete) != nil || condition(&j.Status, batch.JobFailed) != nil
}

func suspended(j *batch.Job) bool { return j.Spec.Suspend != nil && *j.Spec.Suspend }

func isIndexed(j *batch.Job) bool {
	return j.Spec.CompletionMode != nil && *j.Spec.CompletionMode == batch.IndexedCompletion
}

// onlyReplaceFailed: a pod is replaced (and counted as failed) only once its phase is Failed.
// A pod failure policy needs that too: it judges the pod's final exit codes and conditions.
func onlyReplaceFailed(j *batch.Job) bool {
	return j.Spec.PodReplacementPolicy != nil && *j.Spec.PodReplacementPolicy == batch.Failed || j.Spec.PodFailurePolicy != nil
}

// podFailed: the pod counts as a failure. With podReplacementPolicy Failed only a Failed
// phase does; otherwise a pod deleted before it succeeded does too (it will never finish).
func podFailed(p *core.Pod, j *batch.Job) bool {
	if p.Status.Phase == core.PodFailed {
		return true
	}
	return !onlyReplaceFailed(j) && p.DeletionTimestamp != nil && p.Status.Phase != core.PodSucceeded
}

// claimPods adopts and releases pods by the Job's selector; all of its pods, finished or not.
func (c *Controller) claimPods(ctx context.Context, j *batch.Job) ([]*core.Pod, error) {
	sel, err := labels.SelectorFromLabelSelector(j.Spec.Selector)
	if err != nil {
		return nil, nil
	}
	refs := &controller.RefManager{
		Client: c.c, Resource: controller.Pods, Owner: j,
		OwnerRef: meta.NewControllerRef(j, "batch/v1", "Job"), Selector: sel,
		Recheck: func(ctx context.Context) (meta.Object, error) { return c.jobClient.Get(ctx, j.Namespace, j.Name) },
	}
	return controller.Claim(ctx, refs, c.pods.Indexer().ListNamespace(j.Namespace))
}

// finishTime is when a pod finished: the last container's finishedAt, else its deletion, else now.
func (c *Controller) finishTime(p *core.Pod) time.Time {
	var t time.Time
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated != nil && cs.State.Terminated.FinishedAt.After(t) {
			t = cs.State.Terminated.FinishedAt.Time
		}
	}
	if t.IsZero() && p.DeletionTimestamp != nil {
		t = p.DeletionTimestamp.Time
	}
	if t.IsZero() {
		t = c.now()
	}
	return t
}

// remainingBackoff is how long to wait before creating pods again after failures.
func (c *Controller) remainingBackoff(r backoffRecord) time.Duration {
	if r.failures == 0 {
		return 0
	}
	d := c.opts.PodFailureBackoff
	for i := 1; i < r.failures && d < c.opts.MaxPodFailureBackoff; i++ {
		d *= 2
	}
	d = min(d, c.opts.MaxPodFailureBackoff)
	return max(d-c.now().Sub(r.lastFailure), 0)
}

// ttl deletes a finished Job once its ttlSecondsAfterFinished passed (Kubernetes' TTL-after-
// finished controller), in the foreground so its pods go first.
func (c *Controller) ttl(ctx context.Context, j *batch.Job) error {
	if j.Spec.TTLSecondsAfterFinished == nil || j.DeletionTimestamp != nil {
		return nil
	}
	cond := condition(&j.Status, batch.JobComplete)
	if cond == nil {
		cond = condition(&j.Status, batch.JobFailed)
	}
	if cond == nil {
		return nil
	}
	expire := cond.LastTransitionTime.Add(time.Duration(*j.Spec.TTLSecondsAfterFinished) * time.Second)
	if left := expire.Sub(c.now()); left > 0 {
		c.queue.AddAfter(informer.Key(j), left)
		return nil
	}
	policy := meta.DeletePropagationForeground
	uid, rv := j.UID, j.ResourceVersion
	err := c.jobClient.Delete(ctx, j.Namespace, j.Name, &meta.DeleteOptions{PropagationPolicy: &policy,
		Preconditions: &meta.Preconditions{UID: &uid, ResourceVersion: &rv}})
	if client.IsNotFound(err) {
		return nil
	}
	if err == nil {
		c.log.Info("deleted finished job past its TTL", "job", informer.Key(j))
	}
	return err
}
