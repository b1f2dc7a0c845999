// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags, patch
// tags and protobuf tags; comments shortened to their first sentence, lists as meta.List.

package scheduling

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// PriorityClass defines mapping from a priority class name to the priority integer value.
type PriorityClass struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty" protobuf:"bytes,1,opt,name=metadata"`
	// value represents the integer value of this priority class.
	Value int32 `json:"value" protobuf:"bytes,2,opt,name=value"`
	// globalDefault specifies whether this PriorityClass should be considered as the default
	// priority for pods that do not have any priority class.
	GlobalDefault bool `json:"globalDefault,omitempty" protobuf:"bytes,3,opt,name=globalDefault"`
	// description is an arbitrary string that usually provides guidelines on when this priority
	// class should be used.
	Description string `json:"description,omitempty" protobuf:"bytes,4,opt,name=description"`
	// preemptionPolicy is the Policy for preempting pods with lower priority.
	PreemptionPolicy *core.PreemptionPolicy `json:"preemptionPolicy,omitempty" protobuf:"bytes,5,opt,name=preemptionPolicy"`
}

// PriorityClassList is a collection of priority classes.
type PriorityClassList = meta.List[PriorityClass]
