package podworker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

var always = core.ContainerRestartPolicyAlways

// sidecarPod: init "setup" (regular), sidecar "proxy" (with a startup probe), init
// "migrate" (regular), sidecar "log", app "app".
func sidecarPod(policy core.RestartPolicy) *core.Pod {
	probe := &core.Probe{}
	return &core.Pod{Spec: core.PodSpec{RestartPolicy: policy,
		InitContainers: []core.Container{
			{Name: "setup"},
			{Name: "proxy", RestartPolicy: &always, StartupProbe: probe},
			{Name: "migrate"},
			{Name: "log", RestartPolicy: &always},
		},
		Containers: []core.Container{{Name: "app"}},
	}}
}

func ctr(name string, state runtime.ContainerState, code int) *runtime.Container {
	return &runtime.Container{ID: name, Name: name, State: state, ExitCode: code}
}

func (p initPlan) String() string {
	var s []string
	for _, st := range p.steps {
		s = append(s, fmt.Sprintf("%s:%d", st.c.Name, st.kind))
	}
	return fmt.Sprintf("%v done=%v failed=%v", s, p.done, p.failed)
}

// Each init container gates the next: a regular one by succeeding, a sidecar by running
// and passing its startup probe. An exited sidecar is restarted; once the containers
// after it ran, its restart holds nothing up.
func TestPlanInit(t *testing.T) {
	run, exit := runtime.ContainerRunning, runtime.ContainerExited
	tests := []struct {
		name    string
		policy  core.RestartPolicy
		cs      []*runtime.Container
		started bool // the proxy's startup probe passed
		want    string
	}{
		{"nothing yet", core.RestartPolicyNever, nil, false, "[setup:0] done=false failed=false"},
		{"setup running", core.RestartPolicyNever, []*runtime.Container{ctr("setup", run, 0)}, false, "[] done=false failed=false"},
		{"setup failed, Never", core.RestartPolicyNever, []*runtime.Container{ctr("setup", exit, 1)}, false, "[] done=false failed=true"},
		{"setup failed, OnFailure", core.RestartPolicyOnFailure, []*runtime.Container{ctr("setup", exit, 1)}, false, "[setup:2] done=false failed=false"},
		{"setup done: proxy starts", core.RestartPolicyNever, []*runtime.Container{ctr("setup", exit, 0)}, false, "[proxy:0] done=false failed=false"},
		{"proxy not started yet holds migrate", core.RestartPolicyNever,
			[]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", run, 0)}, false, "[proxy:3] done=false failed=false"},
		{"proxy started: migrate starts", core.RestartPolicyNever,
			[]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", run, 0)}, true, "[proxy:3 migrate:0] done=false failed=false"},
		{"proxy crashed before migrate: restarted first, Never", core.RestartPolicyNever,
			[]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", exit, 1)}, false, "[proxy:2] done=false failed=false"},
		{"all up: done", core.RestartPolicyNever,
			[]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", run, 0), ctr("migrate", exit, 0), ctr("log", run, 0)}, true,
			"[proxy:3 log:3] done=true failed=false"},
		{"proxy crashed after: restarted, the rest goes on", core.RestartPolicyNever,
			[]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", exit, 137), ctr("migrate", exit, 0), ctr("log", run, 0), ctr("app", run, 0)}, false,
			"[proxy:2 log:3] done=true failed=false"},
		{"initialized: regular init containers are not rerun", core.RestartPolicyAlways,
			[]*runtime.Container{ctr("proxy", run, 0), ctr("log", run, 0), ctr("app", run, 0)}, false,
			"[proxy:3 log:3] done=true failed=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := planInit(sidecarPod(tc.policy), group(tc.cs), func(*core.Container, *runtime.Container) bool { return tc.started }).String()
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// App containers stop first, together; then the sidecars one by one, the last first.
func TestStopOrder(t *testing.T) {
	run := runtime.ContainerRunning
	pod := sidecarPod(core.RestartPolicyAlways)
	cs := []*runtime.Container{ctr("proxy", run, 0), ctr("log", run, 0), ctr("app", run, 0), ctr("setup", runtime.ContainerExited, 0)}
	var got [][]string
	for _, g := range stopOrder(pod, cs) {
		var names []string
		for _, c := range g {
			names = append(names, c.Name)
		}
		got = append(got, names)
	}
	want := [][]string{{"app"}, {"log"}, {"proxy"}}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("stop order %v, want %v", got, want)
	}
	if g := stopOrder(pod, []*runtime.Container{ctr("app", runtime.ContainerExited, 0)}); len(g) != 0 {
		t.Errorf("nothing running, still %v", g)
	}
}

// A Job's pod (restartPolicy Never) whose app container finished is Running while a
// sidecar runs, then Succeeded; sidecars report started and ready in
// initContainerStatuses, and their readiness counts for the pod's.
func TestSidecarStatus(t *testing.T) {
	run, exit := runtime.ContainerRunning, runtime.ContainerExited
	pod := sidecarPod(core.RestartPolicyNever)
	o := newObserved()
	o.containers = group([]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", run, 0), ctr("migrate", exit, 0), ctr("log", run, 0), ctr("app", run, 0)})
	o.started["proxy"], o.started["log"], o.started["app"] = true, true, true
	o.ready["app"], o.ready["log"] = true, true
	st := o.podStatus(pod)
	if st.Phase != core.PodRunning {
		t.Errorf("phase %s", st.Phase)
	}
	byName := map[string]core.ContainerStatus{}
	for _, cs := range st.InitContainerStatuses {
		byName[cs.Name] = cs
	}
	if p := byName["proxy"]; p.Started == nil || !*p.Started || !p.Ready || p.State.Running == nil {
		t.Errorf("proxy status %+v", p)
	}
	if s := byName["setup"]; s.Started != nil || !s.Ready {
		t.Errorf("setup status %+v", s)
	}
	if c := st.Condition(core.PodInitialized); c == nil || c.Status != core.ConditionTrue {
		t.Errorf("Initialized %+v", c)
	}
	if c := st.Condition(core.PodReady); c == nil || c.Status != core.ConditionTrue {
		t.Errorf("Ready %+v", c)
	}

	// The sidecar "log" stops being ready: so does the pod.
	o.ready["log"] = false
	o.ready["proxy"] = true
	pod.Spec.InitContainers[3].ReadinessProbe = &core.Probe{}
	st = o.podStatus(pod)
	if c := st.Condition(core.ContainersReady); c == nil || c.Status != core.ConditionFalse || c.Message != "containers with unready status: [log]" {
		t.Errorf("ContainersReady %+v", c)
	}

	// The app container finished: Running while the sidecars run, Succeeded after.
	o.containers["app"] = []*runtime.Container{ctr("app", exit, 0)}
	if st := o.podStatus(pod); st.Phase != core.PodRunning {
		t.Errorf("app done, sidecars running: phase %s", st.Phase)
	}
	o.containers["proxy"] = []*runtime.Container{ctr("proxy", exit, 137)}
	o.containers["log"] = []*runtime.Container{ctr("log", exit, 0)}
	if st := o.podStatus(pod); st.Phase != core.PodSucceeded {
		t.Errorf("app done, sidecars stopped: phase %s", st.Phase)
	}

	// Before the sidecar passed its startup probe, the pod is not initialized.
	o = newObserved()
	o.containers = group([]*runtime.Container{ctr("setup", exit, 0), ctr("proxy", run, 0)})
	st = o.podStatus(pod)
	if c := st.Condition(core.PodInitialized); c == nil || c.Status != core.ConditionFalse ||
		c.Message != "containers with incomplete status: [proxy migrate log]" || st.Phase != core.PodPending {
		t.Errorf("Initialized %+v, phase %s", c, st.Phase)
	}
}

// appsDone: only a pod that does not restart finishes, once every app container exited
// for good.
func TestAppsDone(t *testing.T) {
	exit := runtime.ContainerExited
	for _, tc := range []struct {
		policy core.RestartPolicy
		code   int
		want   bool
	}{
		{core.RestartPolicyNever, 0, true},
		{core.RestartPolicyNever, 1, true},
		{core.RestartPolicyOnFailure, 0, true},
		{core.RestartPolicyOnFailure, 1, false},
		{core.RestartPolicyAlways, 0, false},
	} {
		got := appsDone(sidecarPod(tc.policy), group([]*runtime.Container{ctr("app", exit, tc.code)}))
		if got != tc.want {
			t.Errorf("%s, exit %d: %v, want %v", tc.policy, tc.code, got, tc.want)
		}
	}
}
