package podworker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "x", "B": "y"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want string }{
		{"$(A)", "x"},
		{"$(A)-$(B)", "x-y"},
		{"$(MISSING)", "$(MISSING)"},
		{"$$(A)", "$(A)"},
		{"a$b", "a$b"},
		{"$(A", "$(A"},
		{"$", "$"},
	}
	for _, tc := range tests {
		if got := Expand(tc.in, lookup); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBackoffDoublesAndResets(t *testing.T) {
	b := newBackoff(10*time.Second, 40*time.Second)
	t0 := time.Unix(1000, 0)
	steps := []struct {
		finished, now time.Time
		wantWait      time.Duration
	}{
		{t0, t0, 0}, // the first restart is immediate
		{t0.Add(time.Second), t0.Add(2 * time.Second), 9 * time.Second},
		{t0.Add(20 * time.Second), t0.Add(20 * time.Second), 20 * time.Second},
		{t0.Add(50 * time.Second), t0.Add(50 * time.Second), 40 * time.Second},
		{t0.Add(100 * time.Second), t0.Add(100 * time.Second), 40 * time.Second}, // capped
		{t0.Add(300 * time.Second), t0.Add(300 * time.Second), 0},                // ran > 2·max: forgotten
	}
	for i, s := range steps {
		wait, _ := b.wait("k", s.finished, s.now)
		if wait != s.wantWait {
			t.Fatalf("step %d: wait %s, want %s", i, wait, s.wantWait)
		}
		if wait == 0 {
			b.next("k", s.now)
			continue
		}
		b.next("k", s.now.Add(wait))
	}
}

func TestPhase(t *testing.T) {
	exited := func(name string, code int) *runtime.Container {
		return &runtime.Container{ID: name, Name: name, State: runtime.ContainerExited, ExitCode: code}
	}
	running := func(name string) *runtime.Container {
		return &runtime.Container{ID: name, Name: name, State: runtime.ContainerRunning}
	}
	tests := []struct {
		name    string
		policy  core.RestartPolicy
		init    []*runtime.Container
		app     []*runtime.Container
		waiting map[string]core.ContainerStateWaiting
		want    core.PodPhase
	}{
		{"nothing started", core.RestartPolicyAlways, nil, nil, nil, core.PodPending},
		{"running", core.RestartPolicyAlways, nil, []*runtime.Container{running("a")}, nil, core.PodRunning},
		{"all exited 0, Never", core.RestartPolicyNever, nil, []*runtime.Container{exited("a", 0)}, nil, core.PodSucceeded},
		{"one failed, Never", core.RestartPolicyNever, nil, []*runtime.Container{exited("a", 1)}, nil, core.PodFailed},
		{"exited, Always", core.RestartPolicyAlways, nil, []*runtime.Container{exited("a", 0)}, nil, core.PodRunning},
		{"back-off is Running", core.RestartPolicyAlways, nil, []*runtime.Container{exited("a", 1)},
			map[string]core.ContainerStateWaiting{"a": {Reason: "CrashLoopBackOff"}}, core.PodRunning},
		{"init pending", core.RestartPolicyAlways, []*runtime.Container{running("i")}, nil, nil, core.PodPending},
		{"init failed, Never", core.RestartPolicyNever, []*runtime.Container{exited("i", 1)}, nil, nil, core.PodFailed},
		{"init failed, OnFailure", core.RestartPolicyOnFailure, []*runtime.Container{exited("i", 1)}, nil, nil, core.PodPending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &core.Pod{Spec: core.PodSpec{RestartPolicy: tc.policy, Containers: []core.Container{{Name: "a"}}}}
			if tc.init != nil {
				pod.Spec.InitContainers = []core.Container{{Name: "i"}}
			}
			o := newObserved()
			o.containers = group(append(append([]*runtime.Container{}, tc.init...), tc.app...))
			for k, v := range tc.waiting {
				o.waiting[k] = v
			}
			st := o.podStatus(pod)
			if st.Phase != tc.want {
				t.Errorf("phase %s, want %s (%+v)", st.Phase, tc.want, st.ContainerStatuses)
			}
		})
	}
}

func TestConditionTransitionTimesSurviveUnchanged(t *testing.T) {
	old := meta.NewTime(time.Unix(1000, 0))
	pod := &core.Pod{Spec: core.PodSpec{Containers: []core.Container{{Name: "a"}}}}
	pod.Status.Conditions = []core.PodCondition{
		{Type: core.PodReady, Status: core.ConditionTrue, LastTransitionTime: old},
		{Type: core.PodScheduled, Status: core.ConditionTrue, LastTransitionTime: old},
	}
	o := newObserved()
	o.containers = group([]*runtime.Container{{ID: "x", Name: "a", State: runtime.ContainerRunning}})
	st := o.podStatus(pod)
	for _, c := range st.Conditions {
		if (c.Type == core.PodReady || c.Type == core.PodScheduled) && !c.LastTransitionTime.Equal(old.Time) {
			t.Errorf("%s transition time changed to %s", c.Type, c.LastTransitionTime)
		}
	}
}

func TestResolvConf(t *testing.T) {
	host := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(host, []byte("nameserver 192.0.2.53\nsearch example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DNSConfig{ClusterDNS: []string{"10.96.0.10"}, ClusterDomain: "cluster.local", HostResolvConf: host}
	v := "2"
	tests := []struct {
		name string
		spec core.PodSpec
		want string
	}{
		{"ClusterFirst", core.PodSpec{}, "search ns.svc.cluster.local svc.cluster.local cluster.local example.com\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"Default", core.PodSpec{DNSPolicy: core.DNSDefault}, "search example.com\nnameserver 192.0.2.53\n"},
		{"host network means Default", core.PodSpec{HostNetwork: true}, "search example.com\nnameserver 192.0.2.53\n"},
		{"None with dnsConfig", core.PodSpec{DNSPolicy: core.DNSNone, DNSConfig: &core.PodDNSConfig{
			Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.b"}, Options: []core.PodDNSConfigOption{{Name: "ndots", Value: &v}}}},
			"search a.b\nnameserver 1.1.1.1\noptions ndots:2\n"},
	}
	for _, tc := range tests {
		pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns"}, Spec: tc.spec}
		got, err := resolvConf(pod, cfg)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q (%v), want %q", tc.name, got, err, tc.want)
		}
	}
}

func TestServiceEnv(t *testing.T) {
	svc := &core.Service{ObjectMeta: meta.ObjectMeta{Name: "redis-master", Namespace: "ns"},
		Spec: core.ServiceSpec{ClusterIP: "10.96.0.11", Ports: []core.ServicePort{{Name: "db", Port: 6379, Protocol: core.ProtocolTCP}}}}
	other := &core.Service{ObjectMeta: meta.ObjectMeta{Name: "elsewhere", Namespace: "other"},
		Spec: core.ServiceSpec{ClusterIP: "10.96.0.12", Ports: []core.ServicePort{{Port: 80}}}}
	master := &core.Service{ObjectMeta: meta.ObjectMeta{Name: "kubernetes", Namespace: "default"},
		Spec: core.ServiceSpec{ClusterIP: "10.96.0.1", Ports: []core.ServicePort{{Name: "https", Port: 443, Protocol: core.ProtocolTCP}}}}
	// Without service links only the API server's variables are set.
	if env := serviceEnv([]*core.Service{svc, other, master}, "ns", false); len(env) == 0 ||
		env["KUBERNETES_SERVICE_HOST"] != "10.96.0.1" || env["KUBERNETES_SERVICE_PORT"] != "443" || env["REDIS_MASTER_SERVICE_HOST"] != "" {
		t.Errorf("enableServiceLinks false: %v", env)
	}
	env := serviceEnv([]*core.Service{svc, other, master}, "ns", true)
	want := map[string]string{
		"REDIS_MASTER_SERVICE_HOST":       "10.96.0.11",
		"REDIS_MASTER_SERVICE_PORT":       "6379",
		"REDIS_MASTER_SERVICE_PORT_DB":    "6379",
		"REDIS_MASTER_PORT":               "tcp://10.96.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP":      "tcp://10.96.0.11:6379",
		"REDIS_MASTER_PORT_6379_TCP_ADDR": "10.96.0.11",
		"KUBERNETES_SERVICE_HOST":         "10.96.0.1",
		"KUBERNETES_SERVICE_PORT":         "443",
		"KUBERNETES_SERVICE_PORT_HTTPS":   "443",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	for k := range env {
		if strings.HasPrefix(k, "ELSEWHERE") {
			t.Errorf("a service of another namespace leaked: %s", k)
		}
	}
}

func TestMergeDiff(t *testing.T) {
	a := map[string]any{"phase": "Pending", "podIP": "10.0.0.1", "nested": map[string]any{"x": 1.0, "y": 2.0}}
	b := map[string]any{"phase": "Running", "nested": map[string]any{"x": 1.0, "y": 3.0}}
	d := mergeDiff(a, b)
	if d["phase"] != "Running" || d["podIP"] != nil || len(d) != 3 {
		t.Errorf("diff %v", d)
	}
	if _, ok := d["podIP"]; !ok {
		t.Errorf("a removed field must be nulled: %v", d)
	}
	if n := d["nested"].(map[string]any); len(n) != 1 || n["y"] != 3.0 {
		t.Errorf("nested diff %v", n)
	}
}
