// Package metricsapi answers metrics.k8s.io/v1beta1 the way metrics-server does, but without
// storing anything: for each request it asks the node agents concerned for their latest
// usage sample (GET /stats/summary), each within a short timeout, and turns the samples into
// NodeMetrics and PodMetrics. A node that is not Ready is not asked, and a node that does not
// answer in time is left out: the answer never waits for a node that is down.
package metricsapi

import (
	"context"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/metrics"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// Fetch reads a node agent's /stats/summary.
type Fetch func(ctx context.Context, node *core.Node) (*statsapi.Summary, error)

// Gatherer collects summaries from node agents.
type Gatherer struct {
	Fetch Fetch
	// Timeout bounds each node's answer (default 5s).
	Timeout time.Duration
	// Window is the window NodeMetrics and PodMetrics report: the node agents' sampling
	// interval, over which their CPU rates are averaged (default 10s).
	Window time.Duration
}

func (g *Gatherer) timeout() time.Duration {
	if g.Timeout > 0 {
		return g.Timeout
	}
	return 5 * time.Second
}

func (g *Gatherer) window() meta.Duration {
	if g.Window > 0 {
		return meta.Duration{Duration: g.Window}
	}
	return meta.Duration{Duration: 10 * time.Second}
}

// Summaries asks every Ready node of nodes at once and returns the answers by node name;
// nodes that are not Ready, fail or time out are missing.
func (g *Gatherer) Summaries(ctx context.Context, nodes []*core.Node) map[string]*statsapi.Summary {
	out := make(map[string]*statsapi.Summary, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		if !nodeReady(n) {
			continue
		}
		wg.Go(func() {
			nctx, cancel := context.WithTimeout(ctx, g.timeout())
			defer cancel()
			s, err := g.Fetch(nctx, n)
			if err != nil || s == nil {
				return
			}
			mu.Lock()
			out[n.Name] = s
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

func nodeReady(n *core.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == core.NodeReady {
			return c.Status == core.ConditionTrue
		}
	}
	return false
}

// NodeMetrics is node's usage from its summary; false when the summary has no CPU rate yet
// (metrics-server leaves such a node out too).
func (g *Gatherer) NodeMetrics(node *core.Node, s *statsapi.Summary) (*metrics.NodeMetrics, bool) {
	if s == nil || s.Node.CPU == nil || s.Node.CPU.UsageNanoCores == nil || s.Node.Memory == nil || s.Node.Memory.WorkingSetBytes == nil {
		return nil, false
	}
	return &metrics.NodeMetrics{
		TypeMeta:   meta.TypeMeta{Kind: "NodeMetrics", APIVersion: metrics.GroupName + "/" + metrics.Version},
		ObjectMeta: meta.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: meta.Now()},
		Timestamp:  s.Node.CPU.Time, Window: g.window(),
		Usage: usage(*s.Node.CPU.UsageNanoCores, *s.Node.Memory.WorkingSetBytes),
	}, true
}

// PodMetrics is pod's usage from its node's summary; false when the pod is not in it or
// any of its containers has no CPU rate or memory yet (metrics-server skips incomplete
// pods: a partial sum would under-report to an autoscaler).
func (g *Gatherer) PodMetrics(pod *core.Pod, s *statsapi.Summary) (*metrics.PodMetrics, bool) {
	if s == nil {
		return nil, false
	}
	for i := range s.Pods {
		ps := &s.Pods[i]
		if ps.PodRef.UID != pod.UID || ps.PodRef.Namespace != pod.Namespace || ps.PodRef.Name != pod.Name {
			continue
		}
		if len(ps.Containers) == 0 {
			return nil, false
		}
		m := &metrics.PodMetrics{
			TypeMeta:   meta.TypeMeta{Kind: "PodMetrics", APIVersion: metrics.GroupName + "/" + metrics.Version},
			ObjectMeta: meta.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels, CreationTimestamp: meta.Now()},
			Window:     g.window(),
		}
		for _, c := range ps.Containers {
			if c.CPU == nil || c.CPU.UsageNanoCores == nil || c.Memory == nil || c.Memory.WorkingSetBytes == nil {
				return nil, false
			}
			if c.CPU.Time.After(m.Timestamp.Time) {
				m.Timestamp = c.CPU.Time
			}
			m.Containers = append(m.Containers, metrics.ContainerMetrics{Name: c.Name, Usage: usage(*c.CPU.UsageNanoCores, *c.Memory.WorkingSetBytes)})
		}
		return m, true
	}
	return nil, false
}

// usage is cpu in nanocores and memory in bytes, as metrics-server formats them.
func usage(nanoCores, bytes uint64) core.ResourceList {
	return core.ResourceList{
		core.ResourceCPU:    *resource.NewScaledQuantity(int64(nanoCores), resource.Nano),
		core.ResourceMemory: *resource.NewQuantity(int64(bytes), resource.BinarySI),
	}
}
