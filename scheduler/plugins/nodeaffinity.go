package plugins

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// NodeAffinity enforces spec.nodeSelector and required node affinity, and scores preferred node
// affinity by the summed weights of the terms a node matches.
type NodeAffinity struct{}

func (NodeAffinity) Name() string { return NodeAffinityName }

// RequiredNodeAffinity is a pod's node selector and required node affinity, compiled.
type RequiredNodeAffinity struct {
	selector map[string]string
	terms    *nodeSelector // nil: no required affinity
}

func (r *RequiredNodeAffinity) Clone() fw.StateData { return r }

// NewRequiredNodeAffinity compiles pod's nodeSelector and required node affinity.
func NewRequiredNodeAffinity(pod *core.Pod) (*RequiredNodeAffinity, error) {
	r := &RequiredNodeAffinity{selector: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		sel, err := compileNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms)
		if err != nil {
			return nil, err
		}
		r.terms = sel
	}
	return r, nil
}

// Empty: the pod does not constrain nodes.
func (r *RequiredNodeAffinity) Empty() bool { return len(r.selector) == 0 && r.terms == nil }

// Match reports whether node satisfies both.
func (r *RequiredNodeAffinity) Match(node *core.Node) bool {
	for k, v := range r.selector {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false
		}
	}
	return r.terms == nil || r.terms.match(node)
}

func (NodeAffinity) PreFilter(_ context.Context, state *fw.CycleState, pod *fw.PodInfo) *fw.Status {
	r, err := NewRequiredNodeAffinity(pod.Pod)
	if err != nil {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, err.Error())
	}
	if r.Empty() {
		return fw.NewStatus(fw.Skip)
	}
	state.Write(NodeAffinityName, r)
	return nil
}

func (NodeAffinity) Filter(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	r, _ := state.Read(NodeAffinityName).(*RequiredNodeAffinity)
	if r != nil && !r.Match(n.Node) {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonNodeAffinity)
	}
	return nil
}

type preferredTerm struct {
	weight int64
	term   nodeSelectorTerm
}

type preferredNodeAffinity []preferredTerm

func (p preferredNodeAffinity) Clone() fw.StateData { return p }

func (NodeAffinity) PreScore(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	a := pod.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	var pref preferredNodeAffinity
	for _, t := range a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
		if t.Weight == 0 {
			continue
		}
		term, err := compileTerm(t.Preference)
		if err != nil {
			return fw.AsStatus(err)
		}
		pref = append(pref, preferredTerm{weight: int64(t.Weight), term: term})
	}
	state.Write(NodeAffinityName+"/score", pref)
	return nil
}

func (NodeAffinity) Score(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	pref, _ := state.Read(NodeAffinityName + "/score").(preferredNodeAffinity)
	var score int64
	for _, t := range pref {
		if t.term.match(n.Node) {
			score += t.weight
		}
	}
	return score, nil
}

func (NodeAffinity) NormalizeScore(_ *fw.CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	fw.DefaultNormalizeScore(scores, false)
}

func (NodeAffinity) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{{
		Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeLabel},
		Hint: func(pod *core.Pod, _, newObj any) bool {
			n, ok := newObj.(*core.Node)
			if !ok {
				return false
			}
			r, err := NewRequiredNodeAffinity(pod)
			return err == nil && r.Match(n)
		},
	}}
}

// nodeSelector is a compiled NodeSelector: its terms are ORed.
type nodeSelector struct{ terms []nodeSelectorTerm }

// nodeSelectorTerm ANDs its label and field requirements; an empty term matches nothing.
type nodeSelectorTerm struct {
	labels []nodeRequirement
	fields []nodeRequirement
}

type nodeRequirement struct {
	key    string
	op     core.NodeSelectorOperator
	values []string
	number int64 // for Gt and Lt
}

func compileNodeSelector(terms []core.NodeSelectorTerm) (*nodeSelector, error) {
	s := &nodeSelector{}
	for _, t := range terms {
		ct, err := compileTerm(t)
		if err != nil {
			return nil, err
		}
		s.terms = append(s.terms, ct)
	}
	return s, nil
}

func compileTerm(t core.NodeSelectorTerm) (nodeSelectorTerm, error) {
	var out nodeSelectorTerm
	for _, e := range t.MatchExpressions {
		r, err := compileRequirement(e, false)
		if err != nil {
			return out, err
		}
		out.labels = append(out.labels, r)
	}
	for _, e := range t.MatchFields {
		r, err := compileRequirement(e, true)
		if err != nil {
			return out, err
		}
		out.fields = append(out.fields, r)
	}
	return out, nil
}

func compileRequirement(e core.NodeSelectorRequirement, field bool) (nodeRequirement, error) {
	r := nodeRequirement{key: e.Key, op: e.Operator, values: e.Values}
	if field {
		// Only metadata.name is a node field, and only In/NotIn apply to it.
		if e.Key != "metadata.name" {
			return r, fmt.Errorf("matchFields: unsupported field %q (only metadata.name)", e.Key)
		}
		if e.Operator != core.NodeSelectorOpIn && e.Operator != core.NodeSelectorOpNotIn {
			return r, fmt.Errorf("matchFields: operator %q is not supported for metadata.name", e.Operator)
		}
		return r, nil
	}
	switch e.Operator {
	case core.NodeSelectorOpIn, core.NodeSelectorOpNotIn, core.NodeSelectorOpExists, core.NodeSelectorOpDoesNotExist:
	case core.NodeSelectorOpGt, core.NodeSelectorOpLt:
		if len(e.Values) != 1 {
			return r, fmt.Errorf("operator %s needs exactly one value for key %q", e.Operator, e.Key)
		}
		n, err := strconv.ParseInt(e.Values[0], 10, 64)
		if err != nil {
			return r, fmt.Errorf("operator %s needs an integer value for key %q, got %q", e.Operator, e.Key, e.Values[0])
		}
		r.number = n
	default:
		return r, fmt.Errorf("unknown node selector operator %q", e.Operator)
	}
	return r, nil
}

func (s *nodeSelector) match(node *core.Node) bool {
	for i := range s.terms {
		if s.terms[i].match(node) {
			return true
		}
	}
	return false
}

func (t *nodeSelectorTerm) match(node *core.Node) bool {
	if len(t.labels) == 0 && len(t.fields) == 0 {
		return false
	}
	for i := range t.labels {
		v, ok := node.Labels[t.labels[i].key]
		if !t.labels[i].match(v, ok) {
			return false
		}
	}
	for i := range t.fields {
		if !t.fields[i].match(node.Name, true) {
			return false
		}
	}
	return true
}

// match applies the requirement to a label value (ok: the label exists). A missing label fails
// In, Exists, Gt and Lt and passes NotIn and DoesNotExist, as in Kubernetes.
func (r *nodeRequirement) match(v string, ok bool) bool {
	switch r.op {
	case core.NodeSelectorOpIn:
		return ok && slices.Contains(r.values, v)
	case core.NodeSelectorOpNotIn:
		return !ok || !slices.Contains(r.values, v)
	case core.NodeSelectorOpExists:
		return ok
	case core.NodeSelectorOpDoesNotExist:
		return !ok
	case core.NodeSelectorOpGt, core.NodeSelectorOpLt:
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false
		}
		if r.op == core.NodeSelectorOpGt {
			return n > r.number
		}
		return n < r.number
	}
	return false
}
