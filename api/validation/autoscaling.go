package validation

import (
	"fmt"
	"slices"

	"github.com/skiff-sh/skiff/api/autoscaling"
	autoscalingv1 "github.com/skiff-sh/skiff/api/autoscaling/v1"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Kubernetes' bounds on an autoscaler's behavior.
const (
	hpaMaxPeriodSeconds              int32 = 1800
	hpaMaxStabilizationWindowSeconds int32 = 3600
)

var (
	hpaSelectPolicies    = []string{string(autoscaling.DisabledPolicySelect), string(autoscaling.MaxChangePolicySelect), string(autoscaling.MinChangePolicySelect)}
	hpaPolicyTypes       = []string{string(autoscaling.PercentScalingPolicy), string(autoscaling.PodsScalingPolicy)}
	hpaMetricSourceTypes = []string{string(autoscaling.ContainerResourceMetricSourceType), string(autoscaling.ExternalMetricSourceType),
		string(autoscaling.ObjectMetricSourceType), string(autoscaling.PodsMetricSourceType), string(autoscaling.ResourceMetricSourceType)}
)

// validateHorizontalPodAutoscaler is Kubernetes' ValidateHorizontalPodAutoscaler (minReplicas'
// lower bound is 1: scaling to zero is behind the HPAScaleToZero gate, off by default).
func validateHorizontalPodAutoscaler(hpa *autoscaling.HorizontalPodAutoscaler) field.ErrorList {
	errs := ValidateObjectMeta(&hpa.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, p := hpa.Spec, field.NewPath("spec")
	errs = append(errs, validateReplicaBounds(spec.MinReplicas, spec.MaxReplicas, p)...)
	errs = append(errs, validateCrossVersionObjectReference(spec.ScaleTargetRef, p.Child("scaleTargetRef"))...)
	for i, m := range spec.Metrics {
		errs = append(errs, validateMetricSpec(m, p.Child("metrics").Index(i))...)
	}
	if b := spec.Behavior; b != nil {
		errs = append(errs, validateScalingRules(b.ScaleUp, p.Child("behavior", "scaleUp"))...)
		errs = append(errs, validateScalingRules(b.ScaleDown, p.Child("behavior", "scaleDown"))...)
	}
	errs = append(errs, ValidateNonnegativeField(int64(hpa.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))...)
	return append(errs, ValidateNonnegativeField(int64(hpa.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...)
}

func validateCrossVersionObjectReference(ref autoscaling.CrossVersionObjectReference, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ref.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	} else {
		for _, msg := range nameIsPathSegment(ref.Kind, false) {
			errs = append(errs, field.Invalid(p.Child("kind"), ref.Kind, msg))
		}
	}
	if ref.Name == "" {
		errs = append(errs, field.Required(p.Child("name"), ""))
	} else {
		for _, msg := range nameIsPathSegment(ref.Name, false) {
			errs = append(errs, field.Invalid(p.Child("name"), ref.Name, msg))
		}
	}
	return errs
}

func validateScalingRules(r *autoscaling.HPAScalingRules, p *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	if w := r.StabilizationWindowSeconds; w != nil && *w < 0 {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, "must be greater than or equal to zero"))
	}
	if w := r.StabilizationWindowSeconds; w != nil && *w > hpaMaxStabilizationWindowSeconds {
		errs = append(errs, field.Invalid(p.Child("stabilizationWindowSeconds"), *w, fmt.Sprintf("must be less than or equal to %v", hpaMaxStabilizationWindowSeconds)))
	}
	if s := r.SelectPolicy; s != nil && !slices.Contains(hpaSelectPolicies, string(*s)) {
		errs = append(errs, field.NotSupported(p.Child("selectPolicy"), *s, hpaSelectPolicies))
	}
	if len(r.Policies) == 0 {
		errs = append(errs, field.Required(p.Child("policies"), "must specify at least one Policy"))
	}
	for i, pol := range r.Policies {
		ip := p.Child("policies").Index(i)
		if !slices.Contains(hpaPolicyTypes, string(pol.Type)) {
			errs = append(errs, field.NotSupported(ip.Child("type"), pol.Type, hpaPolicyTypes))
		}
		if pol.Value <= 0 {
			errs = append(errs, field.Invalid(ip.Child("value"), pol.Value, "must be greater than zero"))
		}
		if pol.PeriodSeconds <= 0 {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, "must be greater than zero"))
		}
		if pol.PeriodSeconds > hpaMaxPeriodSeconds {
			errs = append(errs, field.Invalid(ip.Child("periodSeconds"), pol.PeriodSeconds, fmt.Sprintf("must be less than or equal to %v", hpaMaxPeriodSeconds)))
		}
	}
	return errs
}

func validateMetricSpec(m autoscaling.MetricSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if m.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric source type"))
	}
	if !slices.Contains(hpaMetricSourceTypes, string(m.Type)) {
		errs = append(errs, field.NotSupported(p.Child("type"), m.Type, hpaMetricSourceTypes))
	}
	// Only the first source present is validated; the others are refused below.
	var present []string
	first := func(name string) bool { present = append(present, name); return len(present) == 1 }
	if m.Object != nil && first("object") {
		s := m.Object
		errs = append(errs, validateCrossVersionObjectReference(s.DescribedObject, p.Child("object", "describedObject"))...)
		errs = append(errs, validateMetricIdentifier(s.Metric, p.Child("object", "metric"))...)
		errs = append(errs, validateMetricTarget(s.Target, p.Child("object", "target"))...)
		if s.Target.Value == nil && s.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("object", "target", "averageValue"), "must set either a target value or averageValue"))
		}
	}
	if m.External != nil && first("external") {
		s := m.External
		errs = append(errs, validateMetricIdentifier(s.Metric, p.Child("external", "metric"))...)
		errs = append(errs, validateMetricTarget(s.Target, p.Child("external", "target"))...)
		if s.Target.Value == nil && s.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("external", "target", "averageValue"), "must set either a target value for metric or a per-pod target"))
		}
		if s.Target.Value != nil && s.Target.AverageValue != nil {
			errs = append(errs, field.Forbidden(p.Child("external", "target", "value"), "may not set both a target value for metric and a per-pod target"))
		}
	}
	if m.Pods != nil && first("pods") {
		s := m.Pods
		errs = append(errs, validateMetricIdentifier(s.Metric, p.Child("pods", "metric"))...)
		errs = append(errs, validateMetricTarget(s.Target, p.Child("pods", "target"))...)
		if s.Target.AverageValue == nil {
			errs = append(errs, field.Required(p.Child("pods", "target", "averageValue"), "must specify a positive target averageValue"))
		}
	}
	if m.Resource != nil && first("resource") {
		s := m.Resource
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("resource", "name"), "must specify a resource name"))
		}
		errs = append(errs, validateResourceTarget(s.Target, p.Child("resource", "target"))...)
	}
	if m.ContainerResource != nil && first("containerResource") {
		s := m.ContainerResource
		if s.Name == "" {
			errs = append(errs, field.Required(p.Child("containerResource", "name"), "must specify a resource name"))
		}
		if s.Container == "" {
			errs = append(errs, field.Required(p.Child("containerResource", "container"), "must specify a container"))
		} else {
			errs = append(errs, validateDNS1123Label(s.Container, p.Child("containerResource", "container"))...)
		}
		errs = append(errs, validateResourceTarget(s.Target, p.Child("containerResource", "target"))...)
	}
	expected := map[autoscaling.MetricSourceType]string{
		autoscaling.ObjectMetricSourceType: "object", autoscaling.PodsMetricSourceType: "pods", autoscaling.ResourceMetricSourceType: "resource",
		autoscaling.ExternalMetricSourceType: "external", autoscaling.ContainerResourceMetricSourceType: "containerResource",
	}[m.Type]
	if expected != "" && !slices.Contains(present, expected) {
		errs = append(errs, field.Required(p.Child(expected), "must populate information for the given metric source"))
	}
	if len(present) != 1 {
		for _, typ := range present {
			if typ != expected {
				errs = append(errs, field.Forbidden(p.Child(typ), "must populate the given metric source only"))
			}
		}
	}
	return errs
}

// validateResourceTarget: a resource metric's target is a utilization or an average value.
func validateResourceTarget(t autoscaling.MetricTarget, p *field.Path) field.ErrorList {
	errs := validateMetricTarget(t, p)
	if t.AverageUtilization == nil && t.AverageValue == nil {
		errs = append(errs, field.Required(p.Child("averageUtilization"), "must set either a target raw value or a target utilization"))
	}
	if t.AverageUtilization != nil && t.AverageValue != nil {
		errs = append(errs, field.Forbidden(p.Child("averageValue"), "may not set both a target raw value and a target utilization"))
	}
	return errs
}

func validateMetricTarget(t autoscaling.MetricTarget, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if t.Type == "" {
		errs = append(errs, field.Required(p.Child("type"), "must specify a metric target type"))
	}
	if t.Type != autoscaling.UtilizationMetricType && t.Type != autoscaling.ValueMetricType && t.Type != autoscaling.AverageValueMetricType {
		errs = append(errs, field.Invalid(p.Child("type"), t.Type, "must be either Utilization, Value, or AverageValue"))
	}
	if t.Value != nil && t.Value.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("value"), t.Value.String(), "must be positive"))
	}
	if t.AverageValue != nil && t.AverageValue.Sign() != 1 {
		errs = append(errs, field.Invalid(p.Child("averageValue"), t.AverageValue.String(), "must be positive"))
	}
	if t.AverageUtilization != nil && *t.AverageUtilization < 1 {
		errs = append(errs, field.Invalid(p.Child("averageUtilization"), *t.AverageUtilization, "must be greater than 0"))
	}
	return errs
}

func validateMetricIdentifier(id autoscaling.MetricIdentifier, p *field.Path) field.ErrorList {
	if id.Name == "" {
		return field.ErrorList{field.Required(p.Child("name"), "must specify a metric name")}
	}
	var errs field.ErrorList
	for _, msg := range nameIsPathSegment(id.Name, false) {
		errs = append(errs, field.Invalid(p.Child("name"), id.Name, msg))
	}
	return errs
}

// validateReplicaBounds: minReplicas (when set) and maxReplicas, in every served version.
func validateReplicaBounds(minReplicas *int32, maxReplicas int32, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if minReplicas != nil && *minReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("minReplicas"), *minReplicas, "must be greater than or equal to 1"))
	}
	if maxReplicas < 1 {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), maxReplicas, "must be greater than 0"))
	}
	if minReplicas != nil && maxReplicas < *minReplicas {
		errs = append(errs, field.Invalid(p.Child("maxReplicas"), maxReplicas, "must be greater than or equal to `minReplicas`"))
	}
	return errs
}

// validateHorizontalPodAutoscalerV1 checks an autoscaling/v1 autoscaler with the same rules
// as v2, naming its own fields (spec.targetCPUUtilizationPercentage), so a v1 client's error
// points at what it sent.
func validateHorizontalPodAutoscalerV1(hpa *autoscalingv1.HorizontalPodAutoscaler) field.ErrorList {
	errs := ValidateObjectMeta(&hpa.ObjectMeta, true, NameIsDNSSubdomain, field.NewPath("metadata"))
	spec, p := hpa.Spec, field.NewPath("spec")
	errs = append(errs, validateReplicaBounds(spec.MinReplicas, spec.MaxReplicas, p)...)
	errs = append(errs, validateCrossVersionObjectReference(spec.ScaleTargetRef, p.Child("scaleTargetRef"))...)
	if t := spec.TargetCPUUtilizationPercentage; t != nil && *t < 1 {
		errs = append(errs, field.Invalid(p.Child("targetCPUUtilizationPercentage"), *t, "must be greater than 0"))
	}
	errs = append(errs, ValidateNonnegativeField(int64(hpa.Status.CurrentReplicas), field.NewPath("status", "currentReplicas"))...)
	return append(errs, ValidateNonnegativeField(int64(hpa.Status.DesiredReplicas), field.NewPath("status", "desiredReplicas"))...)
}
