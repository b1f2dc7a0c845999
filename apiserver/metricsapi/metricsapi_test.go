package metricsapi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/statsapi"
)

func node(name string, ready core.ConditionStatus) *core.Node {
	n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: name}}
	if ready != "" {
		n.Status.Conditions = []core.NodeCondition{{Type: core.NodeReady, Status: ready}}
	}
	return n
}

func u(v uint64) *uint64 { return &v }

func TestSummaries(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]bool{}
	g := &Gatherer{Timeout: 50 * time.Millisecond, Fetch: func(ctx context.Context, n *core.Node) (*statsapi.Summary, error) {
		mu.Lock()
		asked[n.Name] = true
		mu.Unlock()
		switch n.Name {
		case "hangs":
			<-ctx.Done()
			return nil, ctx.Err()
		case "fails":
			return nil, errors.New("connection refused")
		}
		return &statsapi.Summary{Node: statsapi.NodeStats{NodeName: n.Name}}, nil
	}}
	start := time.Now()
	got := g.Summaries(context.Background(), []*core.Node{
		node("ok", core.ConditionTrue), node("hangs", core.ConditionTrue), node("fails", core.ConditionTrue),
		node("notready", core.ConditionFalse), node("unknown", ""),
	})
	if time.Since(start) > 5*time.Second {
		t.Fatalf("waited %v", time.Since(start))
	}
	if len(got) != 1 || got["ok"] == nil {
		t.Errorf("summaries: %v", got)
	}
	if asked["notready"] || asked["unknown"] {
		t.Errorf("asked a node that is not Ready: %v", asked)
	}
}

func TestPodMetrics(t *testing.T) {
	g := &Gatherer{}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "ns", UID: "u1", Labels: map[string]string{"a": "b"}}}
	full := func(name string) statsapi.ContainerStats {
		return statsapi.ContainerStats{Name: name, CPU: &statsapi.CPUStats{UsageNanoCores: u(250_000_000)}, Memory: &statsapi.MemoryStats{WorkingSetBytes: u(1 << 20)}}
	}
	ref := statsapi.PodReference{Name: "p", Namespace: "ns", UID: "u1"}
	tests := []struct {
		name string
		sum  *statsapi.Summary
		ok   bool
	}{
		{"complete", &statsapi.Summary{Pods: []statsapi.PodStats{{PodRef: ref, Containers: []statsapi.ContainerStats{full("a"), full("b")}}}}, true},
		{"a container without a rate yet", &statsapi.Summary{Pods: []statsapi.PodStats{{PodRef: ref, Containers: []statsapi.ContainerStats{full("a"),
			{Name: "b", CPU: &statsapi.CPUStats{}, Memory: &statsapi.MemoryStats{WorkingSetBytes: u(1)}}}}}}, false},
		{"no containers", &statsapi.Summary{Pods: []statsapi.PodStats{{PodRef: ref}}}, false},
		{"another pod of the same name (recreated)", &statsapi.Summary{Pods: []statsapi.PodStats{{PodRef: statsapi.PodReference{Name: "p", Namespace: "ns", UID: "old"},
			Containers: []statsapi.ContainerStats{full("a")}}}}, false},
		{"no summary", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := g.PodMetrics(pod, tc.sum)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			cpu, mem := m.Containers[1].Usage[core.ResourceCPU], m.Containers[1].Usage[core.ResourceMemory]
			if len(m.Containers) != 2 || cpu.MilliValue() != 250 || mem.Value() != 1<<20 || m.Labels["a"] != "b" || m.Window.Duration != 10*time.Second {
				t.Errorf("metrics: %+v", m)
			}
		})
	}
}

func TestNodeMetrics(t *testing.T) {
	g := &Gatherer{Window: 15 * time.Second}
	n := node("n1", core.ConditionTrue)
	if _, ok := g.NodeMetrics(n, &statsapi.Summary{Node: statsapi.NodeStats{CPU: &statsapi.CPUStats{UsageCoreNanoSeconds: u(5)}}}); ok {
		t.Error("a node without a CPU rate has metrics")
	}
	m, ok := g.NodeMetrics(n, &statsapi.Summary{Node: statsapi.NodeStats{CPU: &statsapi.CPUStats{UsageNanoCores: u(1_500_000_000)},
		Memory: &statsapi.MemoryStats{WorkingSetBytes: u(2 << 30)}}})
	if !ok {
		t.Fatal("no metrics")
	}
	cpu, mem := m.Usage[core.ResourceCPU], m.Usage[core.ResourceMemory]
	if cpu.MilliValue() != 1500 || mem.Value() != 2<<30 || m.Window.Duration != 15*time.Second || m.Name != "n1" {
		t.Errorf("%+v", m)
	}
}
