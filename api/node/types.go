// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags and
// protobuf tags; comments shortened, lists as meta.List.

package node

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// RuntimeClass names a container runtime configuration (a handler the nodes' container
// runtime knows) that pods select with spec.runtimeClassName, with the pod overhead and the
// scheduling constraints that go with it.
type RuntimeClass struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// handler specifies the underlying runtime and configuration that the CRI implementation
	// will use to handle pods of this class; a DNS label, immutable.
	Handler string `json:"handler" protobuf:"bytes,2,opt,name=handler"`
	// overhead represents the resource overhead associated with running a pod for a given
	// RuntimeClass.
	Overhead *Overhead `json:"overhead,omitempty" protobuf:"bytes,3,opt,name=overhead"`
	// scheduling holds the scheduling constraints to ensure that pods running with this
	// RuntimeClass are scheduled to nodes that support it.
	Scheduling *Scheduling `json:"scheduling,omitempty" protobuf:"bytes,4,opt,name=scheduling"`
}

// Overhead structure represents the resource overhead associated with running a pod.
type Overhead struct {
	// podFixed represents the fixed resource overhead associated with running a pod.
	PodFixed core.ResourceList `json:"podFixed,omitempty" protobuf:"bytes,1,opt,name=podFixed,casttype=k8s.io/api/core/v1.ResourceList,castkey=k8s.io/api/core/v1.ResourceName,castvalue=k8s.io/apimachinery/pkg/api/resource.Quantity"`
}

// Scheduling specifies the scheduling constraints for nodes supporting a RuntimeClass.
type Scheduling struct {
	// nodeSelector lists labels that must be present on nodes that support this RuntimeClass.
	NodeSelector map[string]string `json:"nodeSelector,omitempty" protobuf:"bytes,1,opt,name=nodeSelector"`
	// tolerations are appended (excluding duplicates) to pods running with this RuntimeClass
	// during admission.
	Tolerations []core.Toleration `json:"tolerations,omitempty" protobuf:"bytes,2,rep,name=tolerations"`
}

// RuntimeClassList is a list of RuntimeClass objects.
type RuntimeClassList = meta.List[RuntimeClass]
