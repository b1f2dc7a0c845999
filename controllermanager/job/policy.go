package job

// The Job's policies over how its pods end, as Kubernetes' job controller has them:
// podFailurePolicy (which failures fail the Job at once, fail just their index, or are not
// counted at all), backoffLimitPerIndex (each index of an Indexed Job retried on its own,
// then given up as a failed index) and successPolicy (an Indexed Job that succeeds once
// chosen indexes, or enough of them, have).

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// failureVerdict is what the pod failure policy says about one failed pod.
type failureVerdict struct {
	action batch.PodFailurePolicyAction // "" when no rule matched
	// count: the failure counts against the backoff limits (everything but Ignore).
	count bool
	// failJob is the Job's failure message when a FailJob rule matched.
	failJob string
}

// judgeFailure matches a failed pod against the Job's pod failure policy, rule by rule, the
// first match deciding; without a policy (or a match) the failure simply counts.
func judgeFailure(j *batch.Job, p *core.Pod) failureVerdict {
	pfp := j.Spec.PodFailurePolicy
	if pfp == nil {
		return failureVerdict{count: true}
	}
	for i, rule := range pfp.Rules {
		var failJob string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(&p.Status, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			failJob = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %d matching %s rule at index %d",
				cs.Name, p.Namespace, p.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case rule.OnPodConditions != nil:
			cond := matchPodConditions(&p.Status, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			failJob = fmt.Sprintf("Pod %s/%s has condition %s matching %s rule at index %d", p.Namespace, p.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batch.PodFailurePolicyActionIgnore:
			return failureVerdict{action: rule.Action}
		case batch.PodFailurePolicyActionFailJob:
			return failureVerdict{action: rule.Action, count: true, failJob: failJob}
		case batch.PodFailurePolicyActionFailIndex, batch.PodFailurePolicyActionCount:
			return failureVerdict{action: rule.Action, count: true}
		}
	}
	return failureVerdict{count: true}
}

// matchExitCodes finds a terminated container (app containers first, then init ones) whose
// non-zero exit code meets the requirement.
func matchExitCodes(st *core.PodStatus, req *batch.PodFailurePolicyOnExitCodesRequirement) *core.ContainerStatus {
	for _, list := range [][]core.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != cs.Name) {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batch.PodFailurePolicyOnExitCodesOpIn && in) || (req.Operator == batch.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchPodConditions(st *core.PodStatus, patterns []batch.PodFailurePolicyOnPodConditionsPattern) *core.PodCondition {
	for i := range st.Conditions {
		c := &st.Conditions[i]
		for _, p := range patterns {
			if string(c.Type) == string(p.Type) && c.Status == p.Status {
				return c
			}
		}
	}
	return nil
}

func hasBackoffLimitPerIndex(j *batch.Job) bool {
	return isIndexed(j) && j.Spec.BackoffLimitPerIndex != nil
}

// indexFailureCounts are the index-failure-count and index-ignored-failure-count annotations
// of a pod of an Indexed Job: how often its index failed (counted, and ignored) before it.
func indexFailureCounts(p *core.Pod) (counted, ignored int) {
	counted, _ = strconv.Atoi(p.Annotations[batch.JobIndexFailureCountAnnotation])
	ignored, _ = strconv.Atoi(p.Annotations[batch.JobIndexIgnoredFailureCountAnnotation])
	return counted, ignored
}

// indexFailed: this failed pod's failure gives its index up — a FailIndex rule matched, or
// the index has now failed more often than backoffLimitPerIndex allows.
func indexFailed(j *batch.Job, p *core.Pod) bool {
	if !podFailed(p, j) {
		return false
	}
	v := judgeFailure(j, p)
	if v.action == batch.PodFailurePolicyActionFailIndex {
		return true
	}
	counted, _ := indexFailureCounts(p)
	return v.count && counted >= int(*j.Spec.BackoffLimitPerIndex)
}

// nextFailureCounts are the failure-count annotations of the pod that replaces the failed
// pods of one index: one more than the most any of them carried, counted or ignored as the
// policy judges the latest.
func nextFailureCounts(j *batch.Job, failed []*core.Pod) (counted, ignored int) {
	for _, p := range failed {
		c, ig := indexFailureCounts(p)
		if judgeFailure(j, p).count {
			c++
		} else {
			ig++
		}
		counted, ignored = max(counted, c), max(ignored, ig)
	}
	return counted, ignored
}

// matchSuccessPolicy reports the first success rule the succeeded indexes meet, as the
// message of the SuccessCriteriaMet condition.
func matchSuccessPolicy(j *batch.Job, succeeded indexSet) (string, bool) {
	sp := j.Spec.SuccessPolicy
	if sp == nil || len(succeeded) == 0 {
		return "", false
	}
	completions := int(*j.Spec.Completions)
	for i, rule := range sp.Rules {
		if rule.SucceededIndexes != nil {
			want := parseIndexSet(*rule.SucceededIndexes, completions)
			if len(want) == 0 {
				continue
			}
			have := 0
			for ix := range want {
				if _, ok := succeeded[ix]; ok {
					have++
				}
			}
			if have == len(want) || (rule.SucceededCount != nil && have >= int(*rule.SucceededCount)) {
				return fmt.Sprintf("Matched rules at index %d", i), true
			}
		} else if rule.SucceededCount != nil && len(succeeded) >= int(*rule.SucceededCount) {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// indexedVerdict is the interim condition an Indexed Job reaches by its indexes: failed by
// too many (or, with every index done, any) failed indexes, or succeeded by its success
// policy; nil while neither.
func indexedVerdict(s *state, now time.Time) *batch.JobCondition {
	j := s.j
	completions := int(controller.Deref(j.Spec.Completions, 0))
	if hasBackoffLimitPerIndex(j) {
		if m := j.Spec.MaxFailedIndexes; m != nil && len(s.failedIdx) > int(*m) {
			return newCondition(batch.JobFailureTarget, batch.JobReasonMaxFailedIndexesExceeded, "Job has exceeded the specified maximal number of failed indexes", now)
		}
		if len(s.failedIdx) > 0 && len(s.failedIdx)+len(s.succeededIdx) >= completions {
			return newCondition(batch.JobFailureTarget, batch.JobReasonFailedIndexes, "Job has failed indexes", now)
		}
	}
	if msg, ok := matchSuccessPolicy(j, s.succeededIdx); ok {
		return newCondition(batch.JobSuccessCriteriaMet, batch.JobReasonSuccessPolicy, msg, now)
	}
	return nil
}

// withFailureCounts gives the pod template of index ix the failure-count annotations that
// carry the index's failures over to its next pod.
func withFailureCounts(t *core.PodTemplateSpec, j *batch.Job, pods []*core.Pod, ix int) {
	var failed []*core.Pod
	for _, p := range pods {
		if completionIndex(p) == ix && podFailed(p, j) {
			failed = append(failed, p)
		}
	}
	counted, ignored := nextFailureCounts(j, failed)
	t.Annotations[batch.JobIndexFailureCountAnnotation] = strconv.Itoa(counted)
	if ignored > 0 {
		t.Annotations[batch.JobIndexIgnoredFailureCountAnnotation] = strconv.Itoa(ignored)
	}
}
