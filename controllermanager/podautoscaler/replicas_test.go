package podautoscaler

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// The cases of Kubernetes' replica_calculator_test.go (v1.33) for resource metrics, with its
// fixtures: pods of two containers each requesting requests[i], usage levels per container,
// CPU initialization period 2m, initial readiness delay 10s, tolerance 0.1, metrics with a
// zero timestamp and a one-minute window.

type calcCase struct {
	name        string
	current     int32
	want        int32
	wantErr     string
	readiness   []core.ConditionStatus
	startTime   []time.Time
	phase       []core.PodPhase
	deleting    []bool
	requests    []string
	levels      []int64 // per container, millicores
	podNames    []string
	target      int32
	wantUtil    int32
	wantRaw     int64
	rawTarget   int64 // > 0: an AverageValue target (RawResourceReplicas)
	wantRawUsed int64
}

const containersPerPod = 2

func (tc calcCase) pods(now time.Time) []*core.Pod {
	n := int(tc.current)
	if len(tc.phase) > n {
		n = len(tc.phase)
	}
	var out []*core.Pod
	for i := range n {
		ready := core.ConditionTrue
		if i < len(tc.readiness) {
			ready = tc.readiness[i]
		}
		start := meta.Time{}
		if i < len(tc.startTime) {
			start = meta.Time{Time: tc.startTime[i]}
		}
		phase := core.PodRunning
		if i < len(tc.phase) {
			phase = tc.phase[i]
		}
		p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("test-pod-%d", i)},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "container1"}, {Name: "container2"}}},
			Status: core.PodStatus{Phase: phase, StartTime: &start,
				Conditions: []core.PodCondition{{Type: core.PodReady, Status: ready}}}}
		if i < len(tc.deleting) && tc.deleting[i] {
			p.DeletionTimestamp = &meta.Time{Time: now}
		}
		if i < len(tc.requests) {
			for j := range p.Spec.Containers {
				p.Spec.Containers[j].Resources.Requests = core.ResourceList{core.ResourceCPU: resource.MustParse(tc.requests[i])}
			}
		}
		out = append(out, p)
	}
	return out
}

func (tc calcCase) metrics() PodMetrics {
	m := PodMetrics{}
	for i, l := range tc.levels {
		name := fmt.Sprintf("test-pod-%d", i)
		if i < len(tc.podNames) {
			name = tc.podNames[i]
		}
		m[name] = PodMetric{Value: l * containersPerPod, Window: time.Minute}
	}
	return m
}

func TestReplicaCalculator(t *testing.T) {
	now := time.Now()
	hot, cool := now, now.Add(-3*time.Minute)
	T, F := core.ConditionTrue, core.ConditionFalse
	one := func(n int) []string { return strings.Split(strings.Repeat("1.0,", n-1)+"1.0", ",") }
	tests := []calcCase{
		{name: "ScaleUp", current: 3, want: 5, requests: one(3), levels: []int64{300, 500, 700}, target: 30, wantUtil: 50, wantRaw: 2 * 500},
		{name: "ScaleUpUnreadyLessScale", current: 3, want: 4, readiness: []core.ConditionStatus{F, T, T}, requests: one(3), levels: []int64{300, 500, 700}, target: 30, wantUtil: 60, wantRaw: 2 * 600},
		{name: "ScaleUpHotCpuLessScale", current: 3, want: 4, startTime: []time.Time{hot, cool, cool}, requests: one(3), levels: []int64{300, 500, 700}, target: 30, wantUtil: 60, wantRaw: 2 * 600},
		{name: "ScaleUpUnreadyNoScale", current: 3, want: 3, readiness: []core.ConditionStatus{T, F, F}, requests: one(3), levels: []int64{400, 500, 700}, target: 30, wantUtil: 40, wantRaw: 2 * 400},
		{name: "ScaleHotCpuNoScale", current: 3, want: 3, readiness: []core.ConditionStatus{T, F, F}, startTime: []time.Time{cool, hot, hot}, requests: one(3), levels: []int64{400, 500, 700}, target: 30, wantUtil: 40, wantRaw: 2 * 400},
		{name: "ScaleUpIgnoresFailedPods", current: 2, want: 4, readiness: []core.ConditionStatus{T, T, F, F}, phase: []core.PodPhase{core.PodRunning, core.PodRunning, core.PodFailed, core.PodFailed}, requests: one(4), levels: []int64{500, 700}, target: 30, wantUtil: 60, wantRaw: 2 * 600},
		{name: "ScaleUpIgnoresDeletionPods", current: 2, want: 4, readiness: []core.ConditionStatus{T, T, F, F}, phase: []core.PodPhase{core.PodRunning, core.PodRunning, core.PodRunning, core.PodRunning}, deleting: []bool{false, false, true, true}, requests: one(4), levels: []int64{500, 700}, target: 30, wantUtil: 60, wantRaw: 2 * 600},
		{name: "ScaleDown", current: 5, want: 3, requests: one(5), levels: []int64{100, 300, 500, 250, 250}, target: 50, wantUtil: 28, wantRaw: 2 * 280},
		{name: "ScaleDownExcludeUnreadyPods", current: 5, want: 2, readiness: []core.ConditionStatus{T, T, T, F, F}, requests: one(5), levels: []int64{100, 300, 500, 250, 250}, target: 50, wantUtil: 30, wantRaw: 2 * 300},
		{name: "ScaleDownExcludeUnscheduledPods", current: 5, want: 1, readiness: []core.ConditionStatus{T, F, F, F, F}, phase: []core.PodPhase{core.PodRunning, core.PodPending, core.PodPending, core.PodPending, core.PodPending}, requests: one(5), levels: []int64{100}, target: 50, wantUtil: 10, wantRaw: 2 * 100},
		{name: "ScaleDownIgnoreHotCpuPods", current: 5, want: 2, startTime: []time.Time{cool, cool, cool, hot, hot}, requests: one(5), levels: []int64{100, 300, 500, 250, 250}, target: 50, wantUtil: 30, wantRaw: 2 * 300},
		{name: "ScaleDownIgnoresFailedPods", current: 5, want: 3, readiness: []core.ConditionStatus{T, T, T, T, T, F, F}, phase: []core.PodPhase{core.PodRunning, core.PodRunning, core.PodRunning, core.PodRunning, core.PodRunning, core.PodFailed, core.PodFailed}, requests: one(7), levels: []int64{100, 300, 500, 250, 250}, target: 50, wantUtil: 28, wantRaw: 2 * 280},
		{name: "Tolerance", current: 3, want: 3, requests: []string{"0.9", "1.0", "1.1"}, levels: []int64{1010, 1030, 1020}, target: 100, wantUtil: 102, wantRaw: 2 * 1020},
		{name: "SuperfluousMetrics", current: 4, want: 24, requests: one(4), levels: []int64{4000, 9500, 3000, 7000, 3200, 2000}, target: 100, wantUtil: 587, wantRaw: 2 * 5875},
		{name: "MissingMetrics", current: 4, want: 3, requests: one(4), levels: []int64{400, 95}, target: 100, wantUtil: 24, wantRaw: 495},
		{name: "EmptyCPURequest", current: 1, wantErr: "missing request for", levels: []int64{200}, target: 100},
		{name: "MissingMetricsNoChangeEq", current: 2, want: 2, requests: one(2), levels: []int64{1000}, target: 100, wantUtil: 100, wantRaw: 2 * 1000},
		{name: "MissingMetricsNoChangeGt", current: 2, want: 2, requests: one(2), levels: []int64{1900}, target: 100, wantUtil: 190, wantRaw: 2 * 1900},
		{name: "MissingMetricsNoChangeLt", current: 2, want: 2, requests: one(2), levels: []int64{600}, target: 100, wantUtil: 60, wantRaw: 2 * 600},
		{name: "MissingMetricsUnreadyChange", current: 3, want: 3, readiness: []core.ConditionStatus{F, T, T}, requests: one(3), levels: []int64{100, 450}, target: 50, wantUtil: 45, wantRaw: 2 * 450},
		{name: "MissingMetricsHotCpuNoChange", current: 3, want: 3, startTime: []time.Time{hot, cool, cool}, requests: one(3), levels: []int64{100, 450}, target: 50, wantUtil: 45, wantRaw: 2 * 450},
		{name: "MissingMetricsUnreadyScaleUp", current: 3, want: 4, readiness: []core.ConditionStatus{F, T, T}, requests: one(3), levels: []int64{100, 2000}, target: 50, wantUtil: 200, wantRaw: 2 * 2000},
		{name: "MissingMetricsHotCpuScaleUp", current: 3, want: 4, readiness: []core.ConditionStatus{F, T, T}, startTime: []time.Time{hot, cool, cool}, requests: one(3), levels: []int64{100, 2000}, target: 50, wantUtil: 200, wantRaw: 2 * 2000},
		{name: "MissingMetricsUnreadyScaleDown", current: 4, want: 3, readiness: []core.ConditionStatus{F, T, T, T}, requests: one(4), levels: []int64{100, 100, 100}, target: 50, wantUtil: 10, wantRaw: 2 * 100},
		{name: "MissingMetricsScaleDownTargetOver100", current: 4, want: 2, readiness: []core.ConditionStatus{F, T, T, T}, requests: []string{"1.0", "1.0", "2.0", "2.0"}, levels: []int64{200, 100, 100}, target: 300, wantUtil: 6, wantRaw: 2 * 100},
		{name: "DuringRollingUpdateWithMaxSurge", current: 2, want: 2, phase: []core.PodPhase{core.PodRunning, core.PodRunning, core.PodRunning}, requests: one(3), levels: []int64{100, 100}, target: 50, wantUtil: 10, wantRaw: 2 * 100},
		// AverageValue targets (GetRawResourceReplicas over the same fixtures).
		{name: "RawScaleUp", current: 3, want: 5, requests: one(3), levels: []int64{300, 500, 700}, rawTarget: 600, wantRawUsed: 1000},
		{name: "RawWithinTolerance", current: 3, want: 3, requests: one(3), levels: []int64{500, 500, 500}, rawTarget: 1050, wantRawUsed: 1000},
		{name: "RawScaleDown", current: 4, want: 2, requests: one(4), levels: []int64{100, 100, 100, 100}, rawTarget: 400, wantRawUsed: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Calculator{Tolerance: 0.1, CPUInitializationPeriod: 2 * time.Minute, DelayOfInitialReadinessStatus: 10 * time.Second, Now: func() time.Time { return now }}
			pods, m := tc.pods(now), tc.metrics()
			if tc.rawTarget > 0 {
				got, used, err := c.RawResourceReplicas(tc.current, tc.rawTarget, core.ResourceCPU, pods, m)
				if err != nil || got != tc.want || used != tc.wantRawUsed {
					t.Errorf("replicas %d usage %d err %v; want %d, %d", got, used, err, tc.want, tc.wantRawUsed)
				}
				return
			}
			got, util, raw, err := c.ResourceReplicas(tc.current, tc.target, core.ResourceCPU, pods, m, "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || util != tc.wantUtil || raw != tc.wantRaw {
				t.Errorf("replicas %d utilization %d raw %d; want %d, %d, %d", got, util, raw, tc.want, tc.wantUtil, tc.wantRaw)
			}
		})
	}
}

func TestReplicaCalculatorNoPodsNoMetrics(t *testing.T) {
	c := &Calculator{}
	if _, _, _, err := c.ResourceReplicas(1, 50, core.ResourceCPU, nil, PodMetrics{}, ""); err == nil || err.Error() != errNoPods.Error() {
		t.Errorf("no pods: %v", err)
	}
	pending := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p"}, Status: core.PodStatus{Phase: core.PodPending}}
	if _, _, _, err := c.ResourceReplicas(1, 50, core.ResourceCPU, []*core.Pod{pending}, PodMetrics{"p": {Value: 5}}, ""); err == nil || err.Error() != errNoMetrics.Error() {
		t.Errorf("only unready pods: %v", err)
	}
}
