// Package v1 is autoscaling/v1's HorizontalPodAutoscaler: a served version of the kind that is
// stored as autoscaling/v2 (api/autoscaling). Its spec has a CPU target only; every other v2
// field travels in the autoscaling.alpha.kubernetes.io/* annotations, as Kubernetes' conversion
// (pkg/apis/autoscaling/v1/conversion.go) carries them, so a v1 client's read-modify-write
// keeps what a v2 client set. The metric types below are only the JSON of those annotations.
//
// Types derived from k8s.io/api v0.33.0 autoscaling/v1 (Apache-2.0): the same JSON and
// protobuf tags; comments shortened.
package v1

import (
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// Version is this package's version of the autoscaling group.
const Version = "v1"

// APIVersion is "autoscaling/v1".
const APIVersion = autoscaling.GroupName + "/" + Version

// The annotations that carry what autoscaling/v1 has no field for.
const (
	MetricSpecsAnnotation    = "autoscaling.alpha.kubernetes.io/metrics"
	MetricStatusesAnnotation = "autoscaling.alpha.kubernetes.io/current-metrics"
	ConditionsAnnotation     = "autoscaling.alpha.kubernetes.io/conditions"
	// DefaultCPUUtilization is the target a v1 autoscaler without one gets.
	DefaultCPUUtilization int32 = 80
)

// HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler.
type HorizontalPodAutoscaler struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// spec defines the behaviour of autoscaler.
	Spec HorizontalPodAutoscalerSpec `json:"spec,omitempty" protobuf:"bytes,2,opt,name=spec"`
	// status is the current information about the autoscaler.
	Status HorizontalPodAutoscalerStatus `json:"status,omitempty" protobuf:"bytes,3,opt,name=status"`
}

// HorizontalPodAutoscalerSpec describes the desired functionality of the HorizontalPodAutoscaler.
type HorizontalPodAutoscalerSpec struct {
	// reference to scaled resource.
	ScaleTargetRef autoscaling.CrossVersionObjectReference `json:"scaleTargetRef" protobuf:"bytes,1,opt,name=scaleTargetRef"`
	// minReplicas is the lower limit for the number of replicas (default 1).
	MinReplicas *int32 `json:"minReplicas,omitempty" protobuf:"varint,2,opt,name=minReplicas"`
	// maxReplicas is the upper limit for the number of pods that can be set by the autoscaler.
	MaxReplicas int32 `json:"maxReplicas" protobuf:"varint,3,opt,name=maxReplicas"`
	// targetCPUUtilizationPercentage is the target average CPU utilization over all the pods.
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty" protobuf:"varint,4,opt,name=targetCPUUtilizationPercentage"`
}

// HorizontalPodAutoscalerStatus is the current status of a horizontal pod autoscaler.
type HorizontalPodAutoscalerStatus struct {
	// observedGeneration is the most recent generation observed by this autoscaler.
	ObservedGeneration *int64 `json:"observedGeneration,omitempty" protobuf:"varint,1,opt,name=observedGeneration"`
	// lastScaleTime is the last time the HorizontalPodAutoscaler scaled the number of pods.
	LastScaleTime *meta.Time `json:"lastScaleTime,omitempty" protobuf:"bytes,2,opt,name=lastScaleTime"`
	// currentReplicas is the current number of replicas of pods managed by this autoscaler.
	CurrentReplicas int32 `json:"currentReplicas" protobuf:"varint,3,opt,name=currentReplicas"`
	// desiredReplicas is the desired number of replicas of pods managed by this autoscaler.
	DesiredReplicas int32 `json:"desiredReplicas" protobuf:"varint,4,opt,name=desiredReplicas"`
	// currentCPUUtilizationPercentage is the current average CPU utilization over all pods.
	CurrentCPUUtilizationPercentage *int32 `json:"currentCPUUtilizationPercentage,omitempty" protobuf:"varint,5,opt,name=currentCPUUtilizationPercentage"`
}

// HorizontalPodAutoscalerList is a list of autoscaling/v1 autoscalers.
type HorizontalPodAutoscalerList = meta.List[HorizontalPodAutoscaler]

// MetricSpec is a v2 metric as the metrics annotation writes it (autoscaling/v1's MetricSpec,
// the v2beta1 shape).
type MetricSpec struct {
	Type              autoscaling.MetricSourceType   `json:"type"`
	Object            *ObjectMetricSource            `json:"object,omitempty"`
	Pods              *PodsMetricSource              `json:"pods,omitempty"`
	Resource          *ResourceMetricSource          `json:"resource,omitempty"`
	ContainerResource *ContainerResourceMetricSource `json:"containerResource,omitempty"`
	External          *ExternalMetricSource          `json:"external,omitempty"`
}

type ObjectMetricSource struct {
	Target       autoscaling.CrossVersionObjectReference `json:"target"`
	MetricName   string                                  `json:"metricName"`
	TargetValue  resource.Quantity                       `json:"targetValue"`
	Selector     *meta.LabelSelector                     `json:"selector,omitempty"`
	AverageValue *resource.Quantity                      `json:"averageValue,omitempty"`
}

type PodsMetricSource struct {
	MetricName         string              `json:"metricName"`
	TargetAverageValue resource.Quantity   `json:"targetAverageValue"`
	Selector           *meta.LabelSelector `json:"selector,omitempty"`
}

type ResourceMetricSource struct {
	Name                     core.ResourceName  `json:"name"`
	TargetAverageUtilization *int32             `json:"targetAverageUtilization,omitempty"`
	TargetAverageValue       *resource.Quantity `json:"targetAverageValue,omitempty"`
}

type ContainerResourceMetricSource struct {
	Name                     core.ResourceName  `json:"name"`
	TargetAverageUtilization *int32             `json:"targetAverageUtilization,omitempty"`
	TargetAverageValue       *resource.Quantity `json:"targetAverageValue,omitempty"`
	Container                string             `json:"container"`
}

type ExternalMetricSource struct {
	MetricName         string              `json:"metricName"`
	MetricSelector     *meta.LabelSelector `json:"metricSelector,omitempty"`
	TargetValue        *resource.Quantity  `json:"targetValue,omitempty"`
	TargetAverageValue *resource.Quantity  `json:"targetAverageValue,omitempty"`
}

// MetricStatus is a v2 metric status as the current-metrics annotation writes it.
type MetricStatus struct {
	Type              autoscaling.MetricSourceType   `json:"type"`
	Object            *ObjectMetricStatus            `json:"object,omitempty"`
	Pods              *PodsMetricStatus              `json:"pods,omitempty"`
	Resource          *ResourceMetricStatus          `json:"resource,omitempty"`
	ContainerResource *ContainerResourceMetricStatus `json:"containerResource,omitempty"`
	External          *ExternalMetricStatus          `json:"external,omitempty"`
}

type ObjectMetricStatus struct {
	Target       autoscaling.CrossVersionObjectReference `json:"target"`
	MetricName   string                                  `json:"metricName"`
	CurrentValue resource.Quantity                       `json:"currentValue"`
	Selector     *meta.LabelSelector                     `json:"selector,omitempty"`
	AverageValue *resource.Quantity                      `json:"averageValue,omitempty"`
}

type PodsMetricStatus struct {
	MetricName          string              `json:"metricName"`
	CurrentAverageValue resource.Quantity   `json:"currentAverageValue"`
	Selector            *meta.LabelSelector `json:"selector,omitempty"`
}

type ResourceMetricStatus struct {
	Name                      core.ResourceName `json:"name"`
	CurrentAverageUtilization *int32            `json:"currentAverageUtilization,omitempty"`
	CurrentAverageValue       resource.Quantity `json:"currentAverageValue"`
}

type ContainerResourceMetricStatus struct {
	Name                      core.ResourceName `json:"name"`
	CurrentAverageUtilization *int32            `json:"currentAverageUtilization,omitempty"`
	CurrentAverageValue       resource.Quantity `json:"currentAverageValue"`
	Container                 string            `json:"container"`
}

type ExternalMetricStatus struct {
	MetricName          string              `json:"metricName"`
	MetricSelector      *meta.LabelSelector `json:"metricSelector,omitempty"`
	CurrentValue        resource.Quantity   `json:"currentValue"`
	CurrentAverageValue *resource.Quantity  `json:"currentAverageValue,omitempty"`
}
