package controller

import (
	"sort"
	"strconv"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client/informer"
)

// IsPodActive: the pod counts towards its controller's replicas — not finished and not
// being deleted (Kubernetes' controller.IsPodActive).
func IsPodActive(p *core.Pod) bool {
	return p.Status.Phase != core.PodSucceeded && p.Status.Phase != core.PodFailed && p.DeletionTimestamp == nil
}

// IsPodTerminating: being deleted but not finished.
func IsPodTerminating(p *core.Pod) bool {
	return p.DeletionTimestamp != nil && p.Status.Phase != core.PodSucceeded && p.Status.Phase != core.PodFailed
}

// FilterActivePods returns the active pods.
func FilterActivePods(pods []*core.Pod) []*core.Pod {
	var out []*core.Pod
	for _, p := range pods {
		if IsPodActive(p) {
			out = append(out, p)
		}
	}
	return out
}

// IsPodAvailable: ready for at least minReadySeconds at now.
func IsPodAvailable(p *core.Pod, minReadySeconds int32, now time.Time) bool {
	c := p.Status.Condition(core.PodReady)
	if c == nil || c.Status != core.ConditionTrue {
		return false
	}
	if minReadySeconds == 0 {
		return true
	}
	d := time.Duration(minReadySeconds) * time.Second
	return !c.LastTransitionTime.IsZero() && !c.LastTransitionTime.Add(d).After(now)
}

// NextAvailableIn is how long until a ready pod becomes available (0 if it already is or is
// not ready), so a controller can requeue exactly then.
func NextAvailableIn(p *core.Pod, minReadySeconds int32, now time.Time) time.Duration {
	c := p.Status.Condition(core.PodReady)
	if minReadySeconds == 0 || c == nil || c.Status != core.ConditionTrue {
		return 0
	}
	left := c.LastTransitionTime.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	return max(left, 0)
}

// podReadyTime is when the pod last became ready (zero if not ready).
func podReadyTime(p *core.Pod) time.Time {
	if c := p.Status.Condition(core.PodReady); c != nil && c.Status == core.ConditionTrue {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func maxRestarts(p *core.Pod) int32 {
	var n int32
	for _, cs := range p.Status.ContainerStatuses {
		n = max(n, cs.RestartCount)
	}
	return n
}

func deletionCost(p *core.Pod) int64 {
	v, ok := p.Annotations[core.PodDeletionCost]
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0
	}
	return n
}

// RankPodsForDeletion orders pods so that the ones to delete first come first, with
// Kubernetes' ActivePodsWithRanks rules: unassigned before assigned; Pending before Unknown
// before Running; not ready before ready; lower pod-deletion-cost first; pods sharing a node
// with more of their siblings first (rank); ready for less time first; more restarts first;
// newer first.
func RankPodsForDeletion(pods []*core.Pod, related []*core.Pod) {
	perNode := map[string]int{}
	for _, p := range related {
		if p.Spec.NodeName != "" && IsPodActive(p) {
			perNode[p.Spec.NodeName]++
		}
	}
	phaseRank := map[core.PodPhase]int{core.PodPending: 0, core.PodUnknown: 1, core.PodRunning: 2}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if (a.Spec.NodeName == "") != (b.Spec.NodeName == "") {
			return a.Spec.NodeName == ""
		}
		if phaseRank[a.Status.Phase] != phaseRank[b.Status.Phase] {
			return phaseRank[a.Status.Phase] < phaseRank[b.Status.Phase]
		}
		if a.IsReady() != b.IsReady() {
			return !a.IsReady()
		}
		if ca, cb := deletionCost(a), deletionCost(b); ca != cb {
			return ca < cb
		}
		if ra, rb := perNode[a.Spec.NodeName], perNode[b.Spec.NodeName]; ra != rb {
			return ra > rb
		}
		if a.IsReady() && b.IsReady() {
			ta, tb := podReadyTime(a), podReadyTime(b)
			if !ta.Equal(tb) {
				return ta.After(tb)
			}
		}
		if ra, rb := maxRestarts(a), maxRestarts(b); ra != rb {
			return ra > rb
		}
		if !a.CreationTimestamp.Equal(b.CreationTimestamp.Time) {
			return a.CreationTimestamp.After(b.CreationTimestamp.Time)
		}
		return a.Name < b.Name
	})
}

// ByCreation sorts objects oldest first (ties by name), as Kubernetes' ...ByCreationTimestamp.
func ByCreation[PT meta.Object](items []PT) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := items[i].GetObjectMeta(), items[j].GetObjectMeta()
		if !a.CreationTimestamp.Equal(b.CreationTimestamp.Time) {
			return a.CreationTimestamp.Before(b.CreationTimestamp.Time)
		}
		return a.Name < b.Name
	})
}

// NodeNameIndex indexes pods by spec.nodeName.
const NodeNameIndex = "nodeName"

// IndexPodsByNode adds NodeNameIndex to the pod informer (once).
func IndexPodsByNode(inf *informer.Informer[core.Pod, *core.Pod]) {
	_ = inf.AddIndexers(map[string]informer.IndexFunc[*core.Pod]{
		NodeNameIndex: func(p *core.Pod) []string {
			if p.Spec.NodeName == "" {
				return nil
			}
			return []string{p.Spec.NodeName}
		},
	})
}

// PodsOnNode returns the cached pods bound to node (the informer must be indexed by node).
func PodsOnNode(idx *informer.Indexer[*core.Pod], node string) []*core.Pod {
	out, _ := idx.ByIndex(NodeNameIndex, node)
	return out
}
