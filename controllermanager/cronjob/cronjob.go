// Package cronjob is the CronJob controller, as Kubernetes' (its "v2" controller): at each
// schedule time (5-field schedules and @hourly-style macros, in spec.timeZone) it creates a
// Job named <cronjob>-<minutes since the epoch>, honouring concurrencyPolicy (Allow,
// Forbid, Replace), startingDeadlineSeconds and suspend; it keeps status.active and
// lastScheduleTime / lastSuccessfulTime, and deletes finished Jobs beyond the history
// limits. Between schedule times it sleeps until the next one (a requeue), not a poll.
package cronjob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "cronjob"

// tooManyMissed is the count of missed schedules past which a warning is recorded.
const tooManyMissed = 100

// Controller runs CronJobs.
type Controller struct {
	cronjobs  *informer.Informer[batch.CronJob, *batch.CronJob]
	jobs      *informer.Informer[batch.Job, *batch.Job]
	cjClient  *client.Typed[batch.CronJob, *batch.CronJob]
	jobClient *client.Typed[batch.Job, *batch.Job]
	queue     *controller.Queue
	recorder  controller.EventRecorder
	workers   int
	log       *slog.Logger
	now       func() time.Time
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		cronjobs:  controller.CronJobInformer(cc),
		jobs:      controller.JobInformer(cc),
		cjClient:  client.For[batch.CronJob](cc.Client, controller.CronJobs),
		jobClient: client.For[batch.Job](cc.Client, controller.Jobs),
		queue:     controller.NewQueue(cc, Name),
		recorder:  cc.Recorder("cronjob-controller"),
		workers:   cc.WorkerCount(),
		log:       cc.Logger(Name),
		now:       time.Now,
	}
	controller.IndexByController(c.jobs)
	c.cronjobs.AddEventHandler(informer.Handler[*batch.CronJob]{
		AddFunc:    func(cj *batch.CronJob) { c.queue.Enqueue(cj) },
		UpdateFunc: func(_, cj *batch.CronJob) { c.queue.Enqueue(cj) },
	})
	enqueueOwner := func(j *batch.Job) {
		ref := meta.GetControllerOf(&j.ObjectMeta)
		if ref != nil && ref.Kind == "CronJob" {
			c.queue.Add(informer.NamespacedKey(j.Namespace, ref.Name))
		}
	}
	c.jobs.AddEventHandler(informer.Handler[*batch.Job]{
		AddFunc: enqueueOwner,
		UpdateFunc: func(old, j *batch.Job) {
			if old.ResourceVersion != j.ResourceVersion {
				enqueueOwner(j)
			}
		},
		DeleteFunc: enqueueOwner,
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.cronjobs.HasSynced, c.jobs.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// finishedCondition is the Job's Complete or Failed condition, "" while it runs.
func finishedCondition(j *batch.Job) batch.JobConditionType {
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batch.JobComplete || cond.Type == batch.JobFailed) && cond.Status == core.ConditionTrue {
			return cond.Type
		}
	}
	return ""
}

func jobRef(j *batch.Job) core.ObjectReference {
	return core.ObjectReference{Kind: "Job", APIVersion: "batch/v1", Namespace: j.Namespace, Name: j.Name, UID: j.UID, ResourceVersion: j.ResourceVersion}
}

func inActive(cj *batch.CronJob, uid string) bool {
	return slices.ContainsFunc(cj.Status.Active, func(r core.ObjectReference) bool { return r.UID == uid })
}

func removeActive(cj *batch.CronJob, uid string) {
	cj.Status.Active = slices.DeleteFunc(cj.Status.Active, func(r core.ObjectReference) bool { return r.UID == uid })
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cached, ok := c.cronjobs.Indexer().Get(key)
	if !ok {
		return nil // its Jobs are owned by it: the garbage collector removes them
	}
	cj := controller.DeepCopy(cached)
	jobs := controller.Controlled(c.jobs.Indexer(), cj.UID)
	requeue, err := c.reconcile(ctx, cj, jobs)
	c.cleanupFinished(ctx, cj, jobs)
	if !controller.SemanticEqual(cj.Status, cached.Status) {
		if _, uerr := c.cjClient.UpdateStatus(ctx, cj); uerr != nil && !client.IsNotFound(uerr) {
			return errors.Join(err, uerr)
		}
	}
	if requeue > 0 {
		c.queue.AddAfter(key, requeue)
	}
	return err
}

// reconcile brings status.active in line with the Jobs, and starts the Job of the latest
// schedule time if it is due; it returns when to look again.
func (c *Controller) reconcile(ctx context.Context, cj *batch.CronJob, jobs []*batch.Job) (time.Duration, error) {
	now := c.now()
	children := map[string]bool{}
	for _, j := range jobs {
		children[j.UID] = true
		cond := finishedCondition(j)
		found := inActive(cj, j.UID)
		switch {
		case !found && cond == "":
			// Unfinished and not listed: the cache may be behind our own status write (the
			// job just created), so the API server has the last word, as in Kubernetes.
			if fresh, err := c.cjClient.Get(ctx, cj.Namespace, cj.Name); err == nil && fresh.UID == cj.UID && inActive(fresh, j.UID) {
				*cj = *fresh
				continue
			}
			// Really not listed: created by a sync whose status write was lost, or by hand.
			c.recorder.Eventf(cj, core.EventTypeWarning, "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s", j.Name)
			cj.Status.Active = append(cj.Status.Active, jobRef(j))
		case found && cond != "":
			removeActive(cj, j.UID)
			c.recorder.Eventf(cj, core.EventTypeNormal, "SawCompletedJob", "Saw completed job: %s, condition: %v", j.Name, cond)
		}
		if cond == batch.JobComplete && j.Status.CompletionTime != nil &&
			(cj.Status.LastSuccessfulTime == nil || j.Status.CompletionTime.After(cj.Status.LastSuccessfulTime.Time)) {
			cj.Status.LastSuccessfulTime = j.Status.CompletionTime
		}
	}
	for _, ref := range slices.Clone(cj.Status.Active) {
		if children[ref.UID] {
			continue
		}
		if _, err := c.jobClient.Get(ctx, ref.Namespace, ref.Name); client.IsNotFound(err) {
			removeActive(cj, ref.UID)
			c.recorder.Eventf(cj, core.EventTypeNormal, "MissingJob", "Active job went missing: %v", ref.Name)
		}
	}
	if cj.DeletionTimestamp != nil {
		return 0, nil
	}
	if tz := cj.Spec.TimeZone; tz != nil {
		if _, err := time.LoadLocation(*tz); err != nil {
			c.recorder.Eventf(cj, core.EventTypeWarning, "UnknownTimeZone", "invalid timeZone: %q: %s", *tz, err)
			return 0, nil
		}
	}
	if cj.Spec.Suspend != nil && *cj.Spec.Suspend {
		return 0, nil
	}
	sched, err := parseSchedule(cj)
	if err != nil {
		c.recorder.Eventf(cj, core.EventTypeWarning, "UnparseableSchedule", "unparseable schedule: %q : %s", cj.Spec.Schedule, err)
		return 0, nil
	}
	_, scheduled, missed, err := mostRecentScheduleTime(cj, now, sched, true)
	if err != nil {
		c.recorder.Eventf(cj, core.EventTypeWarning, "InvalidSchedule", "invalid schedule: %s : %s", cj.Spec.Schedule, err)
		return 0, nil
	}
	if missed > tooManyMissed {
		c.recorder.Eventf(cj, core.EventTypeWarning, "TooManyMissedTimes",
			"too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew", missed)
	}
	next := nextIn(cj, now, sched)
	if scheduled == nil {
		return next, nil
	}
	if d := cj.Spec.StartingDeadlineSeconds; d != nil && scheduled.Add(time.Duration(*d)*time.Second).Before(now) {
		c.recorder.Eventf(cj, core.EventTypeWarning, "MissSchedule", "Missed scheduled time to start a job: %s", scheduled.UTC().Format(time.RFC1123Z))
		return next, nil
	}
	name := jobName(cj, *scheduled)
	if slices.ContainsFunc(cj.Status.Active, func(r core.ObjectReference) bool { return r.Name == name }) ||
		(cj.Status.LastScheduleTime != nil && cj.Status.LastScheduleTime.Equal(*scheduled)) {
		return next, nil // this time was dealt with
	}
	switch cj.Spec.ConcurrencyPolicy {
	case batch.ForbidConcurrent:
		if len(cj.Status.Active) > 0 {
			c.recorder.Event(cj, core.EventTypeNormal, "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid")
			return next, nil
		}
	case batch.ReplaceConcurrent:
		for _, ref := range slices.Clone(cj.Status.Active) {
			if err := c.deleteJob(ctx, cj, ref.Namespace, ref.Name, ref.UID); err != nil {
				return 0, err
			}
			removeActive(cj, ref.UID)
		}
	}
	created, err := c.jobClient.Create(ctx, c.jobFor(cj, *scheduled))
	switch {
	case client.IsAlreadyExists(err):
		// Created before, by a sync whose status write was lost (or a schedule finer than a
		// minute): if it is ours, this time is done.
		existing, gerr := c.jobClient.Get(ctx, cj.Namespace, name)
		if gerr != nil || !meta.IsControlledBy(&existing.ObjectMeta, cj) {
			return 0, fmt.Errorf("job %s exists and is not this cronjob's", name)
		}
		if finishedCondition(existing) == "" && !inActive(cj, existing.UID) {
			cj.Status.Active = append(cj.Status.Active, jobRef(existing))
		}
	case controller.IsNamespaceTerminating(err):
		return 0, nil // the namespace's deletion takes this CronJob too
	case err != nil:
		c.recorder.Eventf(cj, core.EventTypeWarning, "FailedCreate", "Error creating job: %v", err)
		return 0, err
	default:
		c.recorder.Eventf(cj, core.EventTypeNormal, "SuccessfulCreate", "Created job %v", created.Name)
		cj.Status.Active = append(cj.Status.Active, jobRef(created))
	}
	cj.Status.LastScheduleTime = controller.Ptr(meta.NewTime(*scheduled))
	return nextIn(cj, now, sched), nil
}

// jobFor is the Job of one schedule time: the template's labels, annotations and spec,
// the scheduled time as annotation (in the CronJob's zone), owned by the CronJob.
func (c *Controller) jobFor(cj *batch.CronJob, scheduled time.Time) *batch.Job {
	t := controller.DeepCopy(&cj.Spec.JobTemplate)
	loc := time.UTC
	if tz := cj.Spec.TimeZone; tz != nil {
		if l, err := time.LoadLocation(*tz); err == nil {
			loc = l
		}
	}
	ann := maps.Clone(t.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[batch.CronJobScheduledTimestampAnnotation] = scheduled.In(loc).Format(time.RFC3339)
	return &batch.Job{
		TypeMeta: meta.TypeMeta{Kind: "Job", APIVersion: "batch/v1"},
		ObjectMeta: meta.ObjectMeta{
			Namespace: cj.Namespace, Name: jobName(cj, scheduled),
			Labels: maps.Clone(t.Labels), Annotations: ann,
			OwnerReferences: []meta.OwnerReference{meta.NewControllerRef(cj, "batch/v1", "CronJob")},
		},
		Spec: t.Spec,
	}
}

func (c *Controller) deleteJob(ctx context.Context, cj *batch.CronJob, ns, name, uid string) error {
	policy := meta.DeletePropagationBackground
	err := c.jobClient.Delete(ctx, ns, name, &meta.DeleteOptions{PropagationPolicy: &policy, Preconditions: &meta.Preconditions{UID: &uid}})
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		c.recorder.Eventf(cj, core.EventTypeWarning, "FailedDelete", "Deleted job: %v", err)
		return err
	}
	c.recorder.Eventf(cj, core.EventTypeNormal, "SuccessfulDelete", "Deleted job %v", name)
	return nil
}

// cleanupFinished deletes the oldest finished Jobs beyond the history limits.
func (c *Controller) cleanupFinished(ctx context.Context, cj *batch.CronJob, jobs []*batch.Job) {
	var succeeded, failed []*batch.Job
	for _, j := range jobs {
		switch finishedCondition(j) {
		case batch.JobComplete:
			succeeded = append(succeeded, j)
		case batch.JobFailed:
			failed = append(failed, j)
		}
	}
	for _, set := range []struct {
		jobs  []*batch.Job
		limit *int32
	}{{succeeded, cj.Spec.SuccessfulJobsHistoryLimit}, {failed, cj.Spec.FailedJobsHistoryLimit}} {
		if set.limit == nil || len(set.jobs) <= int(*set.limit) {
			continue
		}
		sort.SliceStable(set.jobs, func(i, k int) bool { return startTime(set.jobs[i]).Before(startTime(set.jobs[k])) })
		for _, j := range set.jobs[:len(set.jobs)-int(*set.limit)] {
			if err := c.deleteJob(ctx, cj, j.Namespace, j.Name, j.UID); err != nil {
				c.log.Warn("deleting an old job failed", "job", informer.Key(j), "err", err)
				continue
			}
			removeActive(cj, j.UID)
		}
	}
}

func startTime(j *batch.Job) time.Time {
	if j.Status.StartTime != nil {
		return j.Status.StartTime.Time
	}
	return j.CreationTimestamp.Time
}
