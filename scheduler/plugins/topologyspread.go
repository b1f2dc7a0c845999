package plugins

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// PodTopologySpread spreads pods that match a constraint's selector evenly over topology
// domains (zones, nodes): DoNotSchedule constraints filter (the skew after placing the pod may
// not exceed maxSkew), ScheduleAnyway constraints score (fewer matching pods is better).
//
// A pod without constraints of its own gets the plugin's default constraints (by default the
// system ones: ScheduleAnyway over hostnames and zones), selecting the pods that the same
// Services, ReplicaSet or StatefulSet select: so the replicas of a workload spread out even
// when nothing else tells the nodes apart, as in Kubernetes.
type PodTopologySpread struct {
	parallel fw.Parallelizer
	// defaults are the constraints of pods that have none (their selectors are left out: they
	// are worked out per pod); systemDefaulted: they are SystemDefaultConstraints, which also
	// score nodes that lack a zone label.
	defaults        []core.TopologySpreadConstraint
	systemDefaulted bool
	workloads       WorkloadLister
}

// SystemDefaultConstraints are Kubernetes' cluster-level defaults (defaultingType: System).
var SystemDefaultConstraints = []core.TopologySpreadConstraint{
	{TopologyKey: core.LabelHostname, WhenUnsatisfiable: core.ScheduleAnyway, MaxSkew: 3},
	{TopologyKey: core.LabelTopologyZone, WhenUnsatisfiable: core.ScheduleAnyway, MaxSkew: 5},
}

// Defaulting types of PodTopologySpreadArgs.
const (
	SystemDefaulting = "System"
	ListDefaulting   = "List"
)

// PodTopologySpreadArgs are the plugin's args in KubeSchedulerConfiguration.
type PodTopologySpreadArgs struct {
	// DefaultConstraints apply to pods without constraints of their own (defaultingType
	// List); they must not have a labelSelector.
	DefaultConstraints []core.TopologySpreadConstraint `json:"defaultConstraints,omitempty"`
	// DefaultingType is System (the default: SystemDefaultConstraints) or List.
	DefaultingType string `json:"defaultingType,omitempty"`
}

// NewPodTopologySpread validates args as Kubernetes does.
func NewPodTopologySpread(args PodTopologySpreadArgs, h Handle) (*PodTopologySpread, error) {
	p := &PodTopologySpread{parallel: h.Parallelizer, workloads: h.Workloads}
	switch args.DefaultingType {
	case "", SystemDefaulting:
		if len(args.DefaultConstraints) > 0 {
			return nil, fmt.Errorf(`defaultConstraints: Invalid value: when .defaultingType is "System", .defaultConstraints must be empty`)
		}
		p.defaults, p.systemDefaulted = SystemDefaultConstraints, true
	case ListDefaulting:
		seen := map[[2]string]bool{}
		for i, c := range args.DefaultConstraints {
			path := fmt.Sprintf("defaultConstraints[%d]", i)
			switch {
			case c.MaxSkew <= 0:
				return nil, fmt.Errorf("%s.maxSkew: Invalid value: %d: must be greater than zero", path, c.MaxSkew)
			case c.TopologyKey == "":
				return nil, fmt.Errorf("%s.topologyKey: Required value: can not be empty", path)
			case c.WhenUnsatisfiable != core.DoNotSchedule && c.WhenUnsatisfiable != core.ScheduleAnyway:
				return nil, fmt.Errorf("%s.whenUnsatisfiable: Unsupported value: %q: supported values: %q, %q", path, c.WhenUnsatisfiable, core.DoNotSchedule, core.ScheduleAnyway)
			case c.LabelSelector != nil:
				return nil, fmt.Errorf("%s.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod", path)
			}
			if msgs := labels.ValidateKey(c.TopologyKey); len(msgs) > 0 {
				return nil, fmt.Errorf("%s.topologyKey: Invalid value: %q: %s", path, c.TopologyKey, msgs[0])
			}
			k := [2]string{c.TopologyKey, string(c.WhenUnsatisfiable)}
			if seen[k] {
				return nil, fmt.Errorf("%s: Duplicate value: {%s, %s}", path, c.TopologyKey, c.WhenUnsatisfiable)
			}
			seen[k] = true
		}
		p.defaults = args.DefaultConstraints
	default:
		return nil, fmt.Errorf("defaultingType: Unsupported value: %q: supported values: %q, %q", args.DefaultingType, ListDefaulting, SystemDefaulting)
	}
	return p, nil
}

// WorkloadLister finds the objects whose selectors pick pods, for the default constraints.
// The scheduler serves it from informers; nil means there are none.
type WorkloadLister interface {
	// Services lists the Services of a namespace.
	Services(namespace string) []*core.Service
	ReplicaSet(namespace, name string) (*apps.ReplicaSet, bool)
	StatefulSet(namespace, name string) (*apps.StatefulSet, bool)
}

// DefaultSelector selects the pods that belong with pod, as Kubernetes' helper of that name:
// the selectors of the Services that select it merged, and its controller's (a ReplicaSet or
// a StatefulSet) selector added. Empty when nothing selects the pod.
func DefaultSelector(pod *core.Pod, l WorkloadLister) labels.Selector {
	if l == nil {
		return labels.NewSelector()
	}
	set := labels.Set{}
	podLabels := labels.Set(pod.Labels)
	for _, svc := range l.Services(pod.Namespace) {
		if svc.Spec.Selector == nil {
			continue // a Service without a selector selects nothing, not everything
		}
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
			for k, v := range svc.Spec.Selector {
				set[k] = v // the Services all match the pod: their labels cannot conflict
			}
		}
	}
	sel := labels.SelectorFromSet(set)
	owner := meta.GetControllerOf(&pod.ObjectMeta)
	if owner == nil || owner.APIVersion != apps.GroupName+"/"+apps.Version {
		return sel
	}
	var ls *meta.LabelSelector
	switch owner.Kind {
	case "ReplicaSet":
		if rs, ok := l.ReplicaSet(pod.Namespace, owner.Name); ok {
			ls = rs.Spec.Selector
		}
	case "StatefulSet":
		if ss, ok := l.StatefulSet(pod.Namespace, owner.Name); ok {
			ls = ss.Spec.Selector
		}
	}
	if ls == nil {
		return sel
	}
	if other, err := labels.SelectorFromLabelSelector(ls); err == nil {
		if reqs, ok := other.Requirements(); ok {
			sel = sel.Add(reqs...)
		}
	}
	return sel
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

// constraints compiles the pod's constraints with the given action: its own, or if it has
// none, the defaults with the pod's DefaultSelector (none when that is empty).
func (p *PodTopologySpread) constraints(pod *core.Pod, action core.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	if len(pod.Spec.TopologySpreadConstraints) > 0 {
		return spreadConstraints(pod, pod.Spec.TopologySpreadConstraints, action)
	}
	wanted := false
	for i := range p.defaults {
		wanted = wanted || p.defaults[i].WhenUnsatisfiable == action
	}
	if !wanted {
		return nil, nil // no selector to work out (the system defaults never filter)
	}
	sel := DefaultSelector(pod, p.workloads)
	if sel.Empty() {
		return nil, nil
	}
	cs, err := spreadConstraints(pod, p.defaults, action)
	for i := range cs {
		cs[i].selector = sel
	}
	return cs, err
}

// spreadConstraints compiles constraints with the given action.
func spreadConstraints(pod *core.Pod, constraints []core.TopologySpreadConstraint, action core.UnsatisfiableConstraintAction) ([]spreadConstraint, error) {
	var out []spreadConstraint
	for _, c := range constraints {
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

// countable reports whether node takes part in constraint c's counting for pod: it passes
// the node-inclusion policies. (Whether it has the topology keys is checked by the callers.)
func countable(c *spreadConstraint, pod *core.Pod, node *core.Node, affinity *RequiredNodeAffinity) bool {
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
	cs, err := p.constraints(pod.Pod, core.DoNotSchedule)
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
	ignored     map[string]bool // nodes lacking a topology key (unless system-defaulted): score 0
	pairCounts  map[topologyPair]*atomic.Int64
	weights     []float64
}

func (s *spreadScoreState) Clone() fw.StateData { return s }

func (p *PodTopologySpread) PreScore(ctx context.Context, state *fw.CycleState, pod *fw.PodInfo, filtered []*fw.NodeInfo) *fw.Status {
	cs, err := p.constraints(pod.Pod, core.ScheduleAnyway)
	if err != nil {
		return fw.AsStatus(err)
	}
	if len(cs) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	// The system defaults do not require every key: nodes without a zone label still get
	// hostname spreading (a constraint whose key a node lacks just does not score it).
	requireAll := len(pod.Pod.Spec.TopologySpreadConstraints) > 0 || !p.systemDefaulted
	s := &spreadScoreState{constraints: cs, ignored: map[string]bool{}, pairCounts: map[topologyPair]*atomic.Int64{}, weights: make([]float64, len(cs))}
	sizes := make([]int, len(cs))
	for _, n := range filtered {
		if requireAll && !hasAllKeys(n.Node, cs) {
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
		if n.Node == nil || requireAll && !hasAllKeys(n.Node, cs) {
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
		value, ok := n.Node.Labels[c.topologyKey]
		if !ok {
			continue
		}
		var cnt int64
		if c.topologyKey == core.LabelHostname {
			cnt = int64(countMatching(c, n))
		} else if v := s.pairCounts[topologyPair{c.topologyKey, value}]; v != nil {
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
			cs, _ := p.constraints(pod, core.DoNotSchedule)
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
