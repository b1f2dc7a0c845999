// Package runtimeclass is Kubernetes' RuntimeClass admission plugin. A pod created with
// spec.runtimeClassName gets its class's pod overhead (spec.overhead, which the scheduler,
// quotas and the node's cgroups then count) and the class's scheduling constraints (its
// nodeSelector merged into the pod's, its tolerations added), so that it lands only on nodes
// that have the handler. A pod naming a class that does not exist is refused, and so is a pod
// whose own overhead disagrees with its class's: the overhead is the class's to say.
package runtimeclass

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// Plugin reads RuntimeClasses through objs.
type Plugin struct{ objs admission.Objects }

// New makes the plugin.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

func (*Plugin) Name() string { return "RuntimeClass" }

// Admit sets the pod's overhead and merges the class's scheduling constraints.
func (pl *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	pod, rc, err := pl.prepare(ctx, a)
	if pod == nil || err != nil {
		return err
	}
	if rc == nil {
		return nil
	}
	if rc.Overhead != nil {
		if len(pod.Spec.Overhead) > 0 && !quota.Equals(pod.Spec.Overhead, rc.Overhead.PodFixed) {
			return admission.Forbidden(a, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
		pod.Spec.Overhead = maps.Clone(rc.Overhead.PodFixed)
	}
	if s := rc.Scheduling; s != nil {
		if pod.Spec.NodeSelector == nil {
			pod.Spec.NodeSelector = maps.Clone(s.NodeSelector)
		} else {
			for _, key := range slices.Sorted(maps.Keys(s.NodeSelector)) {
				want := s.NodeSelector[key]
				if have, ok := pod.Spec.NodeSelector[key]; ok && have != want {
					return admission.Forbidden(a, fmt.Sprintf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", key, want, key, have))
				}
				pod.Spec.NodeSelector[key] = want
			}
		}
		pod.Spec.Tolerations = core.MergeTolerations(pod.Spec.Tolerations, s.Tolerations)
	}
	return nil
}

// Validate refuses a pod whose overhead is not its class's (a webhook may have changed it
// after Admit, or the pod names no class and sets one itself).
func (pl *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	pod, rc, err := pl.prepare(ctx, a)
	if pod == nil || err != nil {
		return err
	}
	if rc != nil && rc.Overhead != nil {
		if !quota.Equals(pod.Spec.Overhead, rc.Overhead.PodFixed) {
			return admission.Forbidden(a, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
	} else if pod.Spec.Overhead != nil {
		return admission.Forbidden(a, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}

// prepare returns the pod being created (nil for any other write) and its RuntimeClass (nil
// when it names none).
func (pl *Plugin) prepare(ctx context.Context, a *admission.Attributes) (*core.Pod, *node.RuntimeClass, error) {
	pod, ok := a.Object.(*core.Pod)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil, nil, nil
	}
	if pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	name := *pod.Spec.RuntimeClassName
	o, err := pl.objs.Get(ctx, node.GroupName, "runtimeclasses", "", name)
	if errors.Is(err, storage.ErrNotFound) {
		return pod, nil, admission.Forbidden(a, fmt.Sprintf("pod rejected: RuntimeClass %q not found", name))
	}
	if err != nil {
		return pod, nil, fmt.Errorf("reading RuntimeClass %s: %w", name, err)
	}
	return pod, o.(*node.RuntimeClass), nil
}
