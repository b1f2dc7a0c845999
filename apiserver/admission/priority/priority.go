// Package priority is Kubernetes' Priority admission plugin: a new pod's spec.priority is
// resolved from spec.priorityClassName, or from the global default class when it names none
// (the lowest, if several claim to be the default); a pod naming a class that does not exist,
// or giving a priority that disagrees with its class, is refused.
package priority

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// Plugin resolves pod priorities from PriorityClasses read through objs.
type Plugin struct{ objs admission.Objects }

// New makes the plugin.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

func (*Plugin) Name() string { return "Priority" }

// Admit sets spec.priority (and the class's preemption policy) on pods being created.
func (pl *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	p, ok := a.Object.(*core.Pod)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	var pc *scheduling.PriorityClass
	if p.Spec.PriorityClassName != "" {
		o, err := pl.objs.Get(ctx, "scheduling.k8s.io", "priorityclasses", "", p.Spec.PriorityClassName)
		if errors.Is(err, storage.ErrNotFound) {
			return admission.Forbidden(a, fmt.Sprintf("no PriorityClass with name %s was found", p.Spec.PriorityClassName))
		}
		if err != nil {
			return fmt.Errorf("reading PriorityClass %s: %w", p.Spec.PriorityClassName, err)
		}
		pc = o.(*scheduling.PriorityClass)
	} else {
		for _, it := range pl.objs.List("scheduling.k8s.io", "priorityclasses", "") {
			c := it.(*scheduling.PriorityClass)
			if c.GlobalDefault && (pc == nil || c.Value < pc.Value) {
				pc = c
			}
		}
	}
	var value int32
	if pc != nil {
		value = pc.Value
		p.Spec.PriorityClassName = pc.Name
		if p.Spec.PreemptionPolicy == nil && pc.PreemptionPolicy != nil {
			pp := core.PreemptionPolicy(*pc.PreemptionPolicy)
			p.Spec.PreemptionPolicy = &pp
		}
	}
	if p.Spec.Priority != nil && *p.Spec.Priority != value {
		return admission.Forbidden(a, fmt.Sprintf(
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name",
			*p.Spec.Priority, value))
	}
	p.Spec.Priority = &value
	if p.Spec.PreemptionPolicy == nil {
		pp := core.PreemptLowerPriority
		p.Spec.PreemptionPolicy = &pp
	}
	return nil
}

// SystemClass is a built-in priority class, as Kubernetes creates them at start-up.
type SystemClass struct {
	Name        string
	Value       int32
	Description string
}

// SystemClasses are the built-in priority classes.
var SystemClasses = []SystemClass{
	{"system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."},
	{"system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
}
