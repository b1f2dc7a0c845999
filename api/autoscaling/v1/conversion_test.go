package v1

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func q(s string) *resource.Quantity { v := resource.MustParse(s); return &v }

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A v2 autoscaler with every kind of metric, status and conditions goes to v1 and back
// unchanged: what v1 has no field for travels in the annotations.
func TestV2ToV1ToV2RoundTrip(t *testing.T) {
	util := int32(60)
	sel := &meta.LabelSelector{MatchLabels: map[string]string{"q": "a"}}
	ref := autoscaling.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	in := &autoscaling.HorizontalPodAutoscaler{
		TypeMeta:   meta.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default", Annotations: map[string]string{"team": "a"}},
		Spec: autoscaling.HorizontalPodAutoscalerSpec{ScaleTargetRef: ref, MinReplicas: ptr(int32(2)), MaxReplicas: 9, Metrics: []autoscaling.MetricSpec{
			{Type: autoscaling.PodsMetricSourceType, Pods: &autoscaling.PodsMetricSource{Metric: autoscaling.MetricIdentifier{Name: "qps", Selector: sel},
				Target: autoscaling.MetricTarget{Type: autoscaling.AverageValueMetricType, AverageValue: q("10")}}},
			{Type: autoscaling.ObjectMetricSourceType, Object: &autoscaling.ObjectMetricSource{DescribedObject: ref, Metric: autoscaling.MetricIdentifier{Name: "hits"},
				Target: autoscaling.MetricTarget{Type: autoscaling.ValueMetricType, Value: q("5")}}},
			{Type: autoscaling.ExternalMetricSourceType, External: &autoscaling.ExternalMetricSource{Metric: autoscaling.MetricIdentifier{Name: "queue"},
				Target: autoscaling.MetricTarget{Type: autoscaling.AverageValueMetricType, AverageValue: q("30")}}},
			{Type: autoscaling.ContainerResourceMetricSourceType, ContainerResource: &autoscaling.ContainerResourceMetricSource{Name: core.ResourceMemory, Container: "app",
				Target: autoscaling.MetricTarget{Type: autoscaling.AverageValueMetricType, AverageValue: q("1Gi")}}},
			{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{Name: core.ResourceCPU,
				Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: &util}}},
		}},
		Status: autoscaling.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 4,
			CurrentMetrics: []autoscaling.MetricStatus{{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricStatus{Name: core.ResourceCPU,
				Current: autoscaling.MetricValueStatus{AverageUtilization: ptr(int32(75)), AverageValue: q("150m")}}}},
			Conditions: []autoscaling.HorizontalPodAutoscalerCondition{{Type: autoscaling.AbleToScale, Status: core.ConditionTrue, Reason: "ReadyForNewScale"}}},
	}
	before := jsonOf(t, in)
	v1, err := FromV2(in)
	if err != nil {
		t.Fatal(err)
	}
	if jsonOf(t, in) != before {
		t.Fatal("FromV2 modified its input")
	}
	if v1.Spec.TargetCPUUtilizationPercentage == nil || *v1.Spec.TargetCPUUtilizationPercentage != 60 ||
		v1.Status.CurrentCPUUtilizationPercentage == nil || *v1.Status.CurrentCPUUtilizationPercentage != 75 {
		t.Errorf("v1 fields: spec %+v status %+v", v1.Spec, v1.Status)
	}
	for _, a := range []string{MetricSpecsAnnotation, MetricStatusesAnnotation, ConditionsAnnotation, "team"} {
		if v1.Annotations[a] == "" {
			t.Errorf("annotation %s missing: %v", a, v1.Annotations)
		}
	}
	if want := `[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10","selector":{"matchLabels":{"q":"a"}}}},`; v1.Annotations[MetricSpecsAnnotation][:len(want)] != want {
		t.Errorf("metrics annotation = %s", v1.Annotations[MetricSpecsAnnotation])
	}
	back, err := ToV2(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonOf(t, back); got != before {
		t.Errorf("round trip:\n got %s\nwant %s", got, before)
	}
}

// A v1 autoscaler goes to v2 and back unchanged; without a CPU target v2 gets the 80 % default
// that v1 always had, and v1 then shows it.
func TestV1ToV2ToV1RoundTrip(t *testing.T) {
	in := &HorizontalPodAutoscaler{
		TypeMeta:   meta.TypeMeta{APIVersion: APIVersion, Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscaling.CrossVersionObjectReference{Kind: "Deployment", Name: "web"},
			MinReplicas: ptr(int32(1)), MaxReplicas: 5, TargetCPUUtilizationPercentage: ptr(int32(50))},
		Status: HorizontalPodAutoscalerStatus{CurrentReplicas: 2, DesiredReplicas: 3, CurrentCPUUtilizationPercentage: ptr(int32(120))},
	}
	v2, err := ToV2(in)
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromV2(v2)
	if err != nil {
		t.Fatal(err)
	}
	// The current CPU metric comes back in the annotation too (Kubernetes keeps its raw value).
	delete(back.Annotations, MetricStatusesAnnotation)
	if len(back.Annotations) == 0 {
		back.Annotations = nil
	}
	if !reflect.DeepEqual(back, in) {
		t.Errorf("round trip:\n got %s\nwant %s", jsonOf(t, back), jsonOf(t, in))
	}

	in.Spec.TargetCPUUtilizationPercentage = nil
	v2, _ = ToV2(in)
	if len(v2.Spec.Metrics) != 1 || *v2.Spec.Metrics[0].Resource.Target.AverageUtilization != DefaultCPUUtilization {
		t.Errorf("no target: v2 metrics %s, want the 80%% CPU default", jsonOf(t, v2.Spec.Metrics))
	}
}

// A malformed annotation is an error, not a silently lost metric.
func TestMalformedAnnotation(t *testing.T) {
	in := &HorizontalPodAutoscaler{ObjectMeta: meta.ObjectMeta{Annotations: map[string]string{MetricSpecsAnnotation: "{not json"}}}
	if _, err := ToV2(in); err == nil {
		t.Error("ToV2 accepted a malformed metrics annotation")
	}
}
