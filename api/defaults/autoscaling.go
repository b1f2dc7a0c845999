package defaults

import (
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
)

// HorizontalPodAutoscaler is Kubernetes' SetDefaults_HorizontalPodAutoscaler (autoscaling/v2):
// minReplicas 1, an 80 % CPU utilization target when no metric is given, and a given
// behavior completed rule by rule from the defaults (scale up: no stabilization, the larger
// of 4 pods or 100 % per 15s; scale down: the controller's 300s window, 100 % per 15s).
func HorizontalPodAutoscaler(h *autoscaling.HorizontalPodAutoscaler) {
	if h.Spec.MinReplicas == nil {
		h.Spec.MinReplicas = ptr(int32(1))
	}
	if len(h.Spec.Metrics) == 0 {
		h.Spec.Metrics = []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
			Name: core.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: ptr(int32(80))}}}}
	}
	if b := h.Spec.Behavior; b != nil {
		b.ScaleUp = completeScalingRules(b.ScaleUp, DefaultHPAScaleUpRules())
		b.ScaleDown = completeScalingRules(b.ScaleDown, DefaultHPAScaleDownRules())
	}
}

// DefaultHPAScaleUpRules are the scale-up rules of an autoscaler without behavior.
func DefaultHPAScaleUpRules() *autoscaling.HPAScalingRules {
	maxPolicy := autoscaling.MaxChangePolicySelect
	return &autoscaling.HPAScalingRules{StabilizationWindowSeconds: ptr(int32(0)), SelectPolicy: &maxPolicy,
		Policies: []autoscaling.HPAScalingPolicy{
			{Type: autoscaling.PodsScalingPolicy, Value: 4, PeriodSeconds: 15},
			{Type: autoscaling.PercentScalingPolicy, Value: 100, PeriodSeconds: 15},
		}}
}

// DefaultHPAScaleDownRules are the scale-down rules of an autoscaler without behavior (the
// stabilization window is left unset: the controller's default, 300s, applies).
func DefaultHPAScaleDownRules() *autoscaling.HPAScalingRules {
	maxPolicy := autoscaling.MaxChangePolicySelect
	return &autoscaling.HPAScalingRules{SelectPolicy: &maxPolicy,
		Policies: []autoscaling.HPAScalingPolicy{{Type: autoscaling.PercentScalingPolicy, Value: 100, PeriodSeconds: 15}}}
}

func completeScalingRules(from, to *autoscaling.HPAScalingRules) *autoscaling.HPAScalingRules {
	if from == nil {
		return to
	}
	if from.SelectPolicy != nil {
		to.SelectPolicy = from.SelectPolicy
	}
	if from.Policies != nil {
		to.Policies = from.Policies
	}
	if from.StabilizationWindowSeconds != nil {
		to.StabilizationWindowSeconds = from.StabilizationWindowSeconds
	}
	return to
}
