package podautoscaler

import (
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/autoscaling"
)

func rules(window int32, sel autoscaling.ScalingPolicySelect, policies ...autoscaling.HPAScalingPolicy) *autoscaling.HPAScalingRules {
	return &autoscaling.HPAScalingRules{StabilizationWindowSeconds: &window, SelectPolicy: &sel, Policies: policies}
}

func pods(n, period int32) autoscaling.HPAScalingPolicy {
	return autoscaling.HPAScalingPolicy{Type: autoscaling.PodsScalingPolicy, Value: n, PeriodSeconds: period}
}

func percent(n, period int32) autoscaling.HPAScalingPolicy {
	return autoscaling.HPAScalingPolicy{Type: autoscaling.PercentScalingPolicy, Value: n, PeriodSeconds: period}
}

func TestBehavior(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	defaultUp := rules(0, autoscaling.MaxChangePolicySelect, pods(4, 15), percent(100, 15))
	defaultDown := rules(300, autoscaling.MaxChangePolicySelect, percent(100, 15))

	t.Run("default scale-up rate: the larger of +4 pods and +100 %", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		got, reason, _ := m.limitByRate("k", 1, 10, 1, 20, defaultUp, defaultDown)
		if got != 5 || reason != "ScaleUpLimit" {
			t.Errorf("1→10: %d %s, want 5 ScaleUpLimit", got, reason)
		}
		got, _, _ = m.limitByRate("k", 8, 30, 1, 20, defaultUp, defaultDown)
		if got != 16 {
			t.Errorf("8→30: %d, want 16 (+100 %%)", got)
		}
		got, reason, _ = m.limitByRate("k", 16, 30, 1, 20, defaultUp, defaultDown)
		if got != 20 || reason != "TooManyReplicas" {
			t.Errorf("16→30 with max 20: %d %s", got, reason)
		}
	})
	t.Run("a scale-up spends the period's budget", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		b := &autoscaling.HorizontalPodAutoscalerBehavior{ScaleUp: rules(0, autoscaling.MaxChangePolicySelect, pods(2, 60)), ScaleDown: defaultDown}
		m.storeScaleEvent("k", b, 2, 4)
		if got, _, _ := m.limitByRate("k", 4, 10, 1, 20, b.ScaleUp, b.ScaleDown); got != 4 {
			t.Errorf("within the period: %d, want 4 (2 of 2 pods already added)", got)
		}
		now = now.Add(61 * time.Second)
		if got, _, _ := m.limitByRate("k", 4, 10, 1, 20, b.ScaleUp, b.ScaleDown); got != 6 {
			t.Errorf("after the period: %d, want 6", got)
		}
	})
	t.Run("selectPolicy Min and Disabled", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		minUp := rules(0, autoscaling.MinChangePolicySelect, pods(4, 15), percent(100, 15))
		if got, _, _ := m.limitByRate("k", 10, 40, 1, 100, minUp, defaultDown); got != 14 {
			t.Errorf("Min of +4 and +100 %%: %d, want 14", got)
		}
		off := rules(0, autoscaling.DisabledPolicySelect, pods(4, 15))
		if got, _, _ := m.limitByRate("k", 10, 1, 1, 100, defaultUp, off); got != 10 {
			t.Errorf("scale-down disabled: %d, want 10", got)
		}
	})
	t.Run("scale-down stabilization: the highest recommendation of the window", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		down := rules(60, autoscaling.MaxChangePolicySelect, percent(100, 15))
		m.recordInitial("k", 5)
		got, reason, _ := m.stabilizeWithBehavior("k", 5, 2, defaultUp, down)
		if got != 5 || reason != "ScaleDownStabilized" {
			t.Errorf("right after 5: %d %s", got, reason)
		}
		now = now.Add(30 * time.Second)
		if got, _, _ := m.stabilizeWithBehavior("k", 5, 1, defaultUp, down); got != 5 {
			t.Errorf("30s later: %d, want 5", got)
		}
		now = now.Add(20 * time.Second)
		if got, _, _ := m.stabilizeWithBehavior("k", 5, 3, defaultUp, down); got != 5 {
			t.Errorf("50s later: %d, want 5", got)
		}
		now = now.Add(11 * time.Second) // the 5 and the 2 (at 0s) are out of the window; the 1 (30s) and the 3 (50s) are in
		if got, _, _ := m.stabilizeWithBehavior("k", 5, 1, defaultUp, down); got != 3 {
			t.Errorf("61s later: %d, want 3", got)
		}
	})
	t.Run("scale-up stabilization: the lowest recommendation of the window", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		up := rules(60, autoscaling.MaxChangePolicySelect, percent(100, 15))
		m.recordInitial("k", 2)
		if got, reason, _ := m.stabilizeWithBehavior("k", 2, 8, up, defaultDown); got != 2 || reason != "ScaleUpStabilized" {
			t.Errorf("%d %s, want 2 ScaleUpStabilized", got, reason)
		}
	})
	t.Run("without behavior: 5m window, at most double or 4", func(t *testing.T) {
		m := newMemory(clock, 5*time.Minute)
		m.recordInitial("k", 6)
		if got := m.stabilize("k", 3); got != 6 {
			t.Errorf("stabilized %d, want 6", got)
		}
		if got, reason, _ := limitByRules(2, 10, 1, 20); got != 4 || reason != "ScaleUpLimit" {
			t.Errorf("2→10: %d %s", got, reason)
		}
		if got, reason, _ := limitByRules(3, 1, 2, 20); got != 2 || reason != "TooFewReplicas" {
			t.Errorf("3→1 with min 2: %d %s", got, reason)
		}
		if got, reason, _ := limitByRules(3, 3, 1, 20); got != 3 || reason != "DesiredWithinRange" {
			t.Errorf("3→3: %d %s", got, reason)
		}
	})
}
