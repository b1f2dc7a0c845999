package stats

import (
	"context"
	"github.com/skiff-sh/skiff/api/statsapi"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCgroupsRead(t *testing.T) {
	const pod = "skiff/burstable/podu1"
	tests := []struct {
		name  string
		files map[string]string
		v2    bool
		want  Usage
	}{
		{
			name: "v1 with cpu and cpuacct apart (this machine's hybrid layout)",
			files: map[string]string{
				"cpuacct/" + pod + "/cpuacct.usage":        "1500000000\n",
				"memory/" + pod + "/memory.usage_in_bytes": "10485760\n",
				"memory/" + pod + "/memory.stat":           "cache 1\nrss 2\ntotal_rss 4194304\ntotal_inactive_file 2097152\ntotal_pgfault 7\ntotal_pgmajfault 1\n",
				"unified/cgroup.procs":                     "",
			},
			want: Usage{CPUUsageNanos: 1500000000, MemoryUsage: 10485760, MemoryWorkingSet: 8388608, MemoryRSS: 4194304, PageFaults: 7, MajorPageFaults: 1},
		},
		{
			name: "v1 with cpu,cpuacct joined",
			files: map[string]string{
				"cpu,cpuacct/" + pod + "/cpuacct.usage":    "42\n",
				"memory/" + pod + "/memory.usage_in_bytes": "100\n",
				"memory/" + pod + "/memory.stat":           "total_inactive_file 400\n",
			},
			want: Usage{CPUUsageNanos: 42, MemoryUsage: 100}, // inactive above usage: working set 0
		},
		{
			name: "v2",
			files: map[string]string{
				"cgroup.controllers":    "cpu memory\n",
				pod + "/cpu.stat":       "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
				pod + "/memory.current": "3000\n",
				pod + "/memory.stat":    "anon 1000\nfile 2000\ninactive_file 500\npgfault 9\npgmajfault 2\n",
			},
			v2:   true,
			want: Usage{CPUUsageNanos: 2500000, MemoryUsage: 3000, MemoryWorkingSet: 2500, MemoryRSS: 1000, PageFaults: 9, MajorPageFaults: 2},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for p, c := range tc.files {
				write(t, filepath.Join(root, p), c)
			}
			cg := NewCgroups(root)
			if cg.V2() != tc.v2 {
				t.Fatalf("v2 = %v", cg.V2())
			}
			got, err := cg.Read("/" + pod)
			if err != nil {
				t.Fatal(err)
			}
			got.Time = time.Time{}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if _, err := cg.Read("/skiff/gone"); !os.IsNotExist(unwrapAll(err)) {
				t.Errorf("missing cgroup: %v", err)
			}
		})
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestProcRead(t *testing.T) {
	root := t.TempDir()
	// user nice system idle iowait irq softirq steal guest guest_nice
	write(t, filepath.Join(root, "stat"), "cpu  100 10 50 9000 40 5 5 0 7 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	write(t, filepath.Join(root, "meminfo"), "MemTotal:       1000 kB\nMemFree:         200 kB\nMemAvailable:    500 kB\nInactive(file):  300 kB\nAnonPages:       100 kB\n")
	u, capacity, err := Proc{Root: root}.Read()
	if err != nil {
		t.Fatal(err)
	}
	if u.CPUUsageNanos != 170*1e7 {
		t.Errorf("cpu = %d, want %d (busy jiffies × 10ms)", u.CPUUsageNanos, 170*10000000)
	}
	if capacity != 1000*1024 || u.MemoryUsage != 800*1024 || u.MemoryWorkingSet != 500*1024 || u.MemoryRSS != 100*1024 {
		t.Errorf("memory: capacity %d usage %d working set %d rss %d", capacity, u.MemoryUsage, u.MemoryWorkingSet, u.MemoryRSS)
	}
}

func TestProcRlimit(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "sys/kernel/pid_max"), "4194304\n")
	write(t, filepath.Join(root, "sys/kernel/threads-max"), "190000\n")
	write(t, filepath.Join(root, "loadavg"), "0.52 0.58 0.59 3/1234 56789\n")
	r, err := Proc{Root: root}.Rlimit()
	if err != nil {
		t.Fatal(err)
	}
	if r.MaxPID == nil || *r.MaxPID != 190000 || r.NumOfRunningProcesses == nil || *r.NumOfRunningProcesses != 1234 {
		t.Errorf("rlimit %+v, want maxpid 190000 (the lower) and 1234 tasks", r)
	}
	write(t, filepath.Join(root, "loadavg"), "0.52 0.58\n")
	if _, err := (Proc{Root: root}).Rlimit(); err == nil {
		t.Error("a short loadavg: want an error")
	}
}

// fakeClock advances by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func simPod(uid string, annotations map[string]string, containers ...string) *core.Pod {
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p-" + uid, Namespace: "ns", UID: uid, Annotations: annotations}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, core.Container{Name: c, Resources: core.ResourceRequirements{
			Requests: core.ResourceList{core.ResourceCPU: resource.MustParse("200m"), core.ResourceMemory: resource.MustParse("100Mi")}}})
	}
	return p
}

// startPod runs pod's containers in the sim runtime.
func startPod(t *testing.T, rt *sim.Runtime, pod *core.Pod) {
	t.Helper()
	ctx := context.Background()
	ref := runtime.PodRef{UID: pod.UID, Namespace: pod.Namespace, Name: pod.Name}
	sb, err := rt.RunPodSandbox(ctx, &runtime.SandboxConfig{Pod: ref})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pod.Spec.Containers {
		id, err := rt.CreateContainer(ctx, sb.ID, &runtime.ContainerConfig{Pod: ref, Name: c.Name, Image: "busybox"})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCollectorSimRates(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	rt := sim.New(sim.Options{})
	busy := simPod("u1", map[string]string{SimCPUAnnotation: "250m", SimMemoryAnnotation + ".b": "64Mi"}, "a", "b")
	idle := simPod("u2", nil, "c")
	notRunning := simPod("u3", nil, "d")
	startPod(t, rt, busy)
	startPod(t, rt, idle)
	pods := []*core.Pod{busy, idle, notRunning}
	src := &Sim{Capacity: core.ResourceList{core.ResourceMemory: resource.MustParse("1Gi")}, Now: clock.now}
	c := New(Config{NodeName: "n1", Pods: func() []*core.Pod { return pods }, Runtime: rt, Source: src})
	ctx := context.Background()

	first := c.Refresh(ctx)
	if len(first.Pods) != 2 {
		t.Fatalf("pods in the first sample: %d, want the 2 running", len(first.Pods))
	}
	if first.Pods[0].CPU.UsageNanoCores != nil {
		t.Errorf("a rate from one sample: %d", *first.Pods[0].CPU.UsageNanoCores)
	}
	clock.t = clock.t.Add(10 * time.Second)
	s := c.Refresh(ctx)
	byName := map[string]statsapi.ContainerStats{}
	for _, c := range s.Pods[0].Containers {
		byName[c.Name] = c
	}
	if got := *byName["a"].CPU.UsageNanoCores; got != 250_000_000 {
		t.Errorf("container a: %d nanocores, want 250m", got)
	}
	if got := *s.Pods[0].CPU.UsageNanoCores; got != 500_000_000 {
		t.Errorf("pod: %d nanocores, want both containers' 500m", got)
	}
	if got := *byName["b"].Memory.WorkingSetBytes; got != 64<<20 {
		t.Errorf("container b memory: %d, want 64Mi", got)
	}
	// Without annotations: 10–50 % of the 200m request, the same on every sample.
	idleRate := *s.Pods[1].CPU.UsageNanoCores
	if idleRate < 20_000_000 || idleRate > 100_000_000 {
		t.Errorf("idle pod: %d nanocores, want 20m–100m", idleRate)
	}
	if mem := *s.Pods[1].Memory.WorkingSetBytes; mem < 30<<20 || mem > 70<<20 {
		t.Errorf("idle pod memory: %d", mem)
	}
	// The node: its base plus the pods' usage; available = capacity − working set.
	node := s.Node
	if got := *node.CPU.UsageNanoCores; got != 500_000_000+idleRate+50_000_000 {
		t.Errorf("node: %d nanocores", got)
	}
	if *node.Memory.AvailableBytes+*node.Memory.WorkingSetBytes != 1<<30 {
		t.Errorf("node memory: available %d + working set %d != capacity", *node.Memory.AvailableBytes, *node.Memory.WorkingSetBytes)
	}

	// Load taken off: the rate follows from the next sample on.
	busy.Annotations = map[string]string{SimCPUAnnotation: "10m"}
	clock.t = clock.t.Add(10 * time.Second)
	s = c.Refresh(ctx)
	if got := *s.Pods[0].CPU.UsageNanoCores; got != 20_000_000 {
		t.Errorf("after the annotation changed: %d nanocores, want 20m", got)
	}
	if s2 := c.Refresh(ctx); c.Latest() != s2 || c.Samples() != 4 {
		t.Errorf("Latest is not the last sample (%d samples)", c.Samples())
	}
}

func TestSimUsageDeterministic(t *testing.T) {
	p := simPod("same", nil, "a")
	c1, m1 := SimUsage(p, &p.Spec.Containers[0])
	c2, m2 := SimUsage(simPod("same", nil, "a"), &p.Spec.Containers[0])
	if c1 != c2 || m1 != m2 {
		t.Errorf("not deterministic: %d/%d vs %d/%d", c1, m1, c2, m2)
	}
	other := simPod("other", nil, "a")
	if c3, m3 := SimUsage(other, &other.Spec.Containers[0]); c3 == c1 && m3 == m1 {
		t.Logf("two pods drew the same usage (possible, unlikely)")
	}
}

func TestWriteResourceMetrics(t *testing.T) {
	v := func(n uint64) *uint64 { return &n }
	ts := meta.NewTime(time.Unix(1_700_000_000, 0))
	s := &statsapi.Summary{
		Node: statsapi.NodeStats{NodeName: "n1", CPU: &statsapi.CPUStats{Time: ts, UsageCoreNanoSeconds: v(3_500_000_000)},
			Memory: &statsapi.MemoryStats{Time: ts, WorkingSetBytes: v(1 << 30)}},
		Pods: []statsapi.PodStats{{PodRef: statsapi.PodReference{Name: "web", Namespace: "default"},
			CPU: &statsapi.CPUStats{Time: ts, UsageCoreNanoSeconds: v(1_000_000_000)}, Memory: &statsapi.MemoryStats{Time: ts, WorkingSetBytes: v(1024)},
			Containers: []statsapi.ContainerStats{{Name: "app", StartTime: ts, CPU: &statsapi.CPUStats{Time: ts, UsageCoreNanoSeconds: v(500_000_000)},
				Memory: &statsapi.MemoryStats{Time: ts, WorkingSetBytes: v(512)}}}}},
	}
	var b strings.Builder
	if err := WriteResourceMetrics(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE container_cpu_usage_seconds_total counter\n",
		`container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 0.5 1700000000000` + "\n",
		`container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 512 1700000000000` + "\n",
		`container_start_time_seconds{container="app",namespace="default",pod="web"} 1700000000` + "\n",
		"node_cpu_usage_seconds_total 3.5 1700000000000\n",
		"node_memory_working_set_bytes 1.073741824e+09 1700000000000\n",
		`pod_cpu_usage_seconds_total{namespace="default",pod="web"} 1 1700000000000` + "\n",
		`pod_memory_working_set_bytes{namespace="default",pod="web"} 1024 1700000000000` + "\n",
		"resource_scrape_error 0\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// Local storage: each container's writable layer and logs, the pod's emptyDirs, and the
// pod's total — disk-backed volumes in it, memory-backed ones not.
func TestCollectorLocalStorage(t *testing.T) {
	rt := sim.New(sim.Options{})
	p := simPod("u1", map[string]string{SimEphemeralStorageAnnotation + ".a": "30Mi"}, "a", "b")
	startPod(t, rt, p)
	vols := fakeVolumes{stats: []statsapi.VolumeStats{
		{Name: "disk", FsStats: statsapi.FsStats{UsedBytes: ptr(5 << 20), InodesUsed: ptr(2)}},
		{Name: "mem", FsStats: statsapi.FsStats{UsedBytes: ptr(7 << 20), InodesUsed: ptr(1)}},
	}, memory: map[string]bool{"mem": true}}
	c := New(Config{NodeName: "n1", Pods: func() []*core.Pod { return []*core.Pod{p} }, Runtime: rt,
		Source: &Sim{Capacity: core.ResourceList{core.ResourceMemory: resource.MustParse("1Gi")}}, LocalStorage: vols})
	s := c.Refresh(context.Background())
	ps := s.Pods[0]
	byName := map[string]statsapi.ContainerStats{}
	for _, c := range ps.Containers {
		byName[c.Name] = c
	}
	if got := *byName["a"].Rootfs.UsedBytes; got != 30<<20 {
		t.Errorf("container a's writable layer: %d", got)
	}
	if got := *ps.EphemeralStorage.UsedBytes; got != 35<<20 {
		t.Errorf("pod local storage %d, want 35Mi (30Mi layer + 5Mi disk emptyDir; not the tmpfs)", got)
	}
	if len(ps.VolumeStats) != 2 {
		t.Errorf("volume stats %+v", ps.VolumeStats)
	}
}

// fakeVolumes reports fixed volume stats and SimStorage's containers.
type fakeVolumes struct {
	SimStorage
	stats  []statsapi.VolumeStats
	memory map[string]bool
}

func (f fakeVolumes) Volumes(*core.Pod) ([]statsapi.VolumeStats, map[string]bool) {
	return f.stats, f.memory
}
