package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/client"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
	"github.com/skiff-sh/skiff/scheduler/queue"
)

// scheduleOne takes the next pod from the queue and tries to place it: a node is chosen,
// the pod assumed onto it and bound in the background; or no node fits, preemption may make
// room, and the pod waits for a change in the cluster.
func (s *Scheduler) scheduleOne(ctx context.Context) {
	qp, err := s.queue.Pop(ctx)
	if err != nil {
		return
	}
	pod := qp.Pod
	prof := s.profiles[pod.Spec.SchedulerName]
	// Skip pods that went away or got a node while they waited (a pod whose binding is in
	// flight is in the cache, and may come back here through an update).
	if prof == nil || fw.IsTerminating(pod) || assigned(pod) || s.cache.Has(pod.UID) {
		s.queue.Done(pod.UID)
		return
	}
	start := time.Now()
	s.cache.UpdateSnapshot(s.snapshot)
	state := fw.NewCycleState(s.snapshot, s.namespaceLabels)
	decision := &scheduling.Decision{Profile: prof.name}
	host, fitErr, err := s.schedulePod(ctx, prof, state, qp.PodInfo, decision)
	switch {
	case err != nil:
		s.observeAttempt(prof, resultError, start)
		s.handleError(prof, qp, err)
	case fitErr != nil:
		s.handleUnschedulable(ctx, prof, state, qp, fitErr)
		s.observeAttempt(prof, resultUnschedulable, start)
	default:
		s.assumeAndBind(ctx, prof, state, qp, host, decision)
		s.observeAttempt(prof, resultScheduled, start)
	}
}

func (s *Scheduler) observeAttempt(prof *profile, result string, start time.Time) {
	s.metrics.attempts.WithLabelValues(result, prof.name).Inc()
	s.metrics.attemptDuration.WithLabelValues(result, prof.name).Observe(time.Since(start).Seconds())
}

// FitError says why no node fits a pod, in the words of kube-scheduler's FailedScheduling.
type FitError struct {
	NumAllNodes int
	// Statuses holds, per node name, the status of the plugin that rejected it.
	Statuses map[string]*fw.Status
	// PreFilterStatus is set when a PreFilter rejected the pod before any node was tried.
	PreFilterStatus *fw.Status
	// AbsentReason is the reason of nodes without a status (preemption's "not helpful").
	AbsentReason string
	// PostFilterMsg is what preemption adds ("preemption: ...").
	PostFilterMsg string
	// Rejectors are the plugins that rejected the pod somewhere: their events can retry it.
	Rejectors map[string]bool
}

// Error formats "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated
// taint {dedicated: gpu}." — the reasons counted over nodes and sorted, as Kubernetes does.
func (f *FitError) Error() string {
	if f.NumAllNodes == 0 {
		return "no nodes available to schedule pods"
	}
	msg := fmt.Sprintf("0/%d nodes are available:", f.NumAllNodes)
	if f.PreFilterStatus != nil {
		msg += " " + f.PreFilterStatus.Message() + "."
	} else {
		hist := map[string]int{}
		for _, st := range f.Statuses {
			for _, r := range st.Reasons() {
				hist[r]++
			}
		}
		if f.AbsentReason != "" && len(f.Statuses) < f.NumAllNodes {
			hist[f.AbsentReason] += f.NumAllNodes - len(f.Statuses)
		}
		lines := make([]string, 0, len(hist))
		for r, n := range hist {
			lines = append(lines, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(lines)
		if len(lines) > 0 {
			msg += " " + strings.Join(lines, ", ") + "."
		}
	}
	if f.PostFilterMsg != "" {
		msg += " " + f.PostFilterMsg
	}
	return msg
}

// schedulePod picks a node for pod: the feasible nodes, then the best by score (or by the
// profile's policy). It returns a FitError when no node fits, an error when a plugin failed.
// d is filled in with why the node was chosen (the decision annotation).
func (s *Scheduler) schedulePod(ctx context.Context, prof *profile, state *fw.CycleState, pi *fw.PodInfo, d *scheduling.Decision) (string, *FitError, error) {
	nodes := s.snapshot.NodeInfoList
	if len(nodes) == 0 {
		return "", &FitError{}, nil
	}
	if st := prof.framework.RunPreFilterPlugins(ctx, state, pi); !st.IsSuccess() {
		if st.Code() == fw.Error {
			return "", nil, st.Err()
		}
		return "", &FitError{NumAllNodes: len(nodes), PreFilterStatus: st, Rejectors: map[string]bool{st.Plugin(): true}}, nil
	}
	feasible, fitErr, err := s.findNodesThatFit(ctx, prof, state, pi, d)
	if err != nil || fitErr != nil {
		return "", fitErr, err
	}
	if prof.policy != "" {
		d.Policy = prof.policy
		d.Node = s.pickByPolicy(prof, feasible)
		d.Why = fmt.Sprintf("the %s policy picked it from %d feasible node(s)", prof.policy, len(feasible))
		return d.Node, nil, nil
	}
	if len(feasible) == 1 {
		d.Node = feasible[0].Name()
		if d.Why == "" {
			d.Why = "the only node that passed the filters"
		}
		return d.Node, nil, nil
	}
	if st := prof.framework.RunPreScorePlugins(ctx, state, pi, feasible); !st.IsSuccess() {
		return "", nil, st.Err()
	}
	scores, byPlugin, st := prof.framework.RunScorePluginsDetailed(ctx, state, pi, feasible)
	if !st.IsSuccess() {
		return "", nil, st.Err()
	}
	best := s.selectHost(scores)
	d.Node = feasible[best].Name()
	d.Scores = topScores(feasible, scores, byPlugin, best)
	d.Why = fmt.Sprintf("highest total score (%d) of %d feasible node(s)", scores[best], len(feasible))
	if ties := countEqual(scores, scores[best]) - 1; ties > 0 {
		d.Why += fmt.Sprintf(", tied with %d other node(s): chosen at random among them", ties)
	}
	return d.Node, nil, nil
}

// selectHost returns the index of the best score; ties are broken uniformly at random
// (reservoir sampling), so equal nodes share the load.
func (s *Scheduler) selectHost(scores []int64) int {
	best, seen := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i] > scores[best]:
			best, seen = i, 1
		case scores[i] == scores[best]:
			seen++
			if s.rng.IntN(seen) == 0 {
				best = i
			}
		}
	}
	return best
}

// numFeasibleNodesToFind is how many feasible nodes are enough, as in Kubernetes: all of them
// under 100 nodes; else percentage of the nodes (adaptive when 0: 50% minus 1% per 125 nodes,
// at least 5%), and never fewer than 100.
func numFeasibleNodesToFind(percentage int32, numAll int) int {
	const minFeasible = 100
	if numAll < minFeasible {
		return numAll
	}
	p := int(percentage)
	if p == 0 {
		p = max(50-numAll/125, 5)
	}
	if p >= 100 {
		return numAll
	}
	return max(numAll*p/100, minFeasible)
}

// findNodesThatFit runs the filters over the nodes in parallel, starting where the previous
// cycle stopped (so that every node gets its turn when only a share is searched), and stops once
// enough feasible nodes were found.
func (s *Scheduler) findNodesThatFit(ctx context.Context, prof *profile, state *fw.CycleState, pi *fw.PodInfo, d *scheduling.Decision) ([]*fw.NodeInfo, *FitError, error) {
	nodes := s.snapshot.NodeInfoList
	n := len(nodes)
	d.Nodes = n
	nominated := s.queue.NominatedPodsByNode()
	filter := func(node *fw.NodeInfo) *fw.Status {
		if nominated != nil {
			return prof.framework.RunFilterPluginsWithNominatedPods(ctx, state, pi, node, leaveRoomFor(pi, nominated[node.Name()]))
		}
		return prof.framework.RunFilterPlugins(ctx, state, pi, node)
	}
	// A pod that preempted room waits for it: its nominated node is tried first.
	if nn := pi.Pod.Status.NominatedNodeName; nn != "" && prof.policy == "" {
		if node := s.snapshot.Get(nn); node != nil && filter(node).IsSuccess() {
			d.Evaluated, d.Feasible = 1, 1
			d.Why = "the node preemption made room on (status.nominatedNodeName), tried first"
			return []*fw.NodeInfo{node}, nil, nil
		}
	}
	toFind := n
	if prof.policy == "" {
		p := s.percentage
		if prof.percentage != nil {
			p = *prof.percentage
		}
		toFind = numFeasibleNodesToFind(p, n)
	}
	feasible := make([]*fw.NodeInfo, toFind)
	statuses := make([]*fw.Status, n)
	var found, processed atomic.Int32
	var failed atomic.Pointer[fw.Status]
	start := s.nextStartNodeIndex % n
	s.parallel.Until(ctx, n, func(i int) {
		if int(found.Load()) >= toFind || failed.Load() != nil {
			return
		}
		idx := (start + i) % n
		st := filter(nodes[idx])
		processed.Add(1)
		if st.IsSuccess() {
			if k := int(found.Add(1)); k <= toFind {
				feasible[k-1] = nodes[idx]
			}
			return
		}
		if st.Code() == fw.Error {
			failed.CompareAndSwap(nil, st)
		}
		statuses[idx] = st
	})
	if st := failed.Load(); st != nil {
		return nil, nil, fmt.Errorf("running Filter plugin %q: %w", st.Plugin(), st.Err())
	}
	s.nextStartNodeIndex = (start + int(processed.Load())) % n
	if k := min(int(found.Load()), toFind); k > 0 {
		d.Evaluated, d.Feasible = int(processed.Load()), k
		d.Rejected = rejections(statuses)
		return feasible[:k], nil, nil
	}
	fe := &FitError{NumAllNodes: n, Statuses: make(map[string]*fw.Status, n), Rejectors: map[string]bool{}}
	for i, st := range statuses {
		if st != nil {
			fe.Statuses[nodes[i].Name()] = st
			fe.Rejectors[st.Plugin()] = true
		}
	}
	return nil, fe, nil
}

// nominatedFor returns the pods nominated to node that pod must leave room for.
func (s *Scheduler) nominatedFor(pi *fw.PodInfo, node string) []*fw.PodInfo {
	return leaveRoomFor(pi, s.queue.NominatedPods(node))
}

// leaveRoomFor keeps, of the pods nominated to a node, those pod must leave room for: of at
// least its priority, other than itself.
func leaveRoomFor(pi *fw.PodInfo, nominated []*fw.PodInfo) []*fw.PodInfo {
	if len(nominated) == 0 {
		return nil
	}
	prio := fw.Priority(pi.Pod)
	out := make([]*fw.PodInfo, 0, len(nominated))
	for _, p := range nominated {
		if p.Pod.UID != pi.Pod.UID && fw.Priority(p.Pod) >= prio {
			out = append(out, p)
		}
	}
	return out
}

// pickByPolicy implements the teaching policies over the feasible nodes.
func (s *Scheduler) pickByPolicy(prof *profile, feasible []*fw.NodeInfo) string {
	switch prof.policy {
	case PolicyRandom:
		return feasible[s.rng.IntN(len(feasible))].Name()
	case PolicyLeastPods:
		best := make([]*fw.NodeInfo, 0, len(feasible))
		for _, n := range feasible {
			if len(best) == 0 || len(n.Pods) < len(best[0].Pods) {
				best = append(best[:0], n)
			} else if len(n.Pods) == len(best[0].Pods) {
				best = append(best, n)
			}
		}
		return best[s.rng.IntN(len(best))].Name()
	}
	// Round robin: the first feasible node at or after the position, in node order.
	ok := make(map[string]bool, len(feasible))
	for _, n := range feasible {
		ok[n.Name()] = true
	}
	all := s.snapshot.NodeInfoList
	for i := 0; i < len(all); i++ {
		idx := (prof.rrNext + i) % len(all)
		if ok[all[idx].Name()] {
			prof.rrNext = idx + 1
			return all[idx].Name()
		}
	}
	return feasible[0].Name()
}

// assumeAndBind puts the pod on host in the cache and binds it in the background.
func (s *Scheduler) assumeAndBind(ctx context.Context, prof *profile, state *fw.CycleState, qp *queue.QueuedPodInfo, host string, d *scheduling.Decision) {
	assumed := *qp.Pod // a shallow copy is enough: only spec.nodeName differs
	assumed.Spec.NodeName = host
	api := *qp.PodInfo
	api.Pod = &assumed
	if st := prof.framework.RunReservePlugins(ctx, state, qp.PodInfo, host); !st.IsSuccess() {
		s.handleError(prof, qp, fmt.Errorf("running Reserve plugin %q: %s", st.Plugin(), st.Message()))
		return
	}
	if err := s.cache.AssumePod(&api); err != nil {
		prof.framework.RunUnreservePlugins(ctx, state, qp.PodInfo, host)
		s.handleError(prof, qp, err)
		return
	}
	s.queue.DeleteNominated(assumed.UID)
	s.queue.Done(assumed.UID)
	select {
	case s.bindSlots <- struct{}{}:
	case <-ctx.Done():
		s.cache.ForgetPod(&assumed)
		prof.framework.RunUnreservePlugins(ctx, state, qp.PodInfo, host)
		return
	}
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer func() { <-s.bindSlots }()
		s.bind(context.WithoutCancel(ctx), prof, state, qp, &assumed, d)
	}()
}

// bind posts the binding. On failure the assumption is undone and the pod retried (unless it
// is gone or already bound, which the informer will tell the cache about).
func (s *Scheduler) bind(ctx context.Context, prof *profile, state *fw.CycleState, qp *queue.QueuedPodInfo, pod *core.Pod, d *scheduling.Decision) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if st := prof.framework.RunPreBindPlugins(ctx, state, qp.PodInfo, pod.Spec.NodeName); !st.IsSuccess() {
		s.cache.ForgetPod(pod)
		prof.framework.RunUnreservePlugins(ctx, state, qp.PodInfo, pod.Spec.NodeName)
		s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete, Label: "AssumedPodForget"}, pod, nil)
		s.metrics.attempts.WithLabelValues(resultError, prof.name).Inc()
		s.log.Warn("prebind failed", "pod", fw.PodKey(pod), "node", pod.Spec.NodeName, "plugin", st.Plugin(), "err", st.Message())
		s.recorder(pod).Eventf(pod, core.EventTypeWarning, "FailedScheduling", "running PreBind plugin %q: %s", st.Plugin(), st.Message())
		s.queue.AddBackoff(qp)
		return
	}
	b := &core.Binding{
		TypeMeta:   meta.TypeMeta{Kind: "Binding", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, Annotations: decisionAnnotation(d)},
		Target:     core.ObjectReference{Kind: "Node", APIVersion: "v1", Name: pod.Spec.NodeName},
	}
	err := s.pods.CreateSubresource(ctx, pod.Namespace, pod.Name, "binding", b, nil)
	if err != nil {
		s.cache.ForgetPod(pod)
		prof.framework.RunUnreservePlugins(ctx, state, qp.PodInfo, pod.Spec.NodeName)
		s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete, Label: "AssumedPodForget"}, pod, nil)
		s.metrics.attempts.WithLabelValues(resultError, prof.name).Inc()
		if client.IsNotFound(err) || client.IsConflict(err) {
			// Deleted, being deleted, or bound by someone else: nothing to retry.
			s.log.Info("binding not done", "pod", fw.PodKey(pod), "node", pod.Spec.NodeName, "err", err)
			return
		}
		s.log.Warn("binding failed", "pod", fw.PodKey(pod), "node", pod.Spec.NodeName, "err", err)
		msg := err.Error()
		if st, ok := client.StatusFor(err); ok {
			msg = st.Message // the API server's words, without the client's request prefix
		}
		s.recorder(pod).Eventf(pod, core.EventTypeWarning, "FailedScheduling", "Binding rejected: %s", msg)
		s.queue.AddBackoff(qp)
		return
	}
	s.recorder(pod).Eventf(pod, core.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, pod.Spec.NodeName)
	s.metrics.e2e.WithLabelValues(strconv.Itoa(min(qp.Attempts, 15))).Observe(time.Since(qp.Enqueued).Seconds())
}

// handleUnschedulable runs preemption, tells the user why the pod waits (event and the
// PodScheduled condition), and parks the pod until a relevant cluster event.
func (s *Scheduler) handleUnschedulable(ctx context.Context, prof *profile, state *fw.CycleState, qp *queue.QueuedPodInfo, fitErr *FitError) {
	pod := qp.Pod
	nominated, changeNomination := "", false
	if prof.preemption && fitErr.NumAllNodes > 0 {
		s.metrics.preemptions.Inc()
		var msg string
		nominated, msg = s.preempt(ctx, prof, state, qp.PodInfo, fitErr)
		fitErr.PostFilterMsg = msg
		changeNomination = nominated != "" || pod.Status.NominatedNodeName != ""
	}
	msg := fitErr.Error()
	s.log.Debug("unschedulable", "pod", fw.PodKey(pod), "reason", msg)
	s.recorder(pod).Event(pod, core.EventTypeWarning, "FailedScheduling", msg)
	if nominated != "" {
		s.queue.Nominate(qp.PodInfo, nominated)
	} else if changeNomination {
		s.queue.DeleteNominated(pod.UID)
	}
	s.queue.AddUnschedulable(qp, fitErr.Rejectors)
	s.setPodScheduledFalse(pod, core.PodReasonUnschedulable, msg, nominated, changeNomination)
}

// handleError retries a pod after an internal error, with backoff.
func (s *Scheduler) handleError(prof *profile, qp *queue.QueuedPodInfo, err error) {
	pod := qp.Pod
	s.log.Error("scheduling failed", "pod", fw.PodKey(pod), "profile", prof.name, "err", err)
	s.recorder(pod).Eventf(pod, core.EventTypeWarning, "FailedScheduling", "%v", err)
	s.queue.AddBackoff(qp)
	s.setPodScheduledFalse(pod, core.PodReasonSchedulerError, err.Error(), "", false)
}

// setPodScheduledFalse writes PodScheduled=False (and the nominated node) to the pod's status in
// the background, unless the pod already says exactly that: an unschedulable pod retried with no
// change in the cluster costs no write.
func (s *Scheduler) setPodScheduledFalse(pod *core.Pod, reason, msg, nominated string, setNominated bool) {
	var cur *core.PodCondition
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == core.PodScheduled {
			cur = &pod.Status.Conditions[i]
		}
	}
	if cur != nil && cur.Status == core.ConditionFalse && cur.Reason == reason && cur.Message == msg &&
		(!setNominated || pod.Status.NominatedNodeName == nominated) {
		return
	}
	transition := meta.Now()
	if cur != nil && cur.Status == core.ConditionFalse {
		transition = cur.LastTransitionTime
	}
	status := map[string]any{"conditions": []map[string]any{{
		"type": core.PodScheduled, "status": core.ConditionFalse, "reason": reason, "message": msg,
		"lastProbeTime": nil, "lastTransitionTime": transition,
	}}}
	if setNominated {
		if nominated == "" {
			status["nominatedNodeName"] = nil
		} else {
			status["nominatedNodeName"] = nominated
		}
	}
	s.patchStatus(pod, map[string]any{"status": status})
}

// patchStatus sends a strategic merge patch to a pod's status in the background.
func (s *Scheduler) patchStatus(pod *core.Pod, patch map[string]any) {
	data, err := json.Marshal(patch)
	if err != nil {
		s.log.Error("encode status patch", "err", err)
		return
	}
	s.bindSlots <- struct{}{}
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer func() { <-s.bindSlots }()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := s.pods.Patch(ctx, pod.Namespace, pod.Name, client.StrategicMergePatchType, data, "status")
		if err != nil && !client.IsNotFound(err) {
			s.log.Warn("updating pod status failed", "pod", fw.PodKey(pod), "err", err)
		}
	}()
}
