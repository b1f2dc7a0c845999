package job_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/job"
)

// startExits runs the controller with a kubelet that ends each pod as end says, its
// containers exiting with the code given (0 for Succeeded).
func startExits(t *testing.T, end func(p *core.Pod) (core.PodPhase, int32)) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, job.New(e.CC, job.Options{PodFailureBackoff: 10 * time.Millisecond}), garbagecollector.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{
		Phase:    func(p *core.Pod) core.PodPhase { ph, _ := end(p); return ph },
		ExitCode: func(p *core.Pod) int32 { _, code := end(p); return code },
	})
	return e
}

func index(p *core.Pod) int {
	n, err := strconv.Atoi(p.Annotations[batch.JobCompletionIndexAnnotation])
	if err != nil {
		return -1
	}
	return n
}

// failOddSucceedEven is the conformance suite's pod: odd indexes exit 1, even ones 0.
func failOddSucceedEven(p *core.Pod) (core.PodPhase, int32) {
	if index(p)%2 == 1 {
		return core.PodFailed, 1
	}
	return core.PodSucceeded, 0
}

func indexed(completions, parallelism int32) func(*batch.Job) {
	return func(j *batch.Job) {
		j.Spec.Completions, j.Spec.Parallelism = &completions, &parallelism
		j.Spec.CompletionMode = controller.Ptr(batch.IndexedCompletion)
	}
}

func exitRule(action batch.PodFailurePolicyAction, codes ...int32) batch.PodFailurePolicyRule {
	return batch.PodFailurePolicyRule{Action: action, OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{
		Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: codes}}
}

func TestPodFailurePolicyFailJob(t *testing.T) {
	e := startExits(t, func(*core.Pod) (core.PodPhase, int32) { return core.PodFailed, 42 })
	testenv.Create(t, e, controller.Jobs, newJob("early", func(j *batch.Job) {
		j.Spec.Completions, j.Spec.Parallelism = controller.Ptr(int32(4)), controller.Ptr(int32(1))
		j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{
			exitRule(batch.PodFailurePolicyActionIgnore, 7), exitRule(batch.PodFailurePolicyActionFailJob, 42)}}
	}))
	j := waitJob(t, e, "early", "active=0 succeeded=0 failed=1 conditions=Failed/PodFailurePolicy,FailureTarget/PodFailurePolicy")
	for _, c := range j.Status.Conditions {
		if c.Type == batch.JobFailed && !strings.HasPrefix(c.Message, "Container c for pod default/early-") ||
			c.Type == batch.JobFailed && !strings.HasSuffix(c.Message, " failed with exit code 42 matching FailJob rule at index 1") {
			t.Errorf("Failed message %q", c.Message)
		}
	}
}

// Ignored failures are not counted: with backoffLimit 0 the Job still completes.
func TestPodFailurePolicyIgnore(t *testing.T) {
	e := startExits(t, func(p *core.Pod) (core.PodPhase, int32) {
		return core.PodFailed, 42
	})
	testenv.Create(t, e, controller.Jobs, newJob("retry", func(j *batch.Job) {
		j.Spec.BackoffLimit = controller.Ptr(int32(0))
		j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{exitRule(batch.PodFailurePolicyActionIgnore, 42)}}
	}))
	// Every pod fails with 42 (the kubelet cannot tell a retry): the Job keeps replacing
	// them and never counts a failure.
	testenv.Eventually(t, "three ignored failures, none counted", func() (bool, string) {
		n := 0
		for _, pod := range jobPods(t, e, "retry") {
			if pod.Status.Phase == core.PodFailed {
				n++
			}
		}
		j := getJob(t, e, "retry")
		return n >= 3 && j.Status.Failed == 0 && conditions(j) == "", status(j)
	})
}

func TestBackoffLimitPerIndex(t *testing.T) {
	e := startExits(t, failOddSucceedEven)
	testenv.Create(t, e, controller.Jobs, newJob("per-index", func(j *batch.Job) {
		indexed(4, 2)(j)
		j.Spec.BackoffLimitPerIndex = controller.Ptr(int32(1))
	}))
	j := waitJob(t, e, "per-index", "active=0 succeeded=2 failed=4 conditions=Failed/FailedIndexes,FailureTarget/FailedIndexes")
	if got := controller.Deref(j.Status.FailedIndexes, "<nil>"); got != "1,3" || j.Status.CompletedIndexes != "0,2" {
		t.Errorf("failedIndexes %q completedIndexes %q, want 1,3 and 0,2", got, j.Status.CompletedIndexes)
	}
	counts := map[int][]string{}
	for _, pod := range jobPods(t, e, "per-index") {
		p := &pod
		if index(p)%2 == 1 {
			counts[index(p)] = append(counts[index(p)], p.Annotations[batch.JobIndexFailureCountAnnotation])
		}
	}
	for _, ix := range []int{1, 3} {
		slices.Sort(counts[ix])
		got := strings.Join(counts[ix], ",")
		if got != "0,1" {
			t.Errorf("index %d: failure-count annotations %s, want 0,1 (the first try and its one retry)", ix, got)
		}
	}
}

func TestMaxFailedIndexes(t *testing.T) {
	e := startExits(t, func(*core.Pod) (core.PodPhase, int32) { return core.PodFailed, 1 })
	testenv.Create(t, e, controller.Jobs, newJob("max-failed", func(j *batch.Job) {
		indexed(4, 1)(j)
		j.Spec.BackoffLimitPerIndex, j.Spec.MaxFailedIndexes = controller.Ptr(int32(0)), controller.Ptr(int32(0))
	}))
	j := waitJob(t, e, "max-failed", "active=0 succeeded=0 failed=1 conditions=Failed/MaxFailedIndexesExceeded,FailureTarget/MaxFailedIndexesExceeded")
	if got := controller.Deref(j.Status.FailedIndexes, "<nil>"); got != "0" {
		t.Errorf("failedIndexes %q, want 0", got)
	}
}

func TestPodFailurePolicyFailIndex(t *testing.T) {
	e := startExits(t, failOddSucceedEven)
	testenv.Create(t, e, controller.Jobs, newJob("fail-index", func(j *batch.Job) {
		indexed(2, 2)(j)
		j.Spec.BackoffLimitPerIndex = controller.Ptr(int32(1))
		j.Spec.PodFailurePolicy = &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{exitRule(batch.PodFailurePolicyActionFailIndex, 1)}}
	}))
	j := waitJob(t, e, "fail-index", "active=0 succeeded=1 failed=1 conditions=Failed/FailedIndexes,FailureTarget/FailedIndexes")
	if got := controller.Deref(j.Status.FailedIndexes, "<nil>"); got != "1" || j.Status.CompletedIndexes != "0" {
		t.Errorf("failedIndexes %q completedIndexes %q, want 1 and 0 (index 1 not retried)", got, j.Status.CompletedIndexes)
	}
}

// The success policy ends an Indexed Job once index 0 succeeded, though others still run.
func TestSuccessPolicy(t *testing.T) {
	e := startExits(t, func(p *core.Pod) (core.PodPhase, int32) {
		if index(p) == 0 {
			return core.PodSucceeded, 0
		}
		return core.PodRunning, 0
	})
	testenv.Create(t, e, controller.Jobs, newJob("leader", func(j *batch.Job) {
		indexed(5, 2)(j)
		j.Spec.SuccessPolicy = &batch.SuccessPolicy{Rules: []batch.SuccessPolicyRule{{SucceededIndexes: controller.Ptr("0")}}}
	}))
	testenv.Eventually(t, "Complete by the success policy", func() (bool, string) {
		j := getJob(t, e, "leader")
		return strings.Contains(conditions(j), "Complete/SuccessPolicy") && strings.Contains(conditions(j), "SuccessCriteriaMet/SuccessPolicy") &&
			j.Status.Active == 0 && j.Status.Succeeded == 1 && j.Status.CompletedIndexes == "0", status(j) + " completed=" + j.Status.CompletedIndexes
	})
	for _, c := range getJob(t, e, "leader").Status.Conditions {
		if c.Type == batch.JobComplete && c.Message != "Matched rules at index 0" {
			t.Errorf("Complete message %q", c.Message)
		}
	}
}
