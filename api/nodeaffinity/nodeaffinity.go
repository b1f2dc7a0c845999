// Package nodeaffinity matches nodes against a pod's spec.nodeSelector and node affinity,
// written once for the scheduler and the DaemonSet controller (which must agree on which
// nodes a pod may run on), as Kubernetes' component-helpers/scheduling/corev1/nodeaffinity.
//
// Selectors are compiled once (operators checked, Gt/Lt values parsed) and then matched
// against many nodes.
package nodeaffinity

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
)

// NodeNameField is the only node field a matchFields requirement may name.
const NodeNameField = "metadata.name"

// RequiredNodeAffinity is a pod's spec.nodeSelector and required node affinity, compiled.
type RequiredNodeAffinity struct {
	labels map[string]string
	terms  *NodeSelector // nil: no required affinity
	err    error         // why the affinity cannot be compiled; such a pod fits no node
}

// GetRequiredNodeAffinity compiles pod's nodeSelector and required node affinity.
func GetRequiredNodeAffinity(pod *core.Pod) RequiredNodeAffinity {
	r := RequiredNodeAffinity{labels: pod.Spec.NodeSelector}
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		r.terms, r.err = NewNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
	}
	return r
}

// Err is why the pod's affinity cannot be compiled (nil when it can).
func (r RequiredNodeAffinity) Err() error { return r.err }

// Empty reports whether the pod constrains nodes not at all.
func (r RequiredNodeAffinity) Empty() bool {
	return len(r.labels) == 0 && r.terms == nil && r.err == nil
}

// Match reports whether node has every nodeSelector label and satisfies the required
// affinity; a pod whose affinity does not compile matches no node, with the reason.
func (r RequiredNodeAffinity) Match(node *core.Node) (bool, error) {
	if r.err != nil {
		return false, r.err
	}
	for k, v := range r.labels {
		if got, ok := node.Labels[k]; !ok || got != v {
			return false, nil
		}
	}
	return r.terms == nil || r.terms.Match(node), nil
}

// NodeSelector is a compiled core.NodeSelector: its terms are ORed.
type NodeSelector struct{ terms []nodeSelectorTerm }

// NewNodeSelector compiles ns, or says which requirement is malformed.
func NewNodeSelector(ns *core.NodeSelector) (*NodeSelector, error) {
	s := &NodeSelector{}
	for _, t := range ns.NodeSelectorTerms {
		ct, err := compileTerm(t)
		if err != nil {
			return nil, err
		}
		s.terms = append(s.terms, ct)
	}
	return s, nil
}

// Match reports whether node satisfies one of the terms (an empty term matches nothing, and
// a selector without terms matches no node).
func (s *NodeSelector) Match(node *core.Node) bool {
	for i := range s.terms {
		if s.terms[i].match(node) {
			return true
		}
	}
	return false
}

// PreferredSchedulingTerms is a pod's preferred node affinity, compiled.
type PreferredSchedulingTerms struct{ terms []preferredTerm }

type preferredTerm struct {
	weight int64
	term   nodeSelectorTerm
}

// NewPreferredSchedulingTerms compiles terms; terms of weight 0 are dropped (they count
// for nothing).
func NewPreferredSchedulingTerms(terms []core.PreferredSchedulingTerm) (*PreferredSchedulingTerms, error) {
	p := &PreferredSchedulingTerms{}
	for _, t := range terms {
		if t.Weight == 0 {
			continue
		}
		ct, err := compileTerm(t.Preference)
		if err != nil {
			return nil, err
		}
		p.terms = append(p.terms, preferredTerm{weight: int64(t.Weight), term: ct})
	}
	return p, nil
}

// Score is the summed weight of the terms node matches.
func (p *PreferredSchedulingTerms) Score(node *core.Node) int64 {
	var score int64
	for i := range p.terms {
		if p.terms[i].term.match(node) {
			score += p.terms[i].weight
		}
	}
	return score
}

// nodeSelectorTerm ANDs its label and field requirements; an empty term matches nothing.
type nodeSelectorTerm struct {
	labels []requirement
	fields []requirement
}

type requirement struct {
	key    string
	op     core.NodeSelectorOperator
	values []string
	number int64 // for Gt and Lt
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

func compileRequirement(e core.NodeSelectorRequirement, field bool) (requirement, error) {
	r := requirement{key: e.Key, op: e.Operator, values: e.Values}
	if field {
		// Only metadata.name is a node field, and only In/NotIn apply to it.
		if e.Key != NodeNameField {
			return r, fmt.Errorf("matchFields: unsupported field %q (only %s)", e.Key, NodeNameField)
		}
		if e.Operator != core.NodeSelectorOpIn && e.Operator != core.NodeSelectorOpNotIn {
			return r, fmt.Errorf("matchFields: operator %q is not supported for %s", e.Operator, NodeNameField)
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

// match applies the requirement to a label value (ok: the label exists). A missing label
// fails In, Exists, Gt and Lt and passes NotIn and DoesNotExist, as in Kubernetes.
func (r *requirement) match(v string, ok bool) bool {
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
