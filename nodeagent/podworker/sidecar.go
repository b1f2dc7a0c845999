package podworker

// Init containers and sidecars (init containers with restartPolicy Always), as the
// kubelet orders them:
//
//   - init containers start one at a time, in order. A regular one must exit 0 before the
//     next starts; a sidecar must be running and started (its startup probe passed, if it
//     has one) — it then keeps running beside the app containers;
//   - a sidecar that exits is restarted (with crash-loop back-off) whatever the pod's
//     restartPolicy; once the containers after it have started, its restart no longer
//     holds them up;
//   - when a pod that does not restart (restartPolicy Never or OnFailure) has its app
//     containers done, its sidecars are stopped in reverse order and the pod finishes
//     (a Job's pod completes even though its sidecars would run forever);
//   - a pod being deleted stops its app containers first, then its sidecars in reverse
//     order.

import (
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// isSidecar reports whether c is a restartable init container.
func isSidecar(c *core.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways
}

// stepKind is what to do with one init container.
type stepKind int

const (
	stepStart        stepKind = iota // create and start attempt 0
	stepStartCreated                 // replace a container created but never started
	stepRestart                      // start the next attempt (after back-off)
	stepCheck                        // running sidecar: check liveness and spec changes
)

// initStep is one action on an init container.
type initStep struct {
	kind stepKind
	c    *core.Container
	cur  *runtime.Container // the newest attempt; nil for stepStart
}

// initPlan is what the init containers need next.
type initPlan struct {
	steps []initStep
	// done: every regular init container succeeded and every sidecar started, so the app
	// containers may run.
	done bool
	// failed: a regular init container failed and the pod does not restart.
	failed bool
}

// planInit walks the init containers in order. started says whether a running sidecar
// has passed its startup probe. Once any app container has run, the pod has initialized:
// init containers are not run again (a restarted sandbox aside, which removes them all).
func planInit(pod *core.Pod, byName map[string][]*runtime.Container, started func(*core.Container, *runtime.Container) bool) initPlan {
	var p initPlan
	initialized := anyStarted(pod.Spec.Containers, byName)
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := latest(byName[c.Name])
		// Later init containers (or app containers) that already ran mean this one let
		// them through before: its restart does not hold them up again.
		passed := initialized || anyStarted(pod.Spec.InitContainers[i+1:], byName)
		if isSidecar(c) {
			switch {
			case cur == nil:
				p.steps = append(p.steps, initStep{stepStart, c, nil})
				return p
			case cur.State == runtime.ContainerCreated:
				p.steps = append(p.steps, initStep{stepStartCreated, c, cur})
				return p
			case cur.State == runtime.ContainerRunning:
				p.steps = append(p.steps, initStep{stepCheck, c, cur})
				if !passed && !started(c, cur) {
					return p
				}
			default:
				p.steps = append(p.steps, initStep{stepRestart, c, cur})
				if !passed {
					return p
				}
			}
			continue
		}
		if initialized {
			continue
		}
		switch {
		case cur == nil:
			p.steps = append(p.steps, initStep{stepStart, c, nil})
			return p
		case cur.State == runtime.ContainerRunning:
			return p
		case cur.State == runtime.ContainerCreated:
			p.steps = append(p.steps, initStep{stepStartCreated, c, cur})
			return p
		case cur.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == core.RestartPolicyNever:
			p.failed = true
			return p
		default:
			p.steps = append(p.steps, initStep{stepRestart, c, cur})
			return p
		}
	}
	p.done = true
	return p
}

// anyStarted reports whether any of cs has a container in the runtime.
func anyStarted(cs []core.Container, byName map[string][]*runtime.Container) bool {
	for _, c := range cs {
		if len(byName[c.Name]) > 0 {
			return true
		}
	}
	return false
}

// appsDone reports whether a pod that does not restart has every app container exited for
// good: its sidecars are then stopped and the pod finishes.
func appsDone(pod *core.Pod, byName map[string][]*runtime.Container) bool {
	if pod.Spec.RestartPolicy == core.RestartPolicyAlways || len(pod.Spec.Containers) == 0 {
		return false
	}
	for _, c := range pod.Spec.Containers {
		cur := latest(byName[c.Name])
		if cur == nil || cur.State != runtime.ContainerExited || shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
			return false
		}
	}
	return true
}

// stopOrder groups the running containers of a pod by when they are stopped: first
// everything but sidecars (together), then each sidecar alone, the last one first.
func stopOrder(pod *core.Pod, cs []*runtime.Container) [][]*runtime.Container {
	var first []*runtime.Container
	sidecars := map[string][]*runtime.Container{}
	for _, c := range cs {
		if c.State != runtime.ContainerRunning && c.State != runtime.ContainerCreated {
			continue
		}
		if spec := findInit(pod, c.Name); spec != nil && isSidecar(spec) {
			sidecars[c.Name] = append(sidecars[c.Name], c)
			continue
		}
		first = append(first, c)
	}
	var out [][]*runtime.Container
	if len(first) > 0 {
		out = append(out, first)
	}
	for _, c := range slices.Backward(pod.Spec.InitContainers) {
		if l := sidecars[c.Name]; len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

func findInit(pod *core.Pod, name string) *core.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// sidecarStarted reports whether a running sidecar passed its startup probe (at once
// without one), which lets the next init container start.
func (m *Manager) sidecarStarted(c *core.Container, cur *runtime.Container) bool {
	if c.StartupProbe == nil || m.cfg.Probes == nil {
		return true
	}
	r, ok := m.cfg.Probes.Result(cur.ID)
	return ok && r.Started
}

// isSidecarName reports whether the init container called name is a sidecar.
func isSidecarName(pod *core.Pod, name string) bool {
	c := findInit(pod, name)
	return c != nil && isSidecar(c)
}
