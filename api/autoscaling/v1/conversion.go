package v1

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// isCPUUtilization: the one metric autoscaling/v1 has a field for.
func isCPUUtilization(m autoscaling.MetricSpec) bool {
	return m.Type == autoscaling.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == core.ResourceCPU &&
		m.Resource.Target.AverageUtilization != nil
}

// FromV2 is the stored (autoscaling/v2) autoscaler as autoscaling/v1 serves it: the CPU
// utilization target and current value in their fields; the other metrics, every current
// metric and the conditions in annotations (behavior has no v1 form and is not carried, as in
// Kubernetes). in is not modified.
func FromV2(in *autoscaling.HorizontalPodAutoscaler) (*HorizontalPodAutoscaler, error) {
	out := &HorizontalPodAutoscaler{
		TypeMeta:   meta.TypeMeta{APIVersion: APIVersion, Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: in.ObjectMeta,
		Spec: HorizontalPodAutoscalerSpec{ScaleTargetRef: in.Spec.ScaleTargetRef,
			MinReplicas: in.Spec.MinReplicas, MaxReplicas: in.Spec.MaxReplicas},
		Status: HorizontalPodAutoscalerStatus{ObservedGeneration: in.Status.ObservedGeneration, LastScaleTime: in.Status.LastScaleTime,
			CurrentReplicas: in.Status.CurrentReplicas, DesiredReplicas: in.Status.DesiredReplicas},
	}
	for _, m := range in.Spec.Metrics {
		if m.Type == autoscaling.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == core.ResourceCPU {
			if u := m.Resource.Target.AverageUtilization; u != nil {
				out.Spec.TargetCPUUtilizationPercentage = ptr(*u)
			}
			break
		}
	}
	for _, m := range in.Status.CurrentMetrics {
		if m.Type == autoscaling.ResourceMetricSourceType && m.Resource != nil && m.Resource.Name == core.ResourceCPU && m.Resource.Current.AverageUtilization != nil {
			out.Status.CurrentCPUUtilizationPercentage = ptr(*m.Resource.Current.AverageUtilization)
		}
	}

	var others []MetricSpec
	for _, m := range in.Spec.Metrics {
		if !isCPUUtilization(m) {
			others = append(others, metricSpecFromV2(m))
		}
	}
	current := make([]MetricStatus, len(in.Status.CurrentMetrics))
	for i, m := range in.Status.CurrentMetrics {
		current[i] = metricStatusFromV2(m)
	}
	// The annotations are the converter's: whatever a stored object carries under their
	// names is replaced (Kubernetes' DropRoundTripHorizontalPodAutoscalerAnnotations).
	annotations := dropRoundTrip(in.Annotations)
	if len(others) > 0 || len(current) > 0 || len(in.Status.Conditions) > 0 {
		annotations = maps.Clone(annotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		for key, v := range map[string]any{MetricSpecsAnnotation: others, MetricStatusesAnnotation: current, ConditionsAnnotation: in.Status.Conditions} {
			if n := lenOf(v); n == 0 {
				continue
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			annotations[key] = string(b)
		}
	}
	out.Annotations = annotations
	return out, nil
}

// ToV2 is an autoscaling/v1 autoscaler as it is stored: the annotations FromV2 wrote are read
// back into fields and removed; without any metric the autoscaler targets 80 % CPU, the
// default autoscaling/v1 always had. in is not modified.
func ToV2(in *HorizontalPodAutoscaler) (*autoscaling.HorizontalPodAutoscaler, error) {
	out := &autoscaling.HorizontalPodAutoscaler{
		TypeMeta:   meta.TypeMeta{APIVersion: autoscaling.GroupName + "/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: in.ObjectMeta,
		Spec: autoscaling.HorizontalPodAutoscalerSpec{ScaleTargetRef: in.Spec.ScaleTargetRef,
			MinReplicas: in.Spec.MinReplicas, MaxReplicas: in.Spec.MaxReplicas},
		Status: autoscaling.HorizontalPodAutoscalerStatus{ObservedGeneration: in.Status.ObservedGeneration, LastScaleTime: in.Status.LastScaleTime,
			CurrentReplicas: in.Status.CurrentReplicas, DesiredReplicas: in.Status.DesiredReplicas},
	}
	if t := in.Spec.TargetCPUUtilizationPercentage; t != nil {
		out.Spec.Metrics = []autoscaling.MetricSpec{cpuTarget(*t)}
	}
	if c := in.Status.CurrentCPUUtilizationPercentage; c != nil {
		out.Status.CurrentMetrics = []autoscaling.MetricStatus{{Type: autoscaling.ResourceMetricSourceType,
			Resource: &autoscaling.ResourceMetricStatus{Name: core.ResourceCPU, Current: autoscaling.MetricValueStatus{AverageUtilization: ptr(*c)}}}}
	}
	a := in.Annotations
	if enc, ok := a[MetricSpecsAnnotation]; ok {
		var others []MetricSpec
		if err := json.Unmarshal([]byte(enc), &others); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", MetricSpecsAnnotation, err)
		}
		metrics := make([]autoscaling.MetricSpec, 0, len(others)+1)
		for _, m := range others {
			metrics = append(metrics, metricSpecToV2(m))
		}
		out.Spec.Metrics = append(metrics, out.Spec.Metrics...) // the CPU target last, as Kubernetes orders them
	}
	if enc, ok := a[MetricStatusesAnnotation]; ok {
		// The annotation has more than currentCPUUtilizationPercentage: it wins.
		var current []MetricStatus
		if err := json.Unmarshal([]byte(enc), &current); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", MetricStatusesAnnotation, err)
		}
		out.Status.CurrentMetrics = make([]autoscaling.MetricStatus, len(current))
		for i, m := range current {
			out.Status.CurrentMetrics[i] = metricStatusToV2(m)
		}
	}
	if len(out.Spec.Metrics) == 0 {
		out.Spec.Metrics = []autoscaling.MetricSpec{cpuTarget(DefaultCPUUtilization)}
	}
	if enc, ok := a[ConditionsAnnotation]; ok {
		if err := json.Unmarshal([]byte(enc), &out.Status.Conditions); err != nil {
			return nil, fmt.Errorf("annotation %s: %w", ConditionsAnnotation, err)
		}
	}
	out.Annotations = dropRoundTrip(a)
	return out, nil
}

// dropRoundTrip is annotations without the converter's (a copy when there were any).
func dropRoundTrip(a map[string]string) map[string]string {
	_, m := a[MetricSpecsAnnotation]
	_, s := a[MetricStatusesAnnotation]
	_, c := a[ConditionsAnnotation]
	if !m && !s && !c {
		return a
	}
	a = maps.Clone(a)
	delete(a, MetricSpecsAnnotation)
	delete(a, MetricStatusesAnnotation)
	delete(a, ConditionsAnnotation)
	if len(a) == 0 {
		return nil
	}
	return a
}

func lenOf(v any) int {
	switch s := v.(type) {
	case []MetricSpec:
		return len(s)
	case []MetricStatus:
		return len(s)
	case []autoscaling.HorizontalPodAutoscalerCondition:
		return len(s)
	}
	return 0
}

func cpuTarget(percent int32) autoscaling.MetricSpec {
	return autoscaling.MetricSpec{Type: autoscaling.ResourceMetricSourceType, Resource: &autoscaling.ResourceMetricSource{
		Name: core.ResourceCPU, Target: autoscaling.MetricTarget{Type: autoscaling.UtilizationMetricType, AverageUtilization: ptr(percent)}}}
}

func ptr[T any](v T) *T { return &v }

func deref(q *resource.Quantity) resource.Quantity {
	if q == nil {
		return resource.Quantity{}
	}
	return *q
}

func metricSpecFromV2(in autoscaling.MetricSpec) MetricSpec {
	out := MetricSpec{Type: in.Type}
	if o := in.Object; o != nil {
		out.Object = &ObjectMetricSource{Target: o.DescribedObject, MetricName: o.Metric.Name, Selector: o.Metric.Selector,
			TargetValue: deref(o.Target.Value), AverageValue: o.Target.AverageValue}
	}
	if p := in.Pods; p != nil {
		out.Pods = &PodsMetricSource{MetricName: p.Metric.Name, Selector: p.Metric.Selector, TargetAverageValue: deref(p.Target.AverageValue)}
	}
	if r := in.Resource; r != nil {
		out.Resource = &ResourceMetricSource{Name: r.Name, TargetAverageUtilization: r.Target.AverageUtilization, TargetAverageValue: r.Target.AverageValue}
	}
	if r := in.ContainerResource; r != nil {
		out.ContainerResource = &ContainerResourceMetricSource{Name: r.Name, Container: r.Container,
			TargetAverageUtilization: r.Target.AverageUtilization, TargetAverageValue: r.Target.AverageValue}
	}
	if e := in.External; e != nil {
		out.External = &ExternalMetricSource{MetricName: e.Metric.Name, MetricSelector: e.Metric.Selector,
			TargetValue: e.Target.Value, TargetAverageValue: e.Target.AverageValue}
	}
	return out
}

// utilizationOrValue is the target type Kubernetes infers from which v1 field is set.
func utilizationOrValue(u *int32) autoscaling.MetricTargetType {
	if u == nil {
		return autoscaling.AverageValueMetricType
	}
	return autoscaling.UtilizationMetricType
}

func metricSpecToV2(in MetricSpec) autoscaling.MetricSpec {
	out := autoscaling.MetricSpec{Type: in.Type}
	if o := in.Object; o != nil {
		t := autoscaling.ValueMetricType
		if o.AverageValue != nil {
			t = autoscaling.AverageValueMetricType
		}
		out.Object = &autoscaling.ObjectMetricSource{DescribedObject: o.Target,
			Metric: autoscaling.MetricIdentifier{Name: o.MetricName, Selector: o.Selector},
			Target: autoscaling.MetricTarget{Type: t, Value: ptr(o.TargetValue), AverageValue: o.AverageValue}}
	}
	if p := in.Pods; p != nil {
		out.Pods = &autoscaling.PodsMetricSource{Metric: autoscaling.MetricIdentifier{Name: p.MetricName, Selector: p.Selector},
			Target: autoscaling.MetricTarget{Type: autoscaling.AverageValueMetricType, AverageValue: ptr(p.TargetAverageValue)}}
	}
	if r := in.Resource; r != nil {
		out.Resource = &autoscaling.ResourceMetricSource{Name: r.Name, Target: autoscaling.MetricTarget{
			Type: utilizationOrValue(r.TargetAverageUtilization), AverageUtilization: r.TargetAverageUtilization, AverageValue: r.TargetAverageValue}}
	}
	if r := in.ContainerResource; r != nil {
		out.ContainerResource = &autoscaling.ContainerResourceMetricSource{Name: r.Name, Container: r.Container, Target: autoscaling.MetricTarget{
			Type: utilizationOrValue(r.TargetAverageUtilization), AverageUtilization: r.TargetAverageUtilization, AverageValue: r.TargetAverageValue}}
	}
	if e := in.External; e != nil {
		t := autoscaling.AverageValueMetricType
		if e.TargetValue != nil {
			t = autoscaling.ValueMetricType
		}
		out.External = &autoscaling.ExternalMetricSource{Metric: autoscaling.MetricIdentifier{Name: e.MetricName, Selector: e.MetricSelector},
			Target: autoscaling.MetricTarget{Type: t, Value: e.TargetValue, AverageValue: e.TargetAverageValue}}
	}
	return out
}

func metricStatusFromV2(in autoscaling.MetricStatus) MetricStatus {
	out := MetricStatus{Type: in.Type}
	if o := in.Object; o != nil {
		out.Object = &ObjectMetricStatus{Target: o.DescribedObject, MetricName: o.Metric.Name, Selector: o.Metric.Selector,
			CurrentValue: deref(o.Current.Value), AverageValue: o.Current.AverageValue}
	}
	if p := in.Pods; p != nil {
		out.Pods = &PodsMetricStatus{MetricName: p.Metric.Name, Selector: p.Metric.Selector, CurrentAverageValue: deref(p.Current.AverageValue)}
	}
	if r := in.Resource; r != nil {
		out.Resource = &ResourceMetricStatus{Name: r.Name, CurrentAverageUtilization: r.Current.AverageUtilization, CurrentAverageValue: deref(r.Current.AverageValue)}
	}
	if r := in.ContainerResource; r != nil {
		out.ContainerResource = &ContainerResourceMetricStatus{Name: r.Name, Container: r.Container,
			CurrentAverageUtilization: r.Current.AverageUtilization, CurrentAverageValue: deref(r.Current.AverageValue)}
	}
	if e := in.External; e != nil {
		out.External = &ExternalMetricStatus{MetricName: e.Metric.Name, MetricSelector: e.Metric.Selector,
			CurrentValue: deref(e.Current.Value), CurrentAverageValue: e.Current.AverageValue}
	}
	return out
}

func metricStatusToV2(in MetricStatus) autoscaling.MetricStatus {
	out := autoscaling.MetricStatus{Type: in.Type}
	if o := in.Object; o != nil {
		out.Object = &autoscaling.ObjectMetricStatus{DescribedObject: o.Target, Metric: autoscaling.MetricIdentifier{Name: o.MetricName, Selector: o.Selector},
			Current: autoscaling.MetricValueStatus{Value: ptr(o.CurrentValue), AverageValue: o.AverageValue}}
	}
	if p := in.Pods; p != nil {
		out.Pods = &autoscaling.PodsMetricStatus{Metric: autoscaling.MetricIdentifier{Name: p.MetricName, Selector: p.Selector},
			Current: autoscaling.MetricValueStatus{AverageValue: ptr(p.CurrentAverageValue)}}
	}
	if r := in.Resource; r != nil {
		out.Resource = &autoscaling.ResourceMetricStatus{Name: r.Name,
			Current: autoscaling.MetricValueStatus{AverageValue: ptr(r.CurrentAverageValue), AverageUtilization: r.CurrentAverageUtilization}}
	}
	if r := in.ContainerResource; r != nil {
		out.ContainerResource = &autoscaling.ContainerResourceMetricStatus{Name: r.Name, Container: r.Container,
			Current: autoscaling.MetricValueStatus{AverageValue: ptr(r.CurrentAverageValue), AverageUtilization: r.CurrentAverageUtilization}}
	}
	if e := in.External; e != nil {
		out.External = &autoscaling.ExternalMetricStatus{Metric: autoscaling.MetricIdentifier{Name: e.MetricName, Selector: e.MetricSelector},
			Current: autoscaling.MetricValueStatus{Value: ptr(e.CurrentValue), AverageValue: e.CurrentAverageValue}}
	}
	return out
}
