package job

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// state is one sync of one Job.
type state struct {
	j          *batch.Job      // a copy; its status is what this sync will write
	server     batch.JobStatus // the status as the server has it
	key        string
	pods       []*core.Pod
	active     []*core.Pod
	terminated int32 // pods being deleted that have not finished
	uncounted  struct{ succeeded, failed []string }
	// succeeded and failed count everything known: counters, uncounted and newly finished.
	succeeded, failed int32
	succeededIdx      indexSet
	// failedIdx: the indexes given up (backoffLimitPerIndex), known and new.
	failedIdx   indexSet
	newFailures []*core.Pod
	// ignored are failed pods the pod failure policy does not count: released, never counted.
	ignored map[string]bool
	// removed is this sync's copy of the pods whose finalizer was removed but whose cache
	// copy still has it: one snapshot for the whole sync, since the informer drops entries
	// concurrently (read twice, a pod skipped when counting could be released as a failure).
	removed map[string]struct{}
	// failJob is the message of the first failure a FailJob rule matched.
	failJob      string
	newSuccesses bool
	// finishing is the interim condition (SuccessCriteriaMet or FailureTarget) the Job has
	// or gets in this sync.
	finishing *batch.JobCondition
	// events are told once the status they report is written (a racing sync from a stale
	// cache fails its write and must not tell them again).
	events []func()
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cached, ok := c.jobs.Indexer().Get(key)
	if !ok {
		return nil
	}
	if m := cached.Spec.ManagedBy; m != nil && *m != batch.JobControllerName {
		return nil // another controller's Job
	}
	j := controller.DeepCopy(cached)
	pods, err := c.claimPods(ctx, j)
	if err != nil {
		return err
	}
	if finished(j) {
		// Finished for good: release any pod still held, then the TTL.
		for _, p := range pods {
			if hasFinalizer(p) {
				if err := removeFinalizer(ctx, c.c, p); err != nil {
					return err
				}
			}
		}
		return c.ttl(ctx, j)
	}
	satisfied := c.exp.Satisfied(key)
	s := c.newState(key, j, pods)

	now := c.now()
	if j.Status.StartTime == nil && !suspended(j) {
		j.Status.StartTime = controller.Ptr(meta.NewTime(now))
	}
	record := c.backoffRecord(key, s)

	if s.finishing == nil {
		switch {
		case s.failJob != "":
			s.finishing = newCondition(batch.JobFailureTarget, batch.JobReasonPodFailurePolicy, s.failJob, now)
		case s.failed > controller.Deref(j.Spec.BackoffLimit, 6) || c.pastBackoffLimitOnFailure(s):
			s.finishing = newCondition(batch.JobFailureTarget, batch.JobReasonBackoffLimitExceeded, "Job has reached the specified backoff limit", now)
		case c.pastActiveDeadline(j):
			s.finishing = newCondition(batch.JobFailureTarget, batch.JobReasonDeadlineExceeded, "Job was active longer than specified deadline", now)
		case j.Spec.ActiveDeadlineSeconds != nil && !suspended(j):
			left := time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second - now.Sub(j.Status.StartTime.Time)
			c.queue.AddAfter(key, left)
		}
		if s.finishing == nil && isIndexed(j) {
			s.finishing = indexedVerdict(s, now)
		}
		if s.finishing != nil {
			setCondition(&j.Status, *s.finishing)
		}
	}

	var manageErr error
	switch {
	case s.finishing != nil:
		// Failing, or succeeded by the success policy with indexes left: stop every pod.
		deleted, err := c.deletePods(ctx, s, s.active)
		manageErr = err
		s.active = slices.DeleteFunc(s.active, func(p *core.Pod) bool { return slices.Contains(deleted, p) })
		s.terminated += int32(len(deleted))
	case s.finishing == nil && satisfied && j.DeletionTimestamp == nil:
		manageErr = c.manage(ctx, s, record)
		if s.complete() {
			s.finishing = newCondition(batch.JobSuccessCriteriaMet, batch.JobReasonCompletionsReached, "Reached expected number of succeeded pods", now)
			setCondition(&j.Status, *s.finishing)
		} else {
			c.suspendConditions(s, now)
		}
	}

	j.Status.Active = int32(len(s.active))
	j.Status.Ready = controller.Ptr(countReady(s.active))
	j.Status.Terminating = controller.Ptr(s.terminated)
	if err := c.track(ctx, s, satisfied); err != nil {
		return errors.Join(manageErr, err)
	}
	c.saveBackoff(key, record)
	return manageErr
}

func (c *Controller) newState(key string, j *batch.Job, pods []*core.Pod) *state {
	s := &state{j: j, key: key, pods: pods, server: *controller.DeepCopy(&j.Status), ignored: map[string]bool{}}
	if u := j.Status.UncountedTerminatedPods; u != nil {
		s.uncounted.succeeded = slices.Clone(u.Succeeded)
		s.uncounted.failed = slices.Clone(u.Failed)
	}
	completions := int(controller.Deref(j.Spec.Completions, 0))
	if isIndexed(j) {
		s.succeededIdx = parseIndexSet(j.Status.CompletedIndexes, completions)
		s.failedIdx = parseIndexSet(controller.Deref(j.Status.FailedIndexes, ""), completions)
	}
	c.mu.Lock()
	s.removed = maps.Clone(c.removed[key])
	c.mu.Unlock()
	removed := s.removed
	newSucceeded := 0
	for _, p := range pods {
		if controller.IsPodActive(p) {
			s.active = append(s.active, p)
			continue
		}
		if controller.IsPodTerminating(p) {
			s.terminated++
		}
		if !hasFinalizer(p) {
			continue
		}
		if _, ok := removed[p.UID]; ok {
			continue // counted already; the cache has not caught up with its finalizer removal
		}
		switch {
		case p.Status.Phase == core.PodSucceeded && !slices.Contains(s.uncounted.failed, p.UID):
			if isIndexed(j) {
				if ix := completionIndex(p); ix >= 0 && ix < completions {
					if _, done := s.succeededIdx[ix]; !done {
						s.succeededIdx[ix] = struct{}{}
						s.newSuccesses = true
					}
				}
			} else if !slices.Contains(s.uncounted.succeeded, p.UID) {
				newSucceeded++
				s.newSuccesses = true
			}
		case podFailed(p, j) && !slices.Contains(s.uncounted.failed, p.UID):
			v := judgeFailure(j, p)
			if !v.count {
				s.ignored[p.UID] = true
				continue
			}
			if s.failJob == "" {
				s.failJob = v.failJob
			}
			s.newFailures = append(s.newFailures, p)
			if hasBackoffLimitPerIndex(j) && indexFailed(j, p) {
				if ix := completionIndex(p); ix >= 0 && ix < completions {
					s.failedIdx[ix] = struct{}{}
				}
			}
		}
	}
	if isIndexed(j) {
		s.succeeded = int32(len(s.succeededIdx))
	} else {
		s.succeeded = j.Status.Succeeded + int32(newSucceeded) + int32(len(s.uncounted.succeeded))
	}
	s.failed = j.Status.Failed + int32(len(s.newFailures)) + int32(len(s.uncounted.failed))
	if cond := condition(&j.Status, batch.JobSuccessCriteriaMet); cond != nil {
		s.finishing = cond
	} else if cond := condition(&j.Status, batch.JobFailureTarget); cond != nil {
		s.finishing = cond
	}
	return s
}

// complete: enough pods succeeded and none is still running (without completions, one success
// is enough and the others are waited for).
func (s *state) complete() bool {
	if len(s.active) > 0 {
		return false
	}
	if s.j.Spec.Completions == nil {
		return s.succeeded > 0
	}
	return s.succeeded >= *s.j.Spec.Completions
}

func countReady(pods []*core.Pod) int32 {
	var n int32
	for _, p := range pods {
		if p.IsReady() {
			n++
		}
	}
	return n
}

func (c *Controller) backoffRecord(key string, s *state) backoffRecord {
	c.mu.Lock()
	r := backoffRecord{}
	if old, ok := c.backoff[key]; ok {
		r = *old
	}
	c.mu.Unlock()
	if s.newSuccesses {
		r.failures = 0
	}
	for _, p := range s.newFailures {
		r.failures++
		if t := c.finishTime(p); t.After(r.lastFailure) {
			r.lastFailure = t
		}
	}
	return r
}

func (c *Controller) saveBackoff(key string, r backoffRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.backoff[key] = &r
}

// pastBackoffLimitOnFailure: with restartPolicy OnFailure, failures are container restarts;
// their total over the running pods counts against the backoff limit.
func (c *Controller) pastBackoffLimitOnFailure(s *state) bool {
	if s.j.Spec.Template.Spec.RestartPolicy != core.RestartPolicyOnFailure {
		return false
	}
	var restarts int32
	for _, p := range s.active {
		for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
			restarts += cs.RestartCount
		}
	}
	limit := controller.Deref(s.j.Spec.BackoffLimit, 6)
	return limit == 0 && restarts > 0 || limit > 0 && restarts >= limit
}

func (c *Controller) pastActiveDeadline(j *batch.Job) bool {
	if j.Spec.ActiveDeadlineSeconds == nil || j.Status.StartTime == nil || suspended(j) {
		return false
	}
	return c.now().Sub(j.Status.StartTime.Time) >= time.Duration(*j.Spec.ActiveDeadlineSeconds)*time.Second
}

func newCondition(t batch.JobConditionType, reason, message string, now time.Time) *batch.JobCondition {
	ts := meta.NewTime(now)
	return &batch.JobCondition{Type: t, Status: core.ConditionTrue, Reason: reason, Message: message, LastProbeTime: ts, LastTransitionTime: ts}
}

// setCondition sets c, replacing a condition of its type; it reports a change.
func setCondition(st *batch.JobStatus, c batch.JobCondition) bool {
	for i := range st.Conditions {
		cur := &st.Conditions[i]
		if cur.Type != c.Type {
			continue
		}
		if cur.Status == c.Status && cur.Reason == c.Reason && cur.Message == c.Message {
			return false
		}
		if cur.Status == c.Status {
			c.LastTransitionTime = cur.LastTransitionTime
		}
		*cur = c
		return true
	}
	st.Conditions = append(st.Conditions, c)
	return true
}

// suspendConditions reports suspend and resume; resuming restarts the active deadline.
func (c *Controller) suspendConditions(s *state, now time.Time) {
	j := s.j
	if suspended(j) {
		if setCondition(&j.Status, batch.JobCondition{Type: batch.JobSuspended, Status: core.ConditionTrue, Reason: "JobSuspended",
			Message: "Job suspended", LastProbeTime: meta.NewTime(now), LastTransitionTime: meta.NewTime(now)}) {
			s.events = append(s.events, func() { c.recorder.Event(j, core.EventTypeNormal, "Suspended", "Job suspended") })
		}
		return
	}
	cur := slices.IndexFunc(j.Status.Conditions, func(x batch.JobCondition) bool { return x.Type == batch.JobSuspended })
	if cur < 0 || j.Status.Conditions[cur].Status != core.ConditionTrue {
		return
	}
	setCondition(&j.Status, batch.JobCondition{Type: batch.JobSuspended, Status: core.ConditionFalse, Reason: "JobResumed",
		Message: "Job resumed", LastProbeTime: meta.NewTime(now), LastTransitionTime: meta.NewTime(now)})
	s.events = append(s.events, func() { c.recorder.Event(j, core.EventTypeNormal, "Resumed", "Job resumed") })
	j.Status.StartTime = controller.Ptr(meta.NewTime(now))
}

// manage creates or deletes pods towards the wanted number of active pods.
func (c *Controller) manage(ctx context.Context, s *state, record backoffRecord) error {
	j := s.j
	active := int32(len(s.active))
	if suspended(j) {
		deleted, err := c.deletePods(ctx, s, s.active)
		s.active = slices.DeleteFunc(s.active, func(p *core.Pod) bool { return slices.Contains(deleted, p) })
		return err
	}
	parallelism := controller.Deref(j.Spec.Parallelism, 1)
	var want int32
	if j.Spec.Completions == nil {
		want = parallelism
		if s.succeeded > 0 {
			want = active // one succeeded: let the running ones finish, start no more
		}
	} else {
		want = min(max(*j.Spec.Completions-s.succeeded, 0), parallelism)
	}
	if victims := c.podsForRemoval(s, int(active-want)); len(victims) > 0 {
		deleted, err := c.deletePods(ctx, s, victims[:min(len(victims), maxPodChangesPerSync)])
		s.active = slices.DeleteFunc(s.active, func(p *core.Pod) bool { return slices.Contains(deleted, p) })
		return err
	}
	terminating := int32(0)
	if onlyReplaceFailed(j) {
		terminating = s.terminated
	}
	diff := int(want - terminating - active)
	if diff <= 0 {
		return nil
	}
	// With backoffLimitPerIndex each index has its own small retry budget; the Job-wide
	// back-off (which grows with every failure of every index) is not applied to them.
	if left := c.remainingBackoff(record); left > 0 && !hasBackoffLimitPerIndex(j) {
		c.queue.AddAfter(s.key, left)
		return nil
	}
	diff = min(diff, maxPodChangesPerSync)
	var indexes []int
	if isIndexed(j) {
		indexes = pendingIndexes(s, diff)
		diff = len(indexes)
	}
	if diff == 0 {
		return nil
	}
	c.exp.ExpectCreations(s.key, diff)
	ref := meta.NewControllerRef(j, "batch/v1", "Job")
	var next, attempted atomic.Int32
	var mu sync.Mutex
	_, err := controller.SlowStartBatch(diff, controller.SlowStartInitialBatchSize, func() error {
		attempted.Add(1)
		t := controller.DeepCopy(&j.Spec.Template)
		t.Finalizers = append(slices.DeleteFunc(t.Finalizers, func(f string) bool { return f == batch.JobTrackingFinalizer }), batch.JobTrackingFinalizer)
		prefix := controller.GeneratePrefix(j.Name)
		if indexes != nil {
			i := indexes[next.Add(1)-1]
			withIndex(t, j.Name, i)
			if hasBackoffLimitPerIndex(j) {
				withFailureCounts(t, j, s.pods, i)
			}
			prefix = controller.GeneratePrefix(fmt.Sprintf("%s-%d", j.Name, i))
		}
		pod := controller.PodFromTemplate(t, j.Namespace, prefix, &ref)
		created, err := c.podControl.Create(ctx, pod, j)
		if err != nil {
			c.exp.CreationObserved(s.key)
			return err
		}
		mu.Lock()
		s.active = append(s.active, created)
		mu.Unlock()
		return nil
	})
	for range diff - int(attempted.Load()) {
		c.exp.CreationObserved(s.key)
	}
	if controller.IsNamespaceTerminating(err) {
		return nil // the namespace's deletion takes this Job too: nothing to retry
	}
	return err
}

// pendingIndexes are the first n indexes neither succeeded nor running.
func pendingIndexes(s *state, n int) []int {
	running := map[int]bool{}
	for _, p := range s.active {
		running[completionIndex(p)] = true
	}
	var out []int
	for i := 0; i < int(*s.j.Spec.Completions) && len(out) < n; i++ {
		_, done := s.succeededIdx[i]
		_, failed := s.failedIdx[i]
		if !done && !failed && !running[i] {
			out = append(out, i)
		}
	}
	return out
}

// podsForRemoval picks the active pods to delete when there are n too many: for an Indexed
// Job, first those with a bad, finished or duplicate index; then by deletion rank.
func (c *Controller) podsForRemoval(s *state, n int) []*core.Pod {
	var out, rest []*core.Pod
	if isIndexed(s.j) {
		seen := map[int]bool{}
		for _, p := range s.active {
			ix := completionIndex(p)
			_, done := s.succeededIdx[ix]
			if _, failed := s.failedIdx[ix]; failed {
				done = true // given up: its pod goes
			}
			if ix < 0 || ix >= int(controller.Deref(s.j.Spec.Completions, 0)) || done || seen[ix] {
				out = append(out, p)
				continue
			}
			seen[ix] = true
			rest = append(rest, p)
		}
	} else {
		rest = slices.Clone(s.active)
	}
	if n > len(out) {
		controller.RankPodsForDeletion(rest, s.active)
		out = append(out, rest[:min(n-len(out), len(rest))]...)
	}
	return out
}

// deletePods deletes pods concurrently and returns those deleted.
func (c *Controller) deletePods(ctx context.Context, s *state, pods []*core.Pod) ([]*core.Pod, error) {
	if len(pods) == 0 {
		return nil, nil
	}
	keys := make([]string, len(pods))
	for i, p := range pods {
		keys[i] = informer.Key(p)
	}
	c.exp.ExpectDeletions(s.key, keys)
	var wg sync.WaitGroup
	errs := make([]error, len(pods))
	for i, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.podControl.Delete(ctx, p, s.j); err != nil {
				c.exp.DeletionObserved(s.key, keys[i])
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	var deleted []*core.Pod
	for i, p := range pods {
		if errs[i] == nil {
			deleted = append(deleted, p)
		}
	}
	return deleted, errors.Join(errs...)
}

// track records finished pods in three steps that survive a crash at any point: their uids
// go into status.uncountedTerminatedPods, their finalizers are removed, then they move into
// the counters. Once nothing is left to count and no pod runs, the interim condition becomes
// the final one.
func (c *Controller) track(ctx context.Context, s *state, satisfied bool) error {
	j := s.j
	var release []*core.Pod
	removed := s.removed
	failing := s.finishing != nil && s.finishing.Type == batch.JobFailureTarget
	for _, p := range s.pods {
		if !hasFinalizer(p) {
			continue
		}
		if _, ok := removed[p.UID]; ok {
			continue
		}
		terminal := p.Status.Phase == core.PodSucceeded || podFailed(p, j)
		if !terminal && !(failing && p.DeletionTimestamp != nil) && j.DeletionTimestamp == nil {
			continue
		}
		release = append(release, p)
		switch {
		case p.Status.Phase == core.PodSucceeded && !slices.Contains(s.uncounted.failed, p.UID):
			if !isIndexed(j) && !slices.Contains(s.uncounted.succeeded, p.UID) {
				s.uncounted.succeeded = append(s.uncounted.succeeded, p.UID)
			}
		case p.Status.Phase != core.PodSucceeded && !slices.Contains(s.uncounted.failed, p.UID) && !s.ignored[p.UID]:
			s.uncounted.failed = append(s.uncounted.failed, p.UID)
		}
	}
	if isIndexed(j) {
		j.Status.CompletedIndexes = s.succeededIdx.String()
	}
	if hasBackoffLimitPerIndex(j) {
		j.Status.FailedIndexes = controller.Ptr(s.failedIdx.String())
	}
	setUncounted(&j.Status, s)
	if err := c.writeStatus(ctx, s); err != nil {
		return err
	}
	j = s.j // the server's answer from here on
	// Step 2: release the pods.
	var errs []error
	released := map[string]bool{}
	for _, p := range release {
		if err := removeFinalizer(ctx, c.c, p); err != nil {
			errs = append(errs, err)
			continue
		}
		released[p.UID] = true
		c.mu.Lock()
		if c.removed[s.key] == nil {
			c.removed[s.key] = map[string]struct{}{}
		}
		c.removed[s.key][p.UID] = struct{}{}
		c.mu.Unlock()
	}
	// Step 3: released (or gone) pods move into the counters.
	held := map[string]bool{}
	for _, p := range s.pods {
		if hasFinalizer(p) && !released[p.UID] {
			held[p.UID] = true
		}
	}
	moved := func(uids []string) (stay []string, n int32) {
		for _, u := range uids {
			if held[u] {
				stay = append(stay, u)
			} else {
				n++
			}
		}
		return stay, n
	}
	var n int32
	s.uncounted.succeeded, n = moved(s.uncounted.succeeded)
	j.Status.Succeeded += n
	s.uncounted.failed, n = moved(s.uncounted.failed)
	j.Status.Failed += n
	if isIndexed(j) {
		j.Status.Succeeded = int32(len(s.succeededIdx))
	}
	setUncounted(&j.Status, s)
	// The final condition, once every pod is accounted for and none runs.
	final := s.finishing != nil && satisfied && len(held) == 0 && len(s.active) == 0 && len(errs) == 0 &&
		len(s.uncounted.succeeded)+len(s.uncounted.failed) == 0
	if final {
		now := c.now()
		if s.finishing.Type == batch.JobSuccessCriteriaMet {
			setCondition(&j.Status, *newCondition(batch.JobComplete, s.finishing.Reason, s.finishing.Message, now))
			j.Status.CompletionTime = controller.Ptr(meta.NewTime(now))
		} else {
			setCondition(&j.Status, *newCondition(batch.JobFailed, s.finishing.Reason, s.finishing.Message, now))
		}
	}
	if err := c.writeStatus(ctx, s); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if final && s.finishing.Type == batch.JobSuccessCriteriaMet {
		s.events = append(s.events, func() { c.recorder.Event(j, core.EventTypeNormal, "Completed", "Job completed") })
	} else if final {
		s.events = append(s.events, func() { c.recorder.Event(j, core.EventTypeWarning, s.finishing.Reason, s.finishing.Message) })
	}
	for _, tell := range s.events {
		tell()
	}
	return errors.Join(errs...)
}

func setUncounted(st *batch.JobStatus, s *state) {
	if len(s.uncounted.succeeded)+len(s.uncounted.failed) == 0 {
		st.UncountedTerminatedPods = &batch.UncountedTerminatedPods{}
		return
	}
	st.UncountedTerminatedPods = &batch.UncountedTerminatedPods{Succeeded: s.uncounted.succeeded, Failed: s.uncounted.failed}
}

// writeStatus writes the Job's status if it changed from what the server has.
func (c *Controller) writeStatus(ctx context.Context, s *state) error {
	if controller.SemanticEqual(s.server, s.j.Status) {
		return nil
	}
	out, err := c.jobClient.UpdateStatus(ctx, s.j)
	if err != nil {
		return fmt.Errorf("update job status: %w", err)
	}
	s.j, s.server = out, *controller.DeepCopy(&out.Status)
	return nil
}
