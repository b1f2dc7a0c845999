// Code derived from k8s.io/api v0.33.0 (Apache-2.0): the same type names, JSON tags and patch
// tags; comments shortened to their first sentence, protobuf tags dropped, lists as meta.List.

package scheduling

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// PriorityClass defines mapping from a priority class name to the priority integer value.
type PriorityClass struct {
	meta.TypeMeta `json:",inline"`
	// Standard object's metadata.
	meta.ObjectMeta `json:"metadata,omitempty"`
	// value represents the integer value of this priority class.
	Value int32 `json:"value"`
	// globalDefault specifies whether this PriorityClass should be considered as the default
	// priority for pods that do not have any priority class.
	GlobalDefault bool `json:"globalDefault,omitempty"`
	// description is an arbitrary string that usually provides guidelines on when this priority
	// class should be used.
	Description string `json:"description,omitempty"`
	// preemptionPolicy is the Policy for preempting pods with lower priority.
	PreemptionPolicy *core.PreemptionPolicy `json:"preemptionPolicy,omitempty"`
}

// PriorityClassList is a collection of priority classes.
type PriorityClassList = meta.List[PriorityClass]
