package podworker

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Ephemeral containers report in ephemeralContainerStatuses, never ready, and leave the
// pod's phase and readiness alone; one with a target joins the target's running instance.
func TestEphemeralContainers(t *testing.T) {
	pod := &core.Pod{Spec: core.PodSpec{RestartPolicy: core.RestartPolicyAlways,
		Containers: []core.Container{{Name: "app"}},
		EphemeralContainers: []core.EphemeralContainer{
			{EphemeralContainerCommon: core.EphemeralContainerCommon{Name: "dbg", Image: "busybox"}, TargetContainerName: "app"},
			{EphemeralContainerCommon: core.EphemeralContainerCommon{Name: "later", Image: "busybox"}},
		}}}
	o := newObserved()
	o.containers = group([]*runtime.Container{ctr("app", runtime.ContainerRunning, 0), ctr("dbg", runtime.ContainerExited, 0)})
	st := o.podStatus(pod)
	if st.Phase != core.PodRunning || st.Condition(core.PodReady).Status != core.ConditionTrue {
		t.Errorf("phase %s, ready %s", st.Phase, st.Condition(core.PodReady).Status)
	}
	if n := len(st.EphemeralContainerStatuses); n != 2 {
		t.Fatalf("%d ephemeral statuses", n)
	}
	dbg, later := st.EphemeralContainerStatuses[0], st.EphemeralContainerStatuses[1]
	if dbg.Name != "dbg" || dbg.State.Terminated == nil || dbg.Ready {
		t.Errorf("dbg %+v", dbg)
	}
	if later.State.Waiting == nil || later.State.Waiting.Reason != "ContainerCreating" {
		t.Errorf("later %+v", later)
	}

	ac := &actionContext{pod: pod, byName: o.containers}
	if id, err := pidTarget(ac, "dbg"); err != nil || id != "app" {
		t.Errorf("target of dbg: %q, %v", id, err)
	}
	if id, err := pidTarget(ac, "later"); err != nil || id != "" {
		t.Errorf("no target: %q, %v", id, err)
	}
	ac.byName = group([]*runtime.Container{ctr("app", runtime.ContainerExited, 1)})
	if _, err := pidTarget(ac, "dbg"); err == nil {
		t.Error("a target that is not running was joined")
	}
}
