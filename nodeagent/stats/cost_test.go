package stats

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
)

// BenchmarkRefreshCgroups is the node agent's CPU cost of one stats sample of a node with N
// running pods of one container each, read from real kernel cgroup files (cgroups made for
// the benchmark under /sys/fs/cgroup, with no tasks in them: reading a cgroup's counters costs
// the same whatever runs in it). The sim runtime only lists the containers. Needs root and
// cgroupfs; reported per sample, and as cpu-%/interval: the share of one core taken at the
// kubelet's default 10 s sampling interval.
//
//	go test ./nodeagent/stats -run '^$' -bench RefreshCgroups -benchtime 200x
func BenchmarkRefreshCgroups(b *testing.B) {
	for _, n := range []int{0, 30, 110} {
		b.Run(fmt.Sprintf("pods=%d", n), func(b *testing.B) {
			c := cgroupCollector(b, n)
			ctx := context.Background()
			c.Refresh(ctx)
			var before, after syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &before)
			b.ResetTimer()
			for range b.N {
				if s := c.Refresh(ctx); len(s.Pods) != n {
					b.Fatalf("sampled %d pods, want %d", len(s.Pods), n)
				}
			}
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &after)
			cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
			perSample := cpu / time.Duration(b.N)
			b.ReportMetric(float64(perSample.Microseconds()), "cpu-µs/sample")
			b.ReportMetric(100*perSample.Seconds()/10, "cpu-%/10s")
		})
	}
}

// cgroupCollector is a collector over n pods whose cgroups exist under the v1 hierarchies
// (or the v2 tree) of /sys/fs/cgroup, removed when b ends.
func cgroupCollector(b *testing.B, n int) *Collector {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("needs root to make cgroups")
	}
	cg := NewCgroups("")
	root := fmt.Sprintf("skiff-stats-bench-%d", os.Getpid())
	var hierarchies []string
	if cg.V2() {
		hierarchies = []string{""}
	} else {
		hierarchies = []string{cg.cpuacct, "memory", "pids"}
	}
	var made []string
	mk := func(rel string) {
		for _, h := range hierarchies {
			dir := filepath.Join("/sys/fs/cgroup", h, rel)
			if err := os.Mkdir(dir, 0o755); err != nil {
				b.Skipf("cannot make cgroup %s: %v", dir, err)
			}
			made = append(made, dir)
		}
	}
	b.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			os.Remove(made[i])
		}
	})
	mk(root)
	rt := sim.New(sim.Options{})
	var pods []*core.Pod
	ctx := context.Background()
	for i := range n {
		uid := fmt.Sprintf("u%d", i)
		pod := &core.Pod{}
		pod.Name, pod.Namespace, pod.UID = fmt.Sprintf("p%d", i), "default", uid
		ref := runtime.PodRef{UID: uid, Namespace: "default", Name: pod.Name}
		sb, err := rt.RunPodSandbox(ctx, &runtime.SandboxConfig{Pod: ref})
		if err != nil {
			b.Fatal(err)
		}
		id, err := rt.CreateContainer(ctx, sb.ID, &runtime.ContainerConfig{Pod: ref, Name: "c", Image: "pause"})
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		mk(filepath.Join(root, "pod"+uid))
		mk(filepath.Join(root, "pod"+uid, id))
		pods = append(pods, pod)
	}
	src := &CgroupSource{Cgroups: cg, PodCgroup: func(p *core.Pod) string {
		return "/" + filepath.Join(root, "pod"+strings.TrimSpace(p.UID))
	}}
	return New(Config{NodeName: "bench", Pods: func() []*core.Pod { return pods }, Runtime: rt, Source: src})
}
