// Package stats is the node agent's resource usage: it samples the CPU and memory of the
// node and of every running pod and container (from their cgroups, or synthetic on
// simulated nodes) at a fixed interval, turns the cumulative CPU counters into rates, and
// keeps the latest sample as a kubelet Summary (GET /stats/summary) that the Prometheus
// text of /metrics/resource, `kubectl top` (through the API server) and node-pressure
// eviction read.
//
// Sources of numbers: Cgroups (cgroup v1, hybrid or v2 under cgroupfs) and Proc
// (/proc/stat, /proc/meminfo) for real nodes; Sim for simulated ones.
package stats

import (
	"context"
	"github.com/skiff-sh/skiff/api/statsapi"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Source reads cumulative usage counters.
type Source interface {
	// Node is the node's usage and its memory capacity in bytes.
	Node() (Usage, uint64, error)
	// Pod is a pod's total (its cgroup: its containers and the sandbox's).
	Pod(pod *core.Pod) (Usage, error)
	// Container is one running container's.
	Container(pod *core.Pod, c *runtime.Container) (Usage, error)
}

// Config of a Collector.
type Config struct {
	NodeName string
	// Interval between samples (default 10s, the kubelet's housekeeping interval); a rate
	// is the average over one interval.
	Interval time.Duration
	// Pods are the node's pods (the pod workers' latest copies).
	Pods func() []*core.Pod
	// Runtime lists the running containers.
	Runtime runtime.Runtime
	Source  Source
	// NodeFs and ImageFs report the node's and the runtime's filesystems (nil: not reported).
	NodeFs  func(ctx context.Context) (*runtime.FsUsage, error)
	ImageFs func(ctx context.Context) (*runtime.FsUsage, error)
	// Rlimit reports the node's task ceiling and count (nil: not reported).
	Rlimit func() (*statsapi.RlimitStats, error)
	// LocalStorage reports a pod's local storage (nil: not reported): see LocalStorage.
	LocalStorage LocalStorage
	Log          *slog.Logger
}

// Collector samples usage; Latest is safe for concurrent use.
type Collector struct {
	cfg     Config
	started time.Time
	latest  atomic.Pointer[statsapi.Summary]
	samples atomic.Int64

	mu   sync.Mutex       // one sample at a time
	prev map[string]Usage // the last sample per key ("node", pod UID, pod UID/container ID)
}

// New returns a collector; Run samples until ctx ends.
func New(cfg Config) *Collector {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Collector{cfg: cfg, started: time.Now(), prev: map[string]Usage{}}
}

// Interval is the sampling interval.
func (c *Collector) Interval() time.Duration { return c.cfg.Interval }

// Run samples at once and then every Interval until ctx ends.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Latest is the last sample, nil before the first. CPU rates appear from the second
// sample of a pod or container on (a rate needs two).
func (c *Collector) Latest() *statsapi.Summary { return c.latest.Load() }

// Samples is how many samples were taken (tests wait for rates with it).
func (c *Collector) Samples() int64 { return c.samples.Load() }

// Refresh takes a sample now and returns it.
func (c *Collector) Refresh(ctx context.Context) *statsapi.Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := map[string]Usage{}
	s := &statsapi.Summary{Node: statsapi.NodeStats{NodeName: c.cfg.NodeName, StartTime: meta.NewTime(c.started)}, Pods: []statsapi.PodStats{}}

	running := map[string][]*runtime.Container{}
	if cs, err := c.cfg.Runtime.ListContainers(ctx, ""); err != nil {
		c.cfg.Log.Debug("stats: list containers", "err", err)
	} else {
		for _, ct := range cs {
			if ct.State == runtime.ContainerRunning {
				running[ct.Pod.UID] = append(running[ct.Pod.UID], ct)
			}
		}
	}
	for _, pod := range c.cfg.Pods() {
		cts := running[pod.UID]
		if len(cts) == 0 {
			continue
		}
		ps := statsapi.PodStats{PodRef: statsapi.PodReference{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID}, Containers: []statsapi.ContainerStats{}}
		if pod.Status.StartTime != nil {
			ps.StartTime = *pod.Status.StartTime
		} else {
			ps.StartTime = pod.CreationTimestamp
		}
		if u, err := c.cfg.Source.Pod(pod); err == nil {
			cur[pod.UID] = u
			ps.CPU, ps.Memory = c.cpu(pod.UID, u), memory(u, 0)
			if u.Processes > 0 {
				ps.ProcessStats = &statsapi.ProcessStats{ProcessCount: ptr(u.Processes)}
			}
		}
		for _, ct := range cts {
			u, err := c.cfg.Source.Container(pod, ct)
			if err != nil {
				continue // gone between the listing and the read
			}
			key := pod.UID + "/" + ct.ID
			cur[key] = u
			ps.Containers = append(ps.Containers, statsapi.ContainerStats{
				Name: ct.Name, StartTime: meta.NewTime(ct.StartedAt), CPU: c.cpu(key, u), Memory: memory(u, 0),
			})
		}
		if c.cfg.LocalStorage != nil {
			c.localStorage(ctx, pod, cts, &ps)
		}
		s.Pods = append(s.Pods, ps)
	}
	if u, capacity, err := c.cfg.Source.Node(); err != nil {
		c.cfg.Log.Debug("stats: node", "err", err)
	} else {
		cur["node"] = u
		s.Node.CPU, s.Node.Memory = c.cpu("node", u), memory(u, capacity)
	}
	if c.cfg.NodeFs != nil {
		if fs, err := c.cfg.NodeFs(ctx); err == nil {
			s.Node.Fs = fsStats(fs)
		}
	}
	if c.cfg.ImageFs != nil {
		if fs, err := c.cfg.ImageFs(ctx); err == nil {
			s.Node.Runtime = &statsapi.RuntimeStats{ImageFs: fsStats(fs)}
		}
	}
	if c.cfg.Rlimit != nil {
		if r, err := c.cfg.Rlimit(); err == nil {
			s.Node.Rlimit = r
		}
	}
	c.prev = cur
	c.latest.Store(s)
	c.samples.Add(1)
	return s
}

// cpu is the CPU stats of key's sample u: the counter, and the rate since the previous
// sample of the same key (none for the first, or after a counter reset).
func (c *Collector) cpu(key string, u Usage) *statsapi.CPUStats {
	total := u.CPUUsageNanos
	st := &statsapi.CPUStats{Time: meta.NewTime(u.Time), UsageCoreNanoSeconds: &total}
	if p, ok := c.prev[key]; ok && u.Time.After(p.Time) && u.CPUUsageNanos >= p.CPUUsageNanos {
		rate := uint64(float64(u.CPUUsageNanos-p.CPUUsageNanos) / u.Time.Sub(p.Time).Seconds())
		st.UsageNanoCores = &rate
	}
	return st
}

// memory is the memory stats of u; with a capacity, the bytes still available (capacity −
// working set), as the kubelet reports for the node.
func memory(u Usage, capacity uint64) *statsapi.MemoryStats {
	m := &statsapi.MemoryStats{Time: meta.NewTime(u.Time), UsageBytes: ptr(u.MemoryUsage), WorkingSetBytes: ptr(u.MemoryWorkingSet),
		RSSBytes: ptr(u.MemoryRSS), PageFaults: ptr(u.PageFaults), MajorPageFaults: ptr(u.MajorPageFaults)}
	if capacity > 0 {
		m.AvailableBytes = ptr(capacity - min(capacity, u.MemoryWorkingSet))
	}
	return m
}

func fsStats(f *runtime.FsUsage) *statsapi.FsStats {
	return &statsapi.FsStats{Time: meta.Now(), AvailableBytes: ptr(f.FreeBytes), CapacityBytes: ptr(f.CapacityBytes),
		UsedBytes: ptr(f.CapacityBytes - min(f.CapacityBytes, f.FreeBytes)), InodesFree: ptr(f.InodesFree),
		Inodes: ptr(f.InodesTotal), InodesUsed: ptr(f.InodesTotal - min(f.InodesTotal, f.InodesFree))}
}

func ptr(v uint64) *uint64 { return &v }
