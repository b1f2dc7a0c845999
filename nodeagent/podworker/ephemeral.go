package podworker

// Ephemeral containers (pods/ephemeralcontainers, kubectl debug): started once each, in
// the pod's sandbox (its network, UTS and IPC namespaces), even before the pod has
// initialized, and never restarted. One with a targetContainerName joins that container's
// process namespace. They count for neither the pod's phase nor its readiness; their
// status is in ephemeralContainerStatuses.

import (
	"context"
	"errors"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// syncEphemeral starts the ephemeral containers that never ran.
func (m *Manager) syncEphemeral(ctx context.Context, ac *actionContext) error {
	var errs []error
	for i := range ac.pod.Spec.EphemeralContainers {
		c := ephemeralAsContainer(&ac.pod.Spec.EphemeralContainers[i])
		cur := latest(ac.byName[c.Name])
		switch {
		case cur == nil:
			errs = append(errs, m.startContainer(ctx, ac, c, 0, false))
		case cur.State == runtime.ContainerCreated:
			errs = append(errs, m.startCreated(ctx, ac, c, cur))
		}
	}
	return errors.Join(errs...)
}

func ephemeralAsContainer(ec *core.EphemeralContainer) *core.Container {
	c := core.Container(ec.EphemeralContainerCommon)
	return &c
}

// findEphemeral returns the ephemeral container called name, nil if there is none.
func findEphemeral(pod *core.Pod, name string) *core.EphemeralContainer {
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			return &pod.Spec.EphemeralContainers[i]
		}
	}
	return nil
}

// pidTarget is the ID of the running container whose process namespace the container
// called name joins ("" for none): an ephemeral container's target.
func pidTarget(ac *actionContext, name string) (string, error) {
	ec := findEphemeral(ac.pod, name)
	if ec == nil || ec.TargetContainerName == "" {
		return "", nil
	}
	cur := latest(ac.byName[ec.TargetContainerName])
	if cur == nil || cur.State != runtime.ContainerRunning {
		return "", configErrorf("target container %q is not running", ec.TargetContainerName)
	}
	return cur.ID, nil
}
