package scheduler

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Preemption, as Kubernetes' DefaultPreemption: when no node fits a pod, find nodes where
// evicting pods of lower priority would make it fit, keep on each the fewest and least
// important victims that suffice, pick the node whose victims matter least, evict them, and
// nominate the node to the pod; it is bound there once the victims are gone. Pods of equal or
// higher priority are never victims.

type candidate struct {
	node    string
	victims []*fw.PodInfo // most important first
}

// preempt returns the node to nominate ("" for none) and, when preemption could not help, the
// message to add to FailedScheduling ("preemption: ...").
func (s *Scheduler) preempt(ctx context.Context, prof *profile, state *fw.CycleState, pi *fw.PodInfo, fitErr *FitError) (string, string) {
	pod := pi.Pod
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == core.PreemptNever {
		return "", "preemption: not eligible due to preemptionPolicy=Never."
	}
	// A pod whose victims are still terminating on its nominated node waits for them, rather
	// than preempting more.
	if nn := pod.Status.NominatedNodeName; nn != "" && fitErr.Statuses[nn].Code() != fw.UnschedulableAndUnresolvable {
		if node := s.snapshot.Get(nn); node != nil {
			for _, p := range node.Pods {
				if fw.Priority(p.Pod) < fw.Priority(pod) && terminatingByPreemption(p.Pod) {
					return nn, "preemption: not eligible due to a terminating pod on the nominated node."
				}
			}
		}
	}

	all := s.snapshot.NodeInfoList
	var potential []*fw.NodeInfo
	for _, n := range all {
		st := fitErr.Statuses[n.Name()]
		if fitErr.PreFilterStatus != nil {
			st = fitErr.PreFilterStatus
		}
		if st.Code() == fw.Unschedulable {
			potential = append(potential, n)
		}
	}
	notHelpful := func(statuses map[string]*fw.Status) string {
		fe := &FitError{NumAllNodes: len(all), Statuses: statuses, AbsentReason: "Preemption is not helpful for scheduling"}
		return "preemption: " + fe.Error()
	}
	if len(potential) == 0 {
		return "", notHelpful(nil)
	}

	// Dry-run on a window of the potential nodes, starting at a random offset so that
	// preemptions spread over the cluster.
	want := int(int32(len(potential)) * prof.minCandidatePercentage / 100)
	want = min(max(want, int(prof.minCandidateAbsolute)), len(potential))
	offset := s.rng.IntN(len(potential))
	var mu sync.Mutex
	var candidates []candidate
	statuses := map[string]*fw.Status{}
	dryCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.parallel.Until(dryCtx, len(potential), func(i int) {
		node := potential[(offset+i)%len(potential)]
		victims, st := s.selectVictims(dryCtx, prof, state, pi, node)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case st.IsSuccess() && len(victims) > 0:
			candidates = append(candidates, candidate{node: node.Name(), victims: victims})
			if len(candidates) >= want {
				cancel()
			}
		case st.IsSuccess():
			statuses[node.Name()] = fw.NewStatus(fw.Unschedulable, "No preemption victims needed")
		default:
			statuses[node.Name()] = st
		}
	})
	if len(candidates) == 0 {
		return "", notHelpful(statuses)
	}
	best := pickCandidate(candidates)
	s.evict(ctx, pod, best)
	s.clearLowerNominations(pod, best.node)
	s.metrics.preemptionVictim.Observe(float64(len(best.victims)))
	return best.node, ""
}

// selectVictims finds the fewest, least important pods to evict from node so that pod fits:
// remove every lower-priority pod; if the pod still does not fit, the node is no candidate;
// otherwise add them back from the most important down, keeping each one that still leaves
// room, and the rest are the victims.
func (s *Scheduler) selectVictims(ctx context.Context, prof *profile, state *fw.CycleState, pi *fw.PodInfo, node *fw.NodeInfo) ([]*fw.PodInfo, *fw.Status) {
	f := prof.framework
	nodeCopy, stateCopy := node.Clone(), state.Clone()
	prio := fw.Priority(pi.Pod)
	var potential []*fw.PodInfo
	for _, p := range node.Pods {
		if fw.Priority(p.Pod) < prio {
			potential = append(potential, p)
		}
	}
	if len(potential) == 0 {
		return nil, fw.NewStatus(fw.UnschedulableAndUnresolvable, "No preemption victims found for incoming pod")
	}
	for _, p := range potential {
		nodeCopy.RemovePod(p.Pod)
		f.RunPreFilterExtensionRemovePod(stateCopy, pi, p, nodeCopy)
	}
	nominated := s.nominatedFor(pi, node.Name())
	if st := f.RunFilterPluginsWithNominatedPods(ctx, stateCopy, pi, nodeCopy, nominated); !st.IsSuccess() {
		return nil, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod) })
	var victims []*fw.PodInfo
	for _, p := range potential {
		nodeCopy.AddPod(p)
		f.RunPreFilterExtensionAddPod(stateCopy, pi, p, nodeCopy)
		if !f.RunFilterPluginsWithNominatedPods(ctx, stateCopy, pi, nodeCopy, nominated).IsSuccess() {
			nodeCopy.RemovePod(p.Pod)
			f.RunPreFilterExtensionRemovePod(stateCopy, pi, p, nodeCopy)
			victims = append(victims, p)
		}
	}
	return victims, nil
}

// moreImportant orders by priority, then by start time (the longer running is kept).
func moreImportant(a, b *core.Pod) bool {
	pa, pb := fw.Priority(a), fw.Priority(b)
	if pa != pb {
		return pa > pb
	}
	return fw.StartTime(a).Before(fw.StartTime(b).Time)
}

// pickCandidate applies Kubernetes' tie-breakers in order: the lowest highest-priority victim,
// the lowest sum of priorities, the fewest victims, the latest start among the highest-priority
// victims; then the first.
func pickCandidate(cs []candidate) candidate {
	scoreFuncs := []func(c candidate) int64{
		func(c candidate) int64 { return -int64(fw.Priority(c.victims[0].Pod)) },
		func(c candidate) int64 {
			var sum int64
			for _, v := range c.victims {
				// Shift so every term is positive: fewer negative-priority victims must not win.
				sum += int64(fw.Priority(v.Pod)) + int64(math.MaxInt32) + 1
			}
			return -sum
		},
		func(c candidate) int64 { return -int64(len(c.victims)) },
		func(c candidate) int64 {
			top := fw.Priority(c.victims[0].Pod)
			earliest := fw.StartTime(c.victims[0].Pod)
			for _, v := range c.victims {
				if fw.Priority(v.Pod) == top && fw.StartTime(v.Pod).Before(earliest.Time) {
					earliest = fw.StartTime(v.Pod)
				}
			}
			return earliest.UnixNano()
		},
	}
	// Stable order first, so the final "first" is deterministic for a given set.
	sort.Slice(cs, func(i, j int) bool { return cs[i].node < cs[j].node })
	for _, f := range scoreFuncs {
		best := int64(math.MinInt64)
		var kept []candidate
		for _, c := range cs {
			switch sc := f(c); {
			case sc > best:
				best, kept = sc, []candidate{c}
			case sc == best:
				kept = append(kept, c)
			}
		}
		if len(kept) == 1 {
			return kept[0]
		}
		cs = kept
	}
	return cs[0]
}

// terminatingByPreemption: the pod is being deleted because the scheduler preempted it.
func terminatingByPreemption(p *core.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == core.DisruptionTarget {
			return c.Status == core.ConditionTrue && c.Reason == core.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// evict marks each victim with the DisruptionTarget condition (so its owner and the user can
// tell why it went), deletes it (with its own grace period) and records a Preempted event.
func (s *Scheduler) evict(ctx context.Context, preemptor *core.Pod, c candidate) {
	var wg sync.WaitGroup
	for _, v := range c.victims {
		victim := v.Pod
		if victim.DeletionTimestamp != nil {
			continue // already going
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			patch := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":"True","reason":%q,"message":%q,"lastTransitionTime":%q}]}}`,
				core.DisruptionTarget, core.PodReasonPreemptionByScheduler,
				preemptor.Spec.SchedulerName+": preempting to accommodate a higher priority pod", meta.Now().UTC().Format(time.RFC3339))
			if _, err := s.pods.Patch(ctx, victim.Namespace, victim.Name, client.StrategicMergePatchType, []byte(patch), "status"); err != nil && !client.IsNotFound(err) {
				s.log.Warn("marking preemption victim failed", "victim", fw.PodKey(victim), "err", err)
			}
			uid := victim.UID
			err := s.pods.Delete(ctx, victim.Namespace, victim.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
			if err != nil && !client.IsNotFound(err) {
				s.log.Warn("deleting preemption victim failed", "victim", fw.PodKey(victim), "err", err)
				return
			}
			s.recorder(preemptor).Eventf(victim, core.EventTypeNormal, "Preempted", "Preempted by pod %s on node %s", preemptor.UID, c.node)
			s.log.Info("preempted", "victim", fw.PodKey(victim), "preemptor", fw.PodKey(preemptor), "node", c.node)
		}()
	}
	wg.Wait()
}

// clearLowerNominations drops the nominations of lower-priority pods to node: the room they
// waited for is taken, so they should look elsewhere at once.
func (s *Scheduler) clearLowerNominations(preemptor *core.Pod, node string) {
	for _, p := range s.queue.NominatedPods(node) {
		if p.Pod.UID == preemptor.UID || fw.Priority(p.Pod) >= fw.Priority(preemptor) {
			continue
		}
		s.queue.DeleteNominated(p.Pod.UID)
		s.patchStatus(p.Pod, map[string]any{"status": map[string]any{"nominatedNodeName": nil}})
	}
}
