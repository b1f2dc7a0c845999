package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/storage"
)

// admit runs the mutating admission steps Kubernetes runs on create, after defaulting and
// before validation.
func (s *Server) admit(ctx context.Context, k *registry.Kind, obj meta.Object) *apiError {
	if p, ok := obj.(*core.Pod); ok {
		if s.admissionEnabled(ServiceAccountAdmissionPlugin) {
			if err := admitServiceAccount(ctx, p, s.lookupServiceAccount); err != nil {
				return errForbidden(k, p.Name, err.Error())
			}
		}
		addDefaultTolerations(p)
		return s.admitPriority(ctx, k, p)
	}
	return nil
}

// defaultTolerationSeconds is how long a pod stays on a node that is not ready or
// unreachable before the node lifecycle controller evicts it.
const defaultTolerationSeconds = 300

// addDefaultTolerations gives a pod the not-ready and unreachable NoExecute tolerations
// for 300 s unless it already tolerates those taints (Kubernetes' DefaultTolerationSeconds
// admission plugin).
func addDefaultTolerations(p *core.Pod) {
	for _, key := range []string{core.TaintNodeNotReady, core.TaintNodeUnreachable} {
		covered := false
		for _, t := range p.Spec.Tolerations {
			if (t.Key == key || t.Key == "" && t.Operator == core.TolerationOpExists) &&
				(t.Effect == core.TaintEffectNoExecute || t.Effect == "") {
				covered = true
				break
			}
		}
		if !covered {
			secs := int64(defaultTolerationSeconds)
			p.Spec.Tolerations = append(p.Spec.Tolerations, core.Toleration{Key: key, Operator: core.TolerationOpExists,
				Effect: core.TaintEffectNoExecute, TolerationSeconds: &secs})
		}
	}
}

// Built-in priority classes, as Kubernetes creates them.
var systemPriorityClasses = []struct {
	name  string
	value int32
	desc  string
}{
	{"system-node-critical", 2000001000, "Used for system critical pods that must not be moved from their current node."},
	{"system-cluster-critical", 2000000000, "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."},
}

// admitPriority resolves spec.priority from spec.priorityClassName, or from the global
// default class when the pod names none (Kubernetes' Priority admission plugin).
func (s *Server) admitPriority(ctx context.Context, k *registry.Kind, p *core.Pod) *apiError {
	pcKind, _ := s.reg.Lookup("scheduling.k8s.io", "v1", "priorityclasses")
	var pc *scheduling.PriorityClass
	if p.Spec.PriorityClassName != "" {
		key := pcKind.Key("", p.Spec.PriorityClassName)
		if o, ok := s.caches[pcKind].Get(key); ok {
			pc = o.(*scheduling.PriorityClass)
		} else {
			// The cache may lag a class created a moment ago: ask etcd before refusing.
			pc = &scheduling.PriorityClass{}
			if err := s.store.Get(ctx, key, pc); err != nil {
				if errors.Is(err, storage.ErrNotFound) {
					return errForbidden(k, p.Name, fmt.Sprintf("no PriorityClass with name %s was found", p.Spec.PriorityClassName))
				}
				return toAPIError(pcKind, p.Spec.PriorityClassName, err)
			}
		}
	} else {
		items, _ := s.caches[pcKind].List(func(o meta.Object) bool { return o.(*scheduling.PriorityClass).GlobalDefault })
		for _, it := range items {
			c := it.(*scheduling.PriorityClass)
			// Several global defaults can exist for a moment; Kubernetes takes the lowest.
			if pc == nil || c.Value < pc.Value {
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
		return newStatus(http.StatusForbidden, meta.ReasonForbidden, fmt.Sprintf(
			"pods %q is forbidden: the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name",
			p.Name, *p.Spec.Priority, value), &meta.StatusDetails{Name: p.Name, Kind: "pods"})
	}
	p.Spec.Priority = &value
	if p.Spec.PreemptionPolicy == nil {
		pp := core.PreemptLowerPriority
		p.Spec.PreemptionPolicy = &pp
	}
	return nil
}
