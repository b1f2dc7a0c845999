// Package metrics holds the kinds of metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics), field
// for field as k8s.io/metrics declares them. They are never stored: the API server gathers
// them from the node agents' /stats/summary on every request (apiserver/metricsapi).
package metrics

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// GroupName and Version of the API.
const (
	GroupName = "metrics.k8s.io"
	Version   = "v1beta1"
)

// NodeMetrics is the resource usage of a node.
type NodeMetrics struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata,omitempty"`
	// Timestamp is the end of the window the usage was measured over.
	Timestamp meta.Time     `json:"timestamp"`
	Window    meta.Duration `json:"window"`
	// Usage: cpu (cores) and memory (working set bytes).
	Usage core.ResourceList `json:"usage"`
}

// NodeMetricsList is a list of NodeMetrics.
type NodeMetricsList struct {
	meta.TypeMeta `json:",inline"`
	meta.ListMeta `json:"metadata,omitempty"`
	Items         []NodeMetrics `json:"items"`
}

// PodMetrics is the resource usage of a pod's containers.
type PodMetrics struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata,omitempty"`
	Timestamp       meta.Time          `json:"timestamp"`
	Window          meta.Duration      `json:"window"`
	Containers      []ContainerMetrics `json:"containers"`
}

// PodMetricsList is a list of PodMetrics.
type PodMetricsList struct {
	meta.TypeMeta `json:",inline"`
	meta.ListMeta `json:"metadata,omitempty"`
	Items         []PodMetrics `json:"items"`
}

// ContainerMetrics is one container's usage.
type ContainerMetrics struct {
	Name  string            `json:"name"`
	Usage core.ResourceList `json:"usage"`
}
