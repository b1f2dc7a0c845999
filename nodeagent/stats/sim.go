package stats

import (
	"context"
	"hash/fnv"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Annotations a simulated pod's usage is read from (the prefix the sim prober's annotations
// use): a quantity per container, the pod-wide key for every container and
// "<key>.<container>" for one. Changing them on a running pod changes its usage from the
// next sample on, so load can be put on and taken off (an HPA test).
const (
	SimCPUAnnotation    = "sim.skiff.sh/cpu"    // e.g. "250m": the container uses a quarter of a core
	SimMemoryAnnotation = "sim.skiff.sh/memory" // e.g. "64Mi": its working set
)

// Sim is the usage of a simulated node: without an annotation a container uses a steady
// share of what it requests, chosen from its pod's UID and name (10–50 % of the CPU request
// or of 100m, 30–70 % of the memory request or of 64Mi), so numbers are plausible, differ
// between pods and stay the same for a pod. CPU counters are integrated over time, so a
// change of rate shows as a rate, as with a real cgroup.
type Sim struct {
	// Capacity is the node's (cpu and memory).
	Capacity core.ResourceList
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time

	mu         sync.Mutex
	start      time.Time
	containers map[string]*simCounter // by container ID
	node       uint64                 // CPU nanoseconds every container ever used
	round      uint64                 // samples so far: Node ends one (the collector reads it last)
}

type simCounter struct {
	last   time.Time
	cpu    uint64
	memory uint64
	round  uint64 // the sample it was last read in
}

// Base usage of a simulated node without pods: its system daemons.
const (
	simNodeCPU    = 0.05      // cores
	simNodeMemory = 256 << 20 // bytes
)

func (s *Sim) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sim) init() {
	if s.containers == nil {
		s.containers = map[string]*simCounter{}
		s.start = s.now()
	}
}

// Node is the base usage plus every container's. It ends a sample: the counters of
// containers not read since the previous one (their pods are gone) are dropped.
func (s *Sim) Node() (Usage, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.now()
	u := Usage{Time: now, CPUUsageNanos: s.node + uint64(simNodeCPU*float64(now.Sub(s.start).Nanoseconds()))}
	mem := uint64(simNodeMemory)
	for k, c := range s.containers {
		if c.round < s.round {
			delete(s.containers, k)
			continue
		}
		mem += c.memory
	}
	s.round++
	u.MemoryUsage, u.MemoryWorkingSet, u.MemoryRSS = mem, mem, mem
	capacity := s.Capacity[core.ResourceMemory]
	return u, uint64(capacity.Value()), nil
}

// Pod is the sum of its containers' current counters.
func (s *Sim) Pod(pod *core.Pod) (Usage, error) {
	u := Usage{Time: s.now()}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cu := s.advance(pod, c, pod.UID+"/"+c.Name)
		u.CPUUsageNanos += cu.CPUUsageNanos
		u.MemoryUsage += cu.MemoryUsage
	}
	u.MemoryWorkingSet, u.MemoryRSS = u.MemoryUsage, u.MemoryUsage
	return u, nil
}

// Container is one container's counters, advanced to now at its current rate.
func (s *Sim) Container(pod *core.Pod, c *runtime.Container) (Usage, error) {
	for i := range pod.Spec.Containers {
		if spec := &pod.Spec.Containers[i]; spec.Name == c.Name {
			return s.advance(pod, spec, pod.UID+"/"+c.Name), nil
		}
	}
	return Usage{}, errNoCgroup
}

// advance moves a container's counter to now. The pod-level and container-level reads of a
// sample share the counter (key is pod UID/name), so they agree.
func (s *Sim) advance(pod *core.Pod, c *core.Container, key string) Usage {
	cpu, mem := SimUsage(pod, c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	now := s.now()
	sc, ok := s.containers[key]
	if !ok {
		sc = &simCounter{last: now}
		s.containers[key] = sc
	}
	if dt := now.Sub(sc.last); dt > 0 {
		d := uint64(float64(cpu) * dt.Seconds() * 1e6) // millicores × s → ns
		sc.cpu += d
		s.node += d
		sc.last = now
	}
	sc.memory, sc.round = uint64(mem), s.round
	return Usage{Time: now, CPUUsageNanos: sc.cpu, MemoryUsage: sc.memory, MemoryWorkingSet: sc.memory, MemoryRSS: sc.memory}
}

// SimUsage is a simulated container's CPU (millicores) and memory (bytes) now.
func SimUsage(pod *core.Pod, c *core.Container) (cpuMilli, memBytes int64) {
	h := fnv.New32a()
	h.Write([]byte(pod.UID + "/" + c.Name))
	seed := h.Sum32()
	cpuMilli = share(c.Resources.Requests, core.ResourceCPU, 100, seed%41+10)            // 10–50 %
	memBytes = share(c.Resources.Requests, core.ResourceMemory, 64<<20, (seed>>8)%41+30) // 30–70 %
	if q, ok := annotation(pod, SimCPUAnnotation, c.Name); ok {
		cpuMilli = q.MilliValue()
	}
	if q, ok := annotation(pod, SimMemoryAnnotation, c.Name); ok {
		memBytes = q.Value()
	}
	return cpuMilli, memBytes
}

// share is pct % of the request of name (or of def without one), in millicores for CPU and
// bytes for memory.
func share(req core.ResourceList, name core.ResourceName, def int64, pct uint32) int64 {
	base := def
	if q, ok := req[name]; ok {
		if name == core.ResourceCPU {
			base = q.MilliValue()
		} else {
			base = q.Value()
		}
	}
	return base * int64(pct) / 100
}

func annotation(pod *core.Pod, key, container string) (resource.Quantity, bool) {
	v, ok := pod.Annotations[key+"."+container]
	if !ok {
		v, ok = pod.Annotations[key]
	}
	if !ok {
		return resource.Quantity{}, false
	}
	q, err := resource.ParseQuantity(v)
	return q, err == nil
}

// SimEphemeralStorageAnnotation is a simulated container's local storage (its writable
// layer), a quantity per container as SimMemoryAnnotation: e.g. "30Mi" puts a container
// with a 20Mi ephemeral-storage limit past it.
const SimEphemeralStorageAnnotation = "sim.skiff.sh/ephemeral-storage"

// SimStorage is a simulated node's LocalStorage: writable layers from the annotation, no
// logs and no volume data.
type SimStorage struct{}

func (SimStorage) Volumes(*core.Pod) ([]statsapi.VolumeStats, map[string]bool) { return nil, nil }

func (SimStorage) Container(_ context.Context, pod *core.Pod, c *runtime.Container) (*statsapi.FsStats, *statsapi.FsStats) {
	var used uint64
	if q, ok := annotation(pod, SimEphemeralStorageAnnotation, c.Name); ok && q.Sign() > 0 {
		used = uint64(q.Value())
	}
	now := meta.Now()
	return &statsapi.FsStats{Time: now, UsedBytes: ptr(used), InodesUsed: ptr(0)}, &statsapi.FsStats{Time: now, UsedBytes: ptr(0), InodesUsed: ptr(0)}
}
