package job

import (
	"testing"

	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestJudgeFailure(t *testing.T) {
	main := "main"
	pfp := &batch.PodFailurePolicy{Rules: []batch.PodFailurePolicyRule{
		{Action: batch.PodFailurePolicyActionIgnore, OnPodConditions: []batch.PodFailurePolicyOnPodConditionsPattern{
			{Type: core.DisruptionTarget, Status: core.ConditionTrue}}},
		{Action: batch.PodFailurePolicyActionFailJob, OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{
			ContainerName: &main, Operator: batch.PodFailurePolicyOnExitCodesOpNotIn, Values: []int32{1, 2}}},
		{Action: batch.PodFailurePolicyActionCount, OnExitCodes: &batch.PodFailurePolicyOnExitCodesRequirement{
			Operator: batch.PodFailurePolicyOnExitCodesOpIn, Values: []int32{2}}},
	}}
	exited := func(name string, code int32) core.ContainerStatus {
		return core.ContainerStatus{Name: name, State: core.ContainerState{Terminated: &core.ContainerStateTerminated{ExitCode: code}}}
	}
	pod := func(conds []core.PodCondition, cs ...core.ContainerStatus) *core.Pod {
		return &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p"},
			Status: core.PodStatus{Phase: core.PodFailed, Conditions: conds, ContainerStatuses: cs}}
	}
	disrupted := []core.PodCondition{{Type: core.DisruptionTarget, Status: core.ConditionTrue}}
	for _, tc := range []struct {
		name string
		pod  *core.Pod
		want failureVerdict
	}{
		{"evicted: ignored", pod(disrupted, exited("main", 137)), failureVerdict{action: batch.PodFailurePolicyActionIgnore}},
		{"a DisruptionTarget False does not match", pod([]core.PodCondition{{Type: core.DisruptionTarget, Status: core.ConditionFalse}}, exited("main", 1)),
			failureVerdict{count: true}},
		{"NotIn matches another code of the named container", pod(nil, exited("main", 42)), failureVerdict{action: batch.PodFailurePolicyActionFailJob, count: true,
			failJob: "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1"}},
		{"another container's code does not match the named one", pod(nil, exited("side", 42)), failureVerdict{count: true}},
		{"exit code 0 never matches", pod(nil, exited("main", 0), exited("side", 2)), failureVerdict{action: batch.PodFailurePolicyActionCount, count: true}},
		{"no rule matches: counted", pod(nil, exited("main", 1)), failureVerdict{count: true}},
	} {
		j := &batch.Job{Spec: batch.JobSpec{PodFailurePolicy: pfp}}
		if got := judgeFailure(j, tc.pod); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := judgeFailure(&batch.Job{}, pod(disrupted)); got != (failureVerdict{count: true}) {
		t.Errorf("without a policy: %+v", got)
	}
}

func TestMatchSuccessPolicy(t *testing.T) {
	five := int32(5)
	job := func(rules ...batch.SuccessPolicyRule) *batch.Job {
		return &batch.Job{Spec: batch.JobSpec{Completions: &five, SuccessPolicy: &batch.SuccessPolicy{Rules: rules}}}
	}
	idx := func(s string) *string { return &s }
	cnt := func(n int32) *int32 { return &n }
	for _, tc := range []struct {
		name      string
		j         *batch.Job
		succeeded string
		want      string
	}{
		{"indexes all there", job(batch.SuccessPolicyRule{SucceededIndexes: idx("0,2-3")}), "0,2,3", "Matched rules at index 0"},
		{"an index missing", job(batch.SuccessPolicyRule{SucceededIndexes: idx("0,2-3")}), "0,2", ""},
		{"enough of the indexes", job(batch.SuccessPolicyRule{SucceededIndexes: idx("1-4"), SucceededCount: cnt(2)}), "0,1,4", "Matched rules at index 0"},
		{"a count, the second rule", job(batch.SuccessPolicyRule{SucceededIndexes: idx("4")}, batch.SuccessPolicyRule{SucceededCount: cnt(2)}), "0,1", "Matched rules at index 1"},
		{"nothing succeeded", job(batch.SuccessPolicyRule{SucceededCount: cnt(0)}), "", ""},
	} {
		msg, ok := matchSuccessPolicy(tc.j, parseIndexSet(tc.succeeded, 5))
		if msg != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", tc.name, msg, ok, tc.want)
		}
	}
}
