package eviction

import (
	"time"

	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// observation is a signal's available amount and capacity at a time.
type observation struct {
	available, capacity resource.Quantity
	time                time.Time
}

type observations map[Signal]observation

// observe reads the signals from a stats summary, as the kubelet's
// makeSignalObservations. allocatableMemory is the pods' memory (capacity less reserved;
// 0: not observed): allocatableMemory.available is it less the pods' working sets.
func observe(s *statsapi.Summary, allocatableMemory int64) observations {
	out := observations{}
	bin := func(v uint64) resource.Quantity { return *resource.NewQuantity(int64(v), resource.BinarySI) }
	dec := func(v uint64) resource.Quantity { return *resource.NewQuantity(int64(v), resource.DecimalSI) }
	if m := s.Node.Memory; m != nil && m.AvailableBytes != nil && m.WorkingSetBytes != nil {
		out[SignalMemoryAvailable] = observation{bin(*m.AvailableBytes), bin(*m.AvailableBytes + *m.WorkingSetBytes), m.Time.Time}
	}
	if allocatableMemory > 0 {
		var used uint64
		var at time.Time
		for _, p := range s.Pods {
			if p.Memory != nil && p.Memory.WorkingSetBytes != nil {
				used += *p.Memory.WorkingSetBytes
				at = p.Memory.Time.Time
			}
		}
		if s.Node.Memory != nil {
			at = s.Node.Memory.Time.Time
		}
		avail := max(allocatableMemory-int64(used), 0)
		out[SignalAllocatableMemoryAvailable] = observation{*resource.NewQuantity(avail, resource.BinarySI),
			*resource.NewQuantity(allocatableMemory, resource.BinarySI), at}
	}
	fs := func(f *statsapi.FsStats, bytes, inodes Signal) {
		if f == nil {
			return
		}
		if f.AvailableBytes != nil && f.CapacityBytes != nil {
			out[bytes] = observation{bin(*f.AvailableBytes), bin(*f.CapacityBytes), f.Time.Time}
		}
		if f.InodesFree != nil && f.Inodes != nil {
			out[inodes] = observation{dec(*f.InodesFree), dec(*f.Inodes), f.Time.Time}
		}
	}
	fs(s.Node.Fs, SignalNodeFsAvailable, SignalNodeFsInodesFree)
	if s.Node.Runtime != nil {
		fs(s.Node.Runtime.ImageFs, SignalImageFsAvailable, SignalImageFsInodesFree)
	}
	if r := s.Node.Rlimit; r != nil && r.MaxPID != nil && r.NumOfRunningProcesses != nil {
		out[SignalPIDAvailable] = observation{*resource.NewQuantity(*r.MaxPID-*r.NumOfRunningProcesses, resource.DecimalSI),
			*resource.NewQuantity(*r.MaxPID, resource.DecimalSI), r.Time.Time}
	}
	return out
}

// met is the thresholds whose signal is below them; with minReclaim, below them plus their
// minimum reclaim (a threshold met stays met until the node is that far past it).
func met(ts []Threshold, obs observations, minReclaim bool) []Threshold {
	var out []Threshold
	for _, t := range ts {
		o, ok := obs[t.Signal]
		if !ok {
			continue
		}
		q := t.Value.quantity(o.capacity)
		if minReclaim && t.MinReclaim != nil {
			q.Add(t.MinReclaim.quantity(o.capacity))
		}
		if q.Cmp(o.available) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func merge(a, b []Threshold) []Threshold {
	out := append([]Threshold(nil), a...)
	for _, t := range b {
		if !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func contains(ts []Threshold, t Threshold) bool {
	for _, x := range ts {
		if x.same(t) {
			return true
		}
	}
	return false
}
