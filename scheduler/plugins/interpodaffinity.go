package plugins

import (
	"context"
	"math"
	"sync"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// InterPodAffinityArgs are InterPodAffinity's args.
type InterPodAffinityArgs struct {
	// HardPodAffinityWeight is the score an existing pod's required affinity to the incoming pod
	// is worth (0..100, default 1): required affinity is symmetric for scoring.
	HardPodAffinityWeight *int32 `json:"hardPodAffinityWeight,omitempty"`
}

// InterPodAffinity places pods relative to other pods: required affinity (the domain must
// already hold a matching pod), required anti-affinity (it must not), both in the incoming pod's
// terms and, symmetrically, in the terms of pods already placed; preferred terms score.
type InterPodAffinity struct {
	parallel   fw.Parallelizer
	hardWeight int64
}

func (*InterPodAffinity) Name() string { return InterPodAffinityName }

// counts maps topology domains to the number of matching terms in them.
type counts map[topologyPair]int

func (c counts) add(node *core.Node, key string, delta int) {
	if v, ok := node.Labels[key]; ok {
		c[topologyPair{key, v}] += delta
		if c[topologyPair{key, v}] == 0 {
			delete(c, topologyPair{key, v})
		}
	}
}

func (c counts) clone() counts {
	out := make(counts, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

type affinityFilterState struct {
	// existingAnti: domains where a placed pod's required anti-affinity selects the incoming pod.
	existingAnti counts
	// affinity and anti: domains holding pods the incoming pod's required terms select.
	affinity, anti counts
	nsLabels       func(string) labels.Set
	// Memos of the incoming pod's terms against placed pods (by the placed pod's LabelsKey):
	// all required affinity terms together, and each anti-affinity term.
	allAffinity *fw.Memo
	antiTerms   []*fw.Memo
}

func newAffinityFilterState(pod *fw.PodInfo, nsLabels func(string) labels.Set) *affinityFilterState {
	s := &affinityFilterState{existingAnti: counts{}, affinity: counts{}, anti: counts{}, nsLabels: nsLabels, allAffinity: &fw.Memo{}}
	for range pod.RequiredAntiAffinityTerms {
		s.antiTerms = append(s.antiTerms, &fw.Memo{})
	}
	return s
}

func (s *affinityFilterState) Clone() fw.StateData {
	c := *s
	c.existingAnti, c.affinity, c.anti = s.existingAnti.clone(), s.affinity.clone(), s.anti.clone()
	return &c
}

// matchesAll: every term selects pod (Kubernetes counts a pod toward affinity only then).
func matchesAll(terms []fw.AffinityTerm, pod *core.Pod, nsLabels func(string) labels.Set) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

func (p *InterPodAffinity) PreFilter(ctx context.Context, state *fw.CycleState, pod *fw.PodInfo) *fw.Status {
	snap := state.Snapshot
	if pod.ParseErr != nil {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, pod.ParseErr.Error())
	}
	hasTerms := len(pod.RequiredAffinityTerms)+len(pod.RequiredAntiAffinityTerms) > 0
	if !hasTerms && len(snap.HavePodsWithRequiredAntiAffinityList) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	s := newAffinityFilterState(pod, state.NamespaceLabels)
	// Placed pods of one workload carry the same terms: match each distinct term once.
	termMemo := &fw.Memo{}
	for _, n := range snap.HavePodsWithRequiredAntiAffinityList {
		for _, existing := range n.PodsWithRequiredAntiAffinity {
			s.addExistingAnti(existing, pod.Pod, n.Node, 1, termMemo)
		}
	}
	if hasTerms {
		var mu sync.Mutex
		nodes := snap.NodeInfoList
		p.parallel.Until(ctx, len(nodes), func(i int) {
			n := nodes[i]
			if n.Node == nil {
				return
			}
			var aff, anti counts // allocated on the first match only
			for _, existing := range n.Pods {
				s.addIncoming(&aff, &anti, pod, existing, n.Node, 1)
			}
			if len(aff)+len(anti) == 0 {
				return
			}
			mu.Lock()
			for k, v := range aff {
				s.affinity[k] += v
			}
			for k, v := range anti {
				s.anti[k] += v
			}
			mu.Unlock()
		})
	}
	state.Write(InterPodAffinityName, s)
	return nil
}

// addExistingAnti counts existing's required anti-affinity terms that select the incoming pod;
// memo (may be nil) remembers answers by term key.
func (s *affinityFilterState) addExistingAnti(existing *fw.PodInfo, incoming *core.Pod, node *core.Node, delta int, memo *fw.Memo) {
	for i := range existing.RequiredAntiAffinityTerms {
		t := &existing.RequiredAntiAffinityTerms[i]
		if termSelects(memo, t, incoming, s.nsLabels) {
			s.existingAnti.add(node, t.TopologyKey, delta)
		}
	}
}

// addIncoming counts other (on node) toward the incoming pod's required affinity (only if it
// matches every term) and anti-affinity (per term), allocating *aff and *anti when needed.
func (s *affinityFilterState) addIncoming(aff, anti *counts, pod, other *fw.PodInfo, node *core.Node, delta int) {
	if len(pod.RequiredAffinityTerms) > 0 && memoized(s.allAffinity, other, func() bool {
		return matchesAll(pod.RequiredAffinityTerms, other.Pod, s.nsLabels)
	}) {
		if *aff == nil {
			*aff = counts{}
		}
		for i := range pod.RequiredAffinityTerms {
			aff.add(node, pod.RequiredAffinityTerms[i].TopologyKey, delta)
		}
	}
	for i := range pod.RequiredAntiAffinityTerms {
		t := &pod.RequiredAntiAffinityTerms[i]
		if memoized(s.antiTerms[i], other, func() bool { return t.Matches(other.Pod, s.nsLabels) }) {
			if *anti == nil {
				*anti = counts{}
			}
			anti.add(node, t.TopologyKey, delta)
		}
	}
}

// memoized answers match for pod's label set from memo, computing it once.
func memoized(memo *fw.Memo, pod *fw.PodInfo, match func() bool) bool {
	if v, ok := memo.Load(pod.LabelsHash, pod.LabelsKey); ok {
		return v
	}
	v := match()
	memo.Store(pod.LabelsHash, pod.LabelsKey, v)
	return v
}

// termSelects answers whether a placed pod's term t selects the incoming pod, from memo (by
// term key) when it can.
func termSelects(memo *fw.Memo, t *fw.AffinityTerm, incoming *core.Pod, nsLabels func(string) labels.Set) bool {
	if memo == nil {
		return t.Matches(incoming, nsLabels)
	}
	if v, ok := memo.Load(t.KeyHash, t.Key); ok {
		return v
	}
	v := t.Matches(incoming, nsLabels)
	memo.Store(t.KeyHash, t.Key, v)
	return v
}

func (p *InterPodAffinity) Filter(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	s, _ := state.Read(InterPodAffinityName).(*affinityFilterState)
	if s == nil {
		return nil
	}
	if !s.satisfiesAffinity(pod, n.Node) {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonAffinityMismatch)
	}
	if len(s.anti) > 0 {
		for i := range pod.RequiredAntiAffinityTerms {
			key := pod.RequiredAntiAffinityTerms[i].TopologyKey
			if v, ok := n.Node.Labels[key]; ok && s.anti[topologyPair{key, v}] > 0 {
				return fw.NewStatus(fw.Unschedulable, ReasonAntiAffinity)
			}
		}
	}
	if len(s.existingAnti) > 0 {
		for k, v := range n.Node.Labels {
			if s.existingAnti[topologyPair{k, v}] > 0 {
				return fw.NewStatus(fw.Unschedulable, ReasonExistingAntiAffine)
			}
		}
	}
	return nil
}

// satisfiesAffinity: every required affinity term finds a matching pod in the node's domain.
// The first pod of a group that has affinity to itself may go anywhere while no pod in the
// cluster matches the terms, or it would wait forever.
func (s *affinityFilterState) satisfiesAffinity(pod *fw.PodInfo, node *core.Node) bool {
	for i := range pod.RequiredAffinityTerms {
		key := pod.RequiredAffinityTerms[i].TopologyKey
		v, ok := node.Labels[key]
		if !ok {
			return false
		}
		if s.affinity[topologyPair{key, v}] <= 0 {
			return len(s.affinity) == 0 && matchesAll(pod.RequiredAffinityTerms, pod.Pod, s.nsLabels)
		}
	}
	return true
}

func (p *InterPodAffinity) AddPod(state *fw.CycleState, pod, added *fw.PodInfo, n *fw.NodeInfo) {
	p.updateWith(state, pod, added, n, 1)
}

func (p *InterPodAffinity) RemovePod(state *fw.CycleState, pod, removed *fw.PodInfo, n *fw.NodeInfo) {
	p.updateWith(state, pod, removed, n, -1)
}

func (p *InterPodAffinity) updateWith(state *fw.CycleState, pod, other *fw.PodInfo, n *fw.NodeInfo, delta int) {
	s, _ := state.Read(InterPodAffinityName).(*affinityFilterState)
	if s == nil || n.Node == nil {
		return
	}
	s.addExistingAnti(other, pod.Pod, n.Node, delta, nil)
	s.addIncoming(&s.affinity, &s.anti, pod, other, n.Node, delta)
}

// affinityScoreState maps topology key → value → score.
type affinityScoreState struct {
	scores map[string]map[string]int64
}

func (s *affinityScoreState) Clone() fw.StateData { return s }

func (s *affinityScoreState) add(node *core.Node, key string, weight int64) {
	v, ok := node.Labels[key]
	if !ok || weight == 0 {
		return
	}
	if s.scores == nil {
		s.scores = map[string]map[string]int64{}
	}
	m := s.scores[key]
	if m == nil {
		m = map[string]int64{}
		s.scores[key] = m
	}
	m[v] += weight
}

func (p *InterPodAffinity) PreScore(ctx context.Context, state *fw.CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	snap := state.Snapshot
	hasOwn := len(pod.PreferredAffinityTerms)+len(pod.PreferredAntiAffinityTerms) > 0
	if !hasOwn && len(snap.HavePodsWithAffinityList) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	// Without preferred terms of its own, only placed pods with affinity can score the pod.
	nodes := snap.HavePodsWithAffinityList
	if hasOwn {
		nodes = snap.NodeInfoList
	}
	m := &scoreMemos{nsLabels: state.NamespaceLabels, placedTerms: &fw.Memo{}}
	for range pod.PreferredAffinityTerms {
		m.affinity = append(m.affinity, &fw.Memo{})
	}
	for range pod.PreferredAntiAffinityTerms {
		m.anti = append(m.anti, &fw.Memo{})
	}
	total := &affinityScoreState{scores: map[string]map[string]int64{}}
	var mu sync.Mutex
	p.parallel.Until(ctx, len(nodes), func(i int) {
		n := nodes[i]
		if n.Node == nil || len(n.Node.Labels) == 0 {
			return
		}
		placed := n.PodsWithAffinity
		if hasOwn {
			placed = n.Pods
		}
		var local affinityScoreState // its map is made on the first contribution
		for _, existing := range placed {
			p.scoreExisting(&local, m, pod, existing, n.Node)
		}
		if len(local.scores) == 0 {
			return
		}
		mu.Lock()
		for k, values := range local.scores {
			for v, sc := range values {
				if total.scores[k] == nil {
					total.scores[k] = map[string]int64{}
				}
				total.scores[k][v] += sc
			}
		}
		mu.Unlock()
	})
	if len(total.scores) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	state.Write(InterPodAffinityName+"/score", total)
	return nil
}

// scoreMemos remember, for one cycle, the incoming pod's preferred terms against placed pods
// (by label set) and placed pods' terms against the incoming pod (by term key).
type scoreMemos struct {
	nsLabels       func(string) labels.Set
	affinity, anti []*fw.Memo
	placedTerms    *fw.Memo
}

// selectsIncoming: a placed pod's term t selects the incoming pod.
func (m *scoreMemos) selectsIncoming(t *fw.AffinityTerm, pod *core.Pod) bool {
	return termSelects(m.placedTerms, t, pod, m.nsLabels)
}

// scoreExisting adds what one placed pod contributes: the incoming pod's preferred terms that
// select it, and its own required (hard weight) and preferred terms that select the incoming pod.
func (p *InterPodAffinity) scoreExisting(s *affinityScoreState, m *scoreMemos, pod *fw.PodInfo, existing *fw.PodInfo, node *core.Node) {
	for i := range pod.PreferredAffinityTerms {
		t := &pod.PreferredAffinityTerms[i]
		if memoized(m.affinity[i], existing, func() bool { return t.Matches(existing.Pod, m.nsLabels) }) {
			s.add(node, t.TopologyKey, int64(t.Weight))
		}
	}
	for i := range pod.PreferredAntiAffinityTerms {
		t := &pod.PreferredAntiAffinityTerms[i]
		if memoized(m.anti[i], existing, func() bool { return t.Matches(existing.Pod, m.nsLabels) }) {
			s.add(node, t.TopologyKey, -int64(t.Weight))
		}
	}
	if p.hardWeight > 0 {
		for i := range existing.RequiredAffinityTerms {
			t := &existing.RequiredAffinityTerms[i]
			if m.selectsIncoming(t, pod.Pod) {
				s.add(node, t.TopologyKey, p.hardWeight)
			}
		}
	}
	for i := range existing.PreferredAffinityTerms {
		t := &existing.PreferredAffinityTerms[i]
		if m.selectsIncoming(&t.AffinityTerm, pod.Pod) {
			s.add(node, t.TopologyKey, int64(t.Weight))
		}
	}
	for i := range existing.PreferredAntiAffinityTerms {
		t := &existing.PreferredAntiAffinityTerms[i]
		if m.selectsIncoming(&t.AffinityTerm, pod.Pod) {
			s.add(node, t.TopologyKey, -int64(t.Weight))
		}
	}
}

func (p *InterPodAffinity) Score(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	s, _ := state.Read(InterPodAffinityName + "/score").(*affinityScoreState)
	if s == nil {
		return 0, nil
	}
	var score int64
	for key, values := range s.scores {
		if v, ok := n.Node.Labels[key]; ok {
			score += values[v]
		}
	}
	return score, nil
}

// NormalizeScore maps the lowest score to 0 and the highest to MaxNodeScore.
func (p *InterPodAffinity) NormalizeScore(state *fw.CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	if s, _ := state.Read(InterPodAffinityName + "/score").(*affinityScoreState); s == nil {
		return
	}
	var lo, hi int64 = math.MaxInt64, math.MinInt64
	for _, s := range scores {
		lo, hi = min(lo, s), max(hi, s)
	}
	for i, s := range scores {
		if hi > lo {
			scores[i] = fw.MaxNodeScore * (s - lo) / (hi - lo)
		} else {
			scores[i] = 0
		}
	}
}

func (p *InterPodAffinity) EventsToRegister() []fw.ClusterEventWithHint {
	podHint := func(pod *core.Pod, oldObj, newObj any) bool {
		pi := fw.NewPodInfo(pod)
		for _, obj := range []any{oldObj, newObj} {
			other, ok := obj.(*core.Pod)
			if !ok {
				continue
			}
			for _, terms := range [][]fw.AffinityTerm{pi.RequiredAffinityTerms, pi.RequiredAntiAffinityTerms} {
				for i := range terms {
					// Namespace labels are not at hand here: a namespaceSelector term retries.
					if terms[i].HasNamespaceSelector() || terms[i].Matches(other, nil) {
						return true
					}
				}
			}
			if len(fw.NewPodInfo(other).RequiredAntiAffinityTerms) > 0 {
				return true
			}
		}
		return false
	}
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Add | fw.Delete | fw.UpdatePodLabel}, Hint: podHint},
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeLabel}},
	}
}
