package nodeagent_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	podsRes   = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	nodesRes  = client.Resource{Version: "v1", Resource: "nodes"}
	leasesRes = client.Resource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases", Namespaced: true}
	cmRes     = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}
)

// simCluster is an in-process API server with simulated nodes.
type simCluster struct {
	c     *client.Client
	pods  *client.Typed[core.Pod, *core.Pod]
	nodes *client.Typed[core.Node, *core.Node]
}

func startSim(t *testing.T, names ...string) *simCluster {
	t.Helper()
	return startSimWith(t, nil, names...)
}

// startSimWith is startSim with the nodes' configuration changed by tune.
func startSimWith(t *testing.T, tune func(*nodeagent.Config), names ...string) *simCluster {
	t.Helper()
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	base := nodeagent.Config{
		Client: c, NodeIP: "192.0.2.10", BackoffBase: 200 * time.Millisecond, Resync: time.Second,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if tune != nil {
		tune(&base)
	}
	go func() {
		done <- nodeagent.RunSimNodes(ctx, base, names, sim.Options{ExitDelay: 100 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agents: %v", err)
		}
	})
	return &simCluster{c: c, pods: client.For[core.Pod](c, podsRes), nodes: client.For[core.Node](c, nodesRes)}
}

func (s *simCluster) create(t *testing.T, pod *core.Pod) *core.Pod {
	t.Helper()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	out, err := s.pods.Create(context.Background(), pod)
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return out
}

// waitPod polls the pod until cond holds and returns it; cond describes what it saw.
func (s *simCluster) waitPod(t *testing.T, name, what string, cond func(*core.Pod) bool) *core.Pod {
	t.Helper()
	var last *core.Pod
	harness.Eventually(t, 20*time.Second, what, func() (bool, string) {
		p, err := s.pods.Get(context.Background(), "default", name)
		if err != nil {
			return false, err.Error()
		}
		last = p
		return cond(p), describe(p)
	})
	return last
}

func describe(p *core.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range append(append([]core.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d", c.Name, c.Ready, c.RestartCount)
		switch {
		case c.State.Running != nil:
			b.WriteString(" running")
		case c.State.Waiting != nil:
			b.WriteString(" waiting:" + c.State.Waiting.Reason + " " + c.State.Waiting.Message)
		case c.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated:%s/%d", c.State.Terminated.Reason, c.State.Terminated.ExitCode)
		}
		b.WriteString("]")
	}
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	return b.String()
}

func pod(name, node string, restart core.RestartPolicy, containers ...core.Container) *core.Pod {
	return &core.Pod{
		ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       core.PodSpec{NodeName: node, RestartPolicy: restart, Containers: containers},
	}
}

func ctr(name string, cmd ...string) core.Container {
	return core.Container{Name: name, Image: "busybox", Command: cmd}
}

func condition(p *core.Pod, t core.PodConditionType) core.ConditionStatus {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestNodeRegistrationAndLease(t *testing.T) {
	s := startSim(t, "sim-a")
	ctx := context.Background()
	var node *core.Node
	harness.Eventually(t, 20*time.Second, "node sim-a Ready", func() (bool, string) {
		n, err := s.nodes.Get(ctx, "", "sim-a")
		if err != nil {
			return false, err.Error()
		}
		node = n
		for _, c := range n.Status.Conditions {
			if c.Type == core.NodeReady {
				return c.Status == core.ConditionTrue, string(c.Status)
			}
		}
		return false, "no Ready condition"
	})
	checks := []struct {
		what string
		ok   bool
	}{
		{"hostname label", node.Labels["kubernetes.io/hostname"] == "sim-a"},
		{"os label", node.Labels["kubernetes.io/os"] == "linux"},
		{"InternalIP", len(node.Status.Addresses) > 0 && node.Status.Addresses[0].Address == "192.0.2.10"},
		{"pods capacity", node.Status.Capacity.Pods().Value() == 110},
		{"cpu allocatable", !node.Status.Allocatable.Cpu().IsZero()},
		{"kubelet version", node.Status.NodeInfo.KubeletVersion == nodeagent.Version},
		{"runtime version", strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, "sim://")},
		{"four conditions", len(node.Status.Conditions) == 4},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not as expected in %+v", c.what, node.Status)
		}
	}
	leases := client.For[coordination.Lease](s.c, leasesRes)
	harness.Eventually(t, 20*time.Second, "node lease", func() (bool, string) {
		l, err := leases.Get(ctx, core.NamespaceNodeLease, "sim-a")
		if err != nil {
			return false, err.Error()
		}
		ok := l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "sim-a" && l.Spec.RenewTime != nil
		return ok, fmt.Sprintf("%+v", l.Spec)
	})
}

func TestSimPodLifecycle(t *testing.T) {
	s := startSim(t, "sim-b")
	tests := []struct {
		name  string
		pod   *core.Pod
		want  string
		check func(*core.Pod) bool
	}{
		{
			name: "runs until deleted",
			pod:  pod("web", "sim-b", core.RestartPolicyAlways, ctr("web", "httpd", "-f")),
			want: "Running and Ready",
			check: func(p *core.Pod) bool {
				return p.Status.Phase == core.PodRunning && condition(p, core.PodReady) == core.ConditionTrue &&
					len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil &&
					strings.HasPrefix(p.Status.ContainerStatuses[0].ContainerID, "sim://") && p.Status.PodIP != "" &&
					p.Status.HostIP == "192.0.2.10" && p.Status.QOSClass == core.PodQOSBestEffort
			},
		},
		{
			name: "exit 0 with restartPolicy Never succeeds",
			pod:  pod("job-ok", "sim-b", core.RestartPolicyNever, ctr("main", "sh", "-c", "echo done; exit 0")),
			want: "Succeeded",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == core.PodSucceeded && len(cs) == 1 && cs[0].State.Terminated != nil &&
					cs[0].State.Terminated.Reason == "Completed" && condition(p, core.PodReady) == core.ConditionFalse
			},
		},
		{
			name: "exit 3 with restartPolicy Never fails",
			pod:  pod("job-fail", "sim-b", core.RestartPolicyNever, ctr("main", "sh", "-c", "exit 3")),
			want: "Failed with exit code 3",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == core.PodFailed && len(cs) == 1 && cs[0].State.Terminated != nil &&
					cs[0].State.Terminated.ExitCode == 3 && cs[0].State.Terminated.Reason == "Error"
			},
		},
		{
			name: "exit 1 with restartPolicy Always crash-loops",
			pod:  pod("crash", "sim-b", core.RestartPolicyAlways, ctr("main", "sh", "-c", "exit 1")),
			want: "CrashLoopBackOff after restarts",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return len(cs) == 1 && cs[0].RestartCount >= 2 && cs[0].State.Waiting != nil &&
					cs[0].State.Waiting.Reason == "CrashLoopBackOff" && cs[0].LastTerminationState.Terminated != nil &&
					cs[0].LastTerminationState.Terminated.ExitCode == 1 && p.Status.Phase == core.PodRunning
			},
		},
		{
			name: "OnFailure restarts a failure until it succeeds never, but stops after success",
			pod:  pod("onfailure-ok", "sim-b", core.RestartPolicyOnFailure, ctr("main", "sh", "-c", "exit 0")),
			want: "Succeeded without restarts",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == core.PodSucceeded && len(cs) == 1 && cs[0].RestartCount == 0
			},
		},
		{
			name: "init containers run in order before the app",
			pod: func() *core.Pod {
				p := pod("with-init", "sim-b", core.RestartPolicyAlways, ctr("app", "sleep", "3600"))
				p.Spec.InitContainers = []core.Container{ctr("init-1", "sh", "-c", "exit 0"), ctr("init-2", "sh", "-c", "exit 0")}
				return p
			}(),
			want: "Running after both init containers completed",
			check: func(p *core.Pod) bool {
				ics := p.Status.InitContainerStatuses
				return p.Status.Phase == core.PodRunning && len(ics) == 2 &&
					ics[0].State.Terminated != nil && ics[1].State.Terminated != nil &&
					!ics[1].State.Terminated.StartedAt.Before(ics[0].State.Terminated.FinishedAt.Time) &&
					condition(p, core.PodInitialized) == core.ConditionTrue
			},
		},
		{
			name: "a failing init container with restartPolicy Never fails the pod",
			pod: func() *core.Pod {
				p := pod("init-fails", "sim-b", core.RestartPolicyNever, ctr("app", "sleep", "3600"))
				p.Spec.InitContainers = []core.Container{ctr("init", "sh", "-c", "exit 2")}
				return p
			}(),
			want: "Failed, app never started",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == core.PodFailed && len(cs) == 1 && cs[0].State.Waiting != nil &&
					cs[0].State.Waiting.Reason == "PodInitializing"
			},
		},
		{
			name: "a missing config map is a CreateContainerConfigError",
			pod: func() *core.Pod {
				c := ctr("app", "sleep", "3600")
				c.Env = []core.EnvVar{{Name: "X", ValueFrom: &core.EnvVarSource{ConfigMapKeyRef: &core.ConfigMapKeySelector{
					LocalObjectReference: core.LocalObjectReference{Name: "missing"}, Key: "k"}}}}
				return pod("bad-config", "sim-b", core.RestartPolicyAlways, c)
			}(),
			want: "waiting with CreateContainerConfigError",
			check: func(p *core.Pod) bool {
				cs := p.Status.ContainerStatuses
				return p.Status.Phase == core.PodPending && len(cs) == 1 && cs[0].State.Waiting != nil &&
					cs[0].State.Waiting.Reason == "CreateContainerConfigError" &&
					strings.Contains(cs[0].State.Waiting.Message, `configmap "missing" not found`)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s.create(t, tc.pod)
			s.waitPod(t, tc.pod.Name, tc.want, tc.check)
		})
	}
}

func TestSimPodIPsComeFromThePodCIDR(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	c, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := nodeagent.New(nodeagent.Config{
		NodeName: "sim-cidr", Client: c, Runtime: sim.New(sim.Options{}), Sim: true, PodCIDR: "10.244.7.0/24",
		NodeIP: "192.0.2.11", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	s := &simCluster{c: c, pods: client.For[core.Pod](c, podsRes), nodes: client.For[core.Node](c, nodesRes)}
	prefix := netip.MustParsePrefix("10.244.7.0/24")
	seen := map[string]bool{}
	for i := range 3 {
		name := fmt.Sprintf("p%d", i)
		s.create(t, pod(name, "sim-cidr", core.RestartPolicyAlways, ctr("c", "sleep", "1d")))
		p := s.waitPod(t, name, "a pod IP", func(p *core.Pod) bool { return p.Status.PodIP != "" })
		ip := netip.MustParseAddr(p.Status.PodIP)
		if !prefix.Contains(ip) || seen[ip.String()] {
			t.Errorf("pod %s got IP %s: want a new address in %s (seen %v)", name, ip, prefix, seen)
		}
		seen[ip.String()] = true
	}
	n, err := s.nodes.Get(ctx, "", "sim-cidr")
	if err != nil || n.Spec.PodCIDR != "10.244.7.0/24" {
		t.Errorf("node spec.podCIDR = %q (%v), want the one given", n.Spec.PodCIDR, err)
	}
}

func TestSimGracefulDeletion(t *testing.T) {
	s := startSim(t, "sim-c")
	ctx := context.Background()
	p := pod("doomed", "sim-c", core.RestartPolicyAlways, ctr("c", "sleep", "1d"))
	grace := int64(30)
	p.Spec.TerminationGracePeriodSeconds = &grace
	s.create(t, p)
	s.waitPod(t, "doomed", "Running", func(p *core.Pod) bool { return p.Status.Phase == core.PodRunning })
	if err := s.pods.Delete(ctx, "default", "doomed", nil); err != nil {
		t.Fatal(err)
	}
	// The API server only marks the pod; it is gone once the agent has stopped it.
	harness.Eventually(t, 20*time.Second, "the agent to confirm the deletion", func() (bool, string) {
		p, err := s.pods.Get(ctx, "default", "doomed")
		if client.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		return false, describe(p)
	})
}

func TestSimReadinessFollowsAnnotations(t *testing.T) {
	s := startSim(t, "sim-d")
	ctx := context.Background()
	c := ctr("web", "httpd", "-f")
	c.ReadinessProbe = &core.Probe{ProbeHandler: core.ProbeHandler{Exec: &core.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1}
	p := pod("probed", "sim-d", core.RestartPolicyAlways, c)
	p.Annotations = map[string]string{"sim.skiff.sh/readiness-probe": "fail"}
	s.create(t, p)
	s.waitPod(t, "probed", "Running but not Ready", func(p *core.Pod) bool {
		return p.Status.Phase == core.PodRunning && condition(p, core.PodReady) == core.ConditionFalse &&
			len(p.Status.ContainerStatuses) == 1 && !p.Status.ContainerStatuses[0].Ready
	})
	patch := []byte(`{"metadata":{"annotations":{"sim.skiff.sh/readiness-probe":null}}}`)
	if _, err := s.pods.Patch(ctx, "default", "probed", client.MergePatchType, patch); err != nil {
		t.Fatal(err)
	}
	s.waitPod(t, "probed", "Ready once the probe passes", func(p *core.Pod) bool {
		return condition(p, core.PodReady) == core.ConditionTrue
	})
}

func TestSimLivenessFailureRestarts(t *testing.T) {
	s := startSim(t, "sim-e")
	c := ctr("web", "httpd", "-f")
	c.LivenessProbe = &core.Probe{ProbeHandler: core.ProbeHandler{Exec: &core.ExecAction{Command: []string{"true"}}}, PeriodSeconds: 1, FailureThreshold: 1}
	p := pod("unhealthy", "sim-e", core.RestartPolicyAlways, c)
	p.Annotations = map[string]string{"sim.skiff.sh/liveness-probe": "fail"}
	s.create(t, p)
	s.waitPod(t, "unhealthy", "restarts after liveness failures", func(p *core.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1
	})
}

func TestManySimNodesShareOneWatch(t *testing.T) {
	names := nodeagent.SimNodeNames("sim-many", 5)
	s := startSim(t, names...)
	for i, n := range names {
		s.create(t, pod(fmt.Sprintf("p-%d", i), n, core.RestartPolicyAlways, ctr("c", "sleep", "1d")))
	}
	for i, n := range names {
		p := s.waitPod(t, fmt.Sprintf("p-%d", i), "Running on "+n, func(p *core.Pod) bool { return p.Status.Phase == core.PodRunning })
		if p.Spec.NodeName != n {
			t.Errorf("pod p-%d runs on %s, want %s", i, p.Spec.NodeName, n)
		}
	}
	list, err := s.nodes.List(context.Background(), "", client.ListOptions{})
	if err != nil || len(list.Items) != len(names) {
		t.Errorf("nodes: %d (%v), want %d", len(list.Items), err, len(names))
	}
}

func TestSimEnvNeedsTheConfigMap(t *testing.T) {
	// A config map created after the pod: the container starts once it exists.
	s := startSim(t, "sim-f")
	c := ctr("app", "sleep", "3600")
	c.EnvFrom = []core.EnvFromSource{{ConfigMapRef: &core.ConfigMapEnvSource{LocalObjectReference: core.LocalObjectReference{Name: "settings"}}}}
	s.create(t, pod("late-config", "sim-f", core.RestartPolicyAlways, c))
	s.waitPod(t, "late-config", "CreateContainerConfigError", func(p *core.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError"
	})
	cms := client.For[core.ConfigMap](s.c, cmRes)
	if _, err := cms.Create(context.Background(), &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "settings", Namespace: "default"}, Data: map[string]string{"A": "1"}}); err != nil {
		t.Fatal(err)
	}
	s.waitPod(t, "late-config", "Running once the config map exists", func(p *core.Pod) bool { return p.Status.Phase == core.PodRunning })
}
