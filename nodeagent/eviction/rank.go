package eviction

import (
	"cmp"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// statsFunc finds a pod's stats in the sample.
type statsFunc func(pod *core.Pod) (statsapi.PodStats, bool)

func podStatsFunc(s *statsapi.Summary) statsFunc {
	byUID := make(map[string]statsapi.PodStats, len(s.Pods))
	for _, p := range s.Pods {
		byUID[p.PodRef.UID] = p
	}
	return func(pod *core.Pod) (statsapi.PodStats, bool) {
		st, ok := byUID[pod.UID]
		return st, ok
	}
}

// rankFunc orders pods, the first to evict first.
type rankFunc func(pods []*core.Pod, stats statsFunc)

// cmpFunc compares two pods: negative if a goes before b.
type cmpFunc func(a, b *core.Pod) int

// orderedBy sorts by the first comparison that tells the pods apart (stable, so pods equal
// in every respect keep the order they came in).
func orderedBy(pods []*core.Pod, cmps ...cmpFunc) {
	slices.SortStableFunc(pods, func(a, b *core.Pod) int {
		for _, c := range cmps {
			if r := c(a, b); r != 0 {
				return r
			}
		}
		return 0
	})
}

// rankFor is the ranking of a signal: memory by (usage above request, priority, usage less
// request), disk the same with local storage, pids by priority then process count.
func rankFor(s Signal) rankFunc {
	switch signalResource[s] {
	case core.ResourceMemory:
		return func(pods []*core.Pod, st statsFunc) {
			orderedBy(pods, exceedsRequest(st, memoryUsage, core.ResourceMemory), priority, aboveRequest(st, memoryUsage, core.ResourceMemory))
		}
	case core.ResourceEphemeralStorage:
		return func(pods []*core.Pod, st statsFunc) {
			orderedBy(pods, exceedsRequest(st, diskUsage, core.ResourceEphemeralStorage), priority, aboveRequest(st, diskUsage, core.ResourceEphemeralStorage))
		}
	case resourceInodes:
		return func(pods []*core.Pod, st statsFunc) {
			orderedBy(pods, exceedsRequest(st, inodeUsage, resourceInodes), priority, aboveRequest(st, inodeUsage, resourceInodes))
		}
	case resourcePids:
		return func(pods []*core.Pod, st statsFunc) { orderedBy(pods, priority, processes(st)) }
	}
	return nil
}

// usageFunc is a pod's usage of one resource from its stats.
type usageFunc func(p statsapi.PodStats) int64

func memoryUsage(p statsapi.PodStats) int64 {
	if p.Memory == nil || p.Memory.WorkingSetBytes == nil {
		return 0
	}
	return int64(*p.Memory.WorkingSetBytes)
}

// diskUsage is a pod's local storage: writable layers, logs and emptyDir volumes.
func diskUsage(p statsapi.PodStats) int64 {
	if p.EphemeralStorage != nil && p.EphemeralStorage.UsedBytes != nil {
		return int64(*p.EphemeralStorage.UsedBytes)
	}
	return 0
}

func inodeUsage(p statsapi.PodStats) int64 {
	if p.EphemeralStorage != nil && p.EphemeralStorage.InodesUsed != nil {
		return int64(*p.EphemeralStorage.InodesUsed)
	}
	return 0
}

func request(pod *core.Pod, name core.ResourceName) int64 {
	q, ok := quota.PodRequests(pod)[name]
	if !ok {
		return 0
	}
	return q.Value()
}

// exceedsRequest puts pods using more than they request first (and, as the kubelet, pods
// without stats before those with).
func exceedsRequest(st statsFunc, usage usageFunc, name core.ResourceName) cmpFunc {
	return func(a, b *core.Pod) int {
		as, aok := st(a)
		bs, bok := st(b)
		if !aok || !bok {
			return cmpBool(!aok, !bok)
		}
		return cmpBool(usage(as) > request(a, name), usage(bs) > request(b, name))
	}
}

// aboveRequest puts the pods furthest above their request first.
func aboveRequest(st statsFunc, usage usageFunc, name core.ResourceName) cmpFunc {
	return func(a, b *core.Pod) int {
		as, aok := st(a)
		bs, bok := st(b)
		if !aok || !bok {
			return cmpBool(!aok, !bok)
		}
		return cmp.Compare(usage(bs)-request(b, name), usage(as)-request(a, name))
	}
}

// priority puts lower priority first.
func priority(a, b *core.Pod) int { return cmp.Compare(podPriority(a), podPriority(b)) }

func podPriority(p *core.Pod) int32 {
	if p.Spec.Priority != nil {
		return *p.Spec.Priority
	}
	return 0
}

func processes(st statsFunc) cmpFunc {
	count := func(p statsapi.PodStats) uint64 {
		if p.ProcessStats == nil || p.ProcessStats.ProcessCount == nil {
			return 0
		}
		return *p.ProcessStats.ProcessCount
	}
	return func(a, b *core.Pod) int {
		as, aok := st(a)
		bs, bok := st(b)
		if !aok || !bok {
			return cmpBool(!aok, !bok)
		}
		return cmp.Compare(count(bs), count(as))
	}
}

// cmpBool puts true before false.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

// critical pods are never evicted: static and mirror pods, and system-critical priority.
func critical(p *core.Pod) bool {
	if _, ok := p.Annotations[core.MirrorPodAnnotationKey]; ok {
		return true
	}
	if src, ok := p.Annotations["kubernetes.io/config.source"]; ok && src != "api" {
		return true
	}
	return podPriority(p) >= 2000000000
}
