package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func TestValidateHorizontalPodAutoscaler(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	valid := func() *autoscaling.HorizontalPodAutoscaler {
		return &autoscaling.HorizontalPodAutoscaler{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: autoscaling.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscaling.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    i32(1), MaxReplicas: 5,
				Metrics: []autoscaling.MetricSpec{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
					Name: core.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: i32(50)}}}},
			}}
	}
	zero := resource.MustParse("0")
	tests := []struct {
		name   string
		change func(*autoscaling.HorizontalPodAutoscaler)
		want   string
	}{
		{"valid", func(*autoscaling.HorizontalPodAutoscaler) {}, ""},
		{"minReplicas 0", func(h *autoscaling.HorizontalPodAutoscaler) { h.Spec.MinReplicas = i32(0) },
			"spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"},
		{"maxReplicas below min", func(h *autoscaling.HorizontalPodAutoscaler) { h.Spec.MinReplicas, h.Spec.MaxReplicas = i32(3), 2 },
			"spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"},
		{"no target kind", func(h *autoscaling.HorizontalPodAutoscaler) { h.Spec.ScaleTargetRef.Kind = "" },
			"spec.scaleTargetRef.kind: Required value"},
		{"both utilization and value", func(h *autoscaling.HorizontalPodAutoscaler) {
			q := resource.MustParse("100m")
			h.Spec.Metrics[0].Resource.Target.AverageValue = &q
		}, "spec.metrics[0].resource.target.averageValue: Forbidden: may not set both a target raw value and a target utilization"},
		{"utilization 0", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target.AverageUtilization = i32(0)
		},
			"spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"},
		{"average value 0", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Resource.Target = autoscaling.MetricTarget{Type: autoscaling.AverageValueMetricType, AverageValue: &zero}
		}, "spec.metrics[0].resource.target.averageValue: Invalid value: \"0\": must be positive"},
		{"resource source missing", func(h *autoscaling.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Resource = nil },
			"spec.metrics[0].resource: Required value: must populate information for the given metric source"},
		{"two sources", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Metrics[0].Pods = &autoscaling.PodsMetricSource{Metric: autoscaling.MetricIdentifier{Name: "qps"}}
		}, "spec.metrics[0].pods: Forbidden: must populate the given metric source only"},
		{"unknown type", func(h *autoscaling.HorizontalPodAutoscaler) { h.Spec.Metrics[0].Type = "Magic" },
			`spec.metrics[0].type: Unsupported value: "Magic": supported values: "ContainerResource", "External", "Object", "Pods", "Resource"`},
		{"no policies", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscaling.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscaling.HPAScalingRules{}}
		}, "spec.behavior.scaleDown.policies: Required value: must specify at least one Policy"},
		{"window too long", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscaling.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscaling.HPAScalingRules{StabilizationWindowSeconds: i32(3601),
				Policies: []autoscaling.HPAScalingPolicy{{Type: autoscaling.PodsScalingPolicy, Value: 1, PeriodSeconds: 1801}}}}
		}, "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 3601: must be less than or equal to 3600"},
		{"period too long", func(h *autoscaling.HorizontalPodAutoscaler) {
			h.Spec.Behavior = &autoscaling.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscaling.HPAScalingRules{
				Policies: []autoscaling.HPAScalingPolicy{{Type: autoscaling.PodsScalingPolicy, Value: 1, PeriodSeconds: 1801}}}}
		}, "spec.behavior.scaleUp.policies[0].periodSeconds: Invalid value: 1801: must be less than or equal to 1800"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := valid()
			tc.change(h)
			errs := Validate(h, true)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("errors: %v", errs)
				}
				return
			}
			var all []string
			for _, e := range errs {
				all = append(all, e.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Errorf("want %q in:\n%s", tc.want, strings.Join(all, "\n"))
			}
		})
	}
}
