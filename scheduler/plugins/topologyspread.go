package plugins

import (
	"context"
	"math"
	"sync/atomic"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// PodTopologySpread spreads pods that match a constraint's selector evenly over topology
// domains (zones, nodes): DoNotSchedule constraints filter (the skew after placing the pod may
// not exceed maxSkew), ScheduleAnyway constraints score (fewer matching pods is better).
type PodTopologySpread struct {
	parallel fw.Parallelizer
}

func (*PodTopologySpread) Name() string { return PodTopologySpreadName }

type topologyPair struct{ key, value string }

type spreadConstraint struct {
	maxSkew     int32
	topologyKey string
	selector    labels.Selector
	// namespace is the pod's: only pods there count.
	namespace  string
	memo       *fw.Memo
	minDomains int32
	// honorAffinity: count only nodes matching the pod's node affinity/selector (the default);
	// honorTaints: count only nodes whose taints the pod tolerates (default: ignore taints).
	honorAffinity bool
	honorTaints   bool
}

// spreadConstraints compiles the pod's constraints with the given action.
func spreadConstraints(pod *core.Pod, action core.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != action {
			continue
		}
		sel, err := labels.SelectorFromLabelSelector(c.LabelSelector)
		if err != nil {
			return nil, err
		}
		if c.LabelSelector != nil {
			for _, k := range c.MatchLabelKeys {
				if v, ok := pod.Labels[k]; ok {
					r, err := labels.NewRequirement(k, labels.In, []string{v})
					if err != nil {
						return nil, err
					}
					sel = sel.Add(*r)
				}
			}
		}
		sc := spreadConstraint{maxSkew: c.MaxSkew, topologyKey: c.TopologyKey, selector: sel, namespace: pod.Namespace,
			memo: &fw.Memo{}, minDomains: 1, honorAffinity: true}
		if c.MinDomains != nil {
			sc.minDomains = *c.MinDomains
		}
		if c.NodeAffinityPolicy != nil && *c.NodeAffinityPolicy == core.NodeInclusionPolicyIgnore {
			sc.honorAffinity = false
		}
		if c.NodeTaintsPolicy != nil && *c.NodeTaintsPolicy == core.NodeInclusionPolicyHonor {
			sc.honorTaints = true
		}
		out = append(out, sc)
	}
	return out, nil
}

// countable reports whether node takes part in constraint c's counting for pod: it has the
// topology key and passes the node-inclusion policies.
func countable(c *spreadConstraint, pod *core.Pod, node *core.Node, affinity *RequiredNodeAffinity) bool {
	if _, ok := node.Labels[c.topologyKey]; !ok {
		return false
	}
	if c.honorAffinity && affinity != nil && !affinity.Match(node) {
		return false
	}
	if c.honorTaints && untoleratedTaint(node.Spec.Taints, pod.Spec.Tolerations) != nil {
		return false
	}
	return true
}

// hasAllKeys: Kubernetes counts only nodes that carry every constraint's topology key.
func hasAllKeys(node *core.Node, cs []spreadConstraint) bool {
	for i := range cs {
		if _, ok := node.Labels[cs[i].topologyKey]; !ok {
			return false
		}
	}
	return true
}

// selects reports whether p counts for c: same namespace, matched by the selector (memoized
// per label set for the cycle).
func (c *spreadConstraint) selects(p *fw.PodInfo) bool {
	if v, ok := c.memo.Load(p.LabelsHash, p.LabelsKey); ok {
		return v
	}
	v := p.Pod.Namespace == c.namespace && c.selector.Matches(labels.Set(p.Pod.Labels))
	c.memo.Store(p.LabelsHash, p.LabelsKey, v)
	return v
}

// countMatching counts the pods on n that c selects, terminating ones aside.
func countMatching(c *spreadConstraint, n *fw.NodeInfo) int {
	count := 0
	for _, p := range n.Pods {
		if !p.Terminating && c.selects(p) {
			count++
		}
	}
	return count
}

// spreadFilterState is PreFilter's count of matching pods per topology domain.
type spreadFilterState struct {
	constraints []spreadConstraint
	matchNum    map[topologyPair]int
	// minMatch is, per constraint, the smallest count over its domains; domains how many
	// domains there are (for minDomains).
	minMatch []int
	domains  []int
}

func (s *spreadFilterState) Clone() fw.StateData {
	c := *s
	c.matchNum = make(map[topologyPair]int, len(s.matchNum))
	for k, v := range s.matchNum {
		c.matchNum[k] = v
	}
	c.minMatch = append([]int(nil), s.minMatch...)
	return &c
}

func (s *spreadFilterState) recomputeMin(i int) {
	key := s.constraints[i].topologyKey
	m, seen := 0, false
	for pair, n := range s.matchNum {
		if pair.key == key && (!seen || n < m) {
			m, seen = n, true
		}
	}
	s.minMatch[i] = m
}

func (p *PodTopologySpread) PreFilter(ctx context.Context, state *fw.CycleState, pod *fw.PodInfo) *fw.Status {
	cs, err := spreadConstraints(pod.Pod, core.DoNotSchedule)
	if err != nil {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, err.Error())
	}
	if len(cs) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	affinity, err := NewRequiredNodeAffinity(pod.Pod)
	if err != nil {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, err.Error())
	}
	nodes := state.Snapshot.NodeInfoList
	// Count per node in parallel (a flat slice, no locking), then add up per domain.
	counts := make([]int32, len(nodes)*len(cs))
	eligible := make([]bool, len(nodes))
	p.parallel.Until(ctx, len(nodes), func(i int) {
		n := nodes[i]
		if n.Node == nil || !hasAllKeys(n.Node, cs) {
			return
		}
		eligible[i] = true
		for j := range cs {
			if countable(&cs[j], pod.Pod, n.Node, affinity) {
				counts[i*len(cs)+j] = int32(countMatching(&cs[j], n)) + 1 // +1: countable
			}
		}
	})
	s := &spreadFilterState{constraints: cs, matchNum: map[topologyPair]int{}, minMatch: make([]int, len(cs)), domains: make([]int, len(cs))}
	for i, n := range nodes {
		if !eligible[i] {
			continue
		}
		for j := range cs {
			c := counts[i*len(cs)+j]
			if c == 0 {
				continue
			}
			pair := topologyPair{cs[j].topologyKey, n.Node.Labels[cs[j].topologyKey]}
			s.matchNum[pair] += int(c - 1)
		}
	}
	for j := range cs {
		for pair := range s.matchNum {
			if pair.key == cs[j].topologyKey {
				s.domains[j]++
			}
		}
		s.recomputeMin(j)
	}
	state.Write(PodTopologySpreadName, s)
	return nil
}

func (p *PodTopologySpread) Filter(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	s, _ := state.Read(PodTopologySpreadName).(*spreadFilterState)
	if s == nil {
		return nil
	}
	podLabels := labels.Set(pod.Pod.Labels)
	for i := range s.constraints {
		c := &s.constraints[i]
		v, ok := n.Node.Labels[c.topologyKey]
		if !ok {
			return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonTopologyNoLabel)
		}
		self := 0
		if c.selector.Matches(podLabels) {
			self = 1
		}
		minMatch := s.minMatch[i]
		if int32(s.domains[i]) < c.minDomains {
			minMatch = 0 // too few domains: the missing ones count as empty
		}
		if s.matchNum[topologyPair{c.topologyKey, v}]+self-minMatch > int(c.maxSkew) {
			return fw.NewStatus(fw.Unschedulable, ReasonTopologyMismatch)
		}
	}
	return nil
}

// AddPod and RemovePod keep the counts right for nominated pods and preemption victims.
func (p *PodTopologySpread) AddPod(state *fw.CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo) {
	p.updateWith(state, pod, added, n, 1)
}

func (p *PodTopologySpread) RemovePod(state *fw.CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo) {
	p.updateWith(state, pod, removed, n, -1)
}

func (p *PodTopologySpread) updateWith(state *fw.CycleState, pod, other *fw.PodInfo, n *fw.NodeInfo, delta int) {
	s, _ := state.Read(PodTopologySpreadName).(*spreadFilterState)
	if s == nil || n.Node == nil || !hasAllKeys(n.Node, s.constraints) || other.Terminating {
		return
	}
	affinity, _ := NewRequiredNodeAffinity(pod.Pod)
	for i := range s.constraints {
		c := &s.constraints[i]
		if !countable(c, pod.Pod, n.Node, affinity) || !c.selects(other) {
			continue
		}
		s.matchNum[topologyPair{c.topologyKey, n.Node.Labels[c.topologyKey]}] += delta
		s.recomputeMin(i)
	}
}

// spreadScoreState is PreScore's state for the ScheduleAnyway constraints.
type spreadScoreState struct {
	constraints []spreadConstraint
	ignored     map[string]bool // nodes lacking a topology key: score 0
	pairCounts  map[topologyPair]*atomic.Int64
	weights     []float64
}

func (s *spreadScoreState) Clone() fw.StateData { return s }

func (p *PodTopologySpread) PreScore(ctx context.Context, state *fw.CycleState, pod *fw.PodInfo, filtered []*fw.NodeInfo) *fw.Status {
	cs, err := spreadConstraints(pod.Pod, core.ScheduleAnyway)
	if err != nil {
		return fw.AsStatus(err)
	}
	if len(cs) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	s := &spreadScoreState{constraints: cs, ignored: map[string]bool{}, pairCounts: map[topologyPair]*atomic.Int64{}, weights: make([]float64, len(cs))}
	sizes := make([]int, len(cs))
	for _, n := range filtered {
		if !hasAllKeys(n.Node, cs) {
			s.ignored[n.Name()] = true
			continue
		}
		for i := range cs {
			if cs[i].topologyKey == core.LabelHostname {
				continue
			}
			pair := topologyPair{cs[i].topologyKey, n.Node.Labels[cs[i].topologyKey]}
			if s.pairCounts[pair] == nil {
				s.pairCounts[pair] = new(atomic.Int64)
				sizes[i]++
			}
		}
	}
	for i := range cs {
		size := sizes[i]
		if cs[i].topologyKey == core.LabelHostname {
			size = len(filtered) - len(s.ignored)
		}
		// More domains make each pod count for more, so that spreading over many small domains
		// weighs like spreading over a few big ones.
		s.weights[i] = math.Log(float64(size + 2))
	}
	affinity, _ := NewRequiredNodeAffinity(pod.Pod)
	nodes := state.Snapshot.NodeInfoList
	p.parallel.Until(ctx, len(nodes), func(i int) {
		n := nodes[i]
		if n.Node == nil || !hasAllKeys(n.Node, cs) {
			return
		}
		for j := range cs {
			c := &cs[j]
			if c.topologyKey == core.LabelHostname || !countable(c, pod.Pod, n.Node, affinity) {
				continue
			}
			if cnt := s.pairCounts[topologyPair{c.topologyKey, n.Node.Labels[c.topologyKey]}]; cnt != nil {
				cnt.Add(int64(countMatching(c, n)))
			}
		}
	})
	state.Write(PodTopologySpreadName+"/score", s)
	return nil
}

func (p *PodTopologySpread) Score(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	s, _ := state.Read(PodTopologySpreadName + "/score").(*spreadScoreState)
	if s == nil || s.ignored[n.Name()] {
		return 0, nil
	}
	var score float64
	for i := range s.constraints {
		c := &s.constraints[i]
		var cnt int64
		if c.topologyKey == core.LabelHostname {
			cnt = int64(countMatching(c, n))
		} else if v := s.pairCounts[topologyPair{c.topologyKey, n.Node.Labels[c.topologyKey]}]; v != nil {
			cnt = v.Load()
		}
		score += float64(cnt)*s.weights[i] + float64(c.maxSkew-1)
	}
	return int64(math.Round(score)), nil
}

// NormalizeScore maps the lowest count to MaxNodeScore; nodes without the keys get 0.
func (p *PodTopologySpread) NormalizeScore(state *fw.CycleState, _ *fw.PodInfo, nodes []*fw.NodeInfo, scores []int64) {
	s, _ := state.Read(PodTopologySpreadName + "/score").(*spreadScoreState)
	if s == nil {
		return
	}
	var minScore, maxScore int64 = math.MaxInt64, 0
	for i, n := range nodes {
		if s.ignored[n.Name()] {
			continue
		}
		minScore = min(minScore, scores[i])
		maxScore = max(maxScore, scores[i])
	}
	for i, n := range nodes {
		switch {
		case s.ignored[n.Name()]:
			scores[i] = 0
		case maxScore == 0:
			scores[i] = fw.MaxNodeScore
		default:
			scores[i] = fw.MaxNodeScore * (maxScore + minScore - scores[i]) / maxScore
		}
	}
}

func (p *PodTopologySpread) EventsToRegister() []fw.ClusterEventWithHint {
	podHint := func(pod *core.Pod, oldObj, newObj any) bool {
		for _, obj := range []any{oldObj, newObj} {
			other, ok := obj.(*core.Pod)
			if !ok || other.Namespace != pod.Namespace {
				continue
			}
			cs, _ := spreadConstraints(pod, core.DoNotSchedule)
			for i := range cs {
				if cs[i].selector.Matches(labels.Set(other.Labels)) {
					return true
				}
			}
		}
		return false
	}
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Add | fw.Delete | fw.UpdatePodLabel}, Hint: podHint},
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.Delete | fw.UpdateNodeLabel | fw.UpdateNodeTaint}},
	}
}
