package core

// Toleration matching over lists, written once for the scheduler (placement), the
// DaemonSet controller (which nodes need a daemon) and the node lifecycle controller
// (NoExecute eviction), as component-helpers/scheduling/corev1 does. The single
// toleration-against-taint rule is Toleration.ToleratesTaint.

import "slices"

// TolerationsTolerateTaint reports whether any of tols tolerates taint.
func TolerationsTolerateTaint(tols []Toleration, taint *Taint) bool {
	for i := range tols {
		if tols[i].ToleratesTaint(taint) {
			return true
		}
	}
	return false
}

// FindMatchingUntoleratedTaint returns the first taint that include selects (nil: every
// taint) and no toleration tolerates.
func FindMatchingUntoleratedTaint(taints []Taint, tols []Toleration, include func(*Taint) bool) (*Taint, bool) {
	for i := range taints {
		t := &taints[i]
		if include != nil && !include(t) {
			continue
		}
		if !TolerationsTolerateTaint(tols, t) {
			return t, true
		}
	}
	return nil, false
}

// DoNotScheduleTaints selects the taints that keep new pods off a node: NoSchedule and
// NoExecute (PreferNoSchedule only lowers a node's score).
func DoNotScheduleTaints(t *Taint) bool {
	return t.Effect == TaintEffectNoSchedule || t.Effect == TaintEffectNoExecute
}

// NoExecuteTaints selects the taints that evict running pods.
func NoExecuteTaints(t *Taint) bool { return t.Effect == TaintEffectNoExecute }

// MergeTolerations merges two sets of tolerations into one, keeping only the more general of
// two where one tolerates a superset of what the other does (equal ones: the first), as
// Kubernetes' pkg/util/tolerations does for admission (RuntimeClass, PodTolerationRestriction).
func MergeTolerations(first, second []Toleration) []Toleration {
	all := append(slices.Clip(first), second...)
	var merged []Toleration
next:
	for i, t := range all {
		for _, t2 := range merged {
			if tolerationIsSuperset(t2, t) {
				continue next
			}
		}
		for _, t2 := range all[i+1:] {
			if !tolerationsEqual(t, t2) && tolerationIsSuperset(t2, t) {
				continue next
			}
		}
		merged = append(merged, t)
	}
	return merged
}

func tolerationsEqual(a, b Toleration) bool {
	return a.Key == b.Key && a.Operator == b.Operator && a.Value == b.Value && a.Effect == b.Effect &&
		(a.TolerationSeconds == nil) == (b.TolerationSeconds == nil) &&
		(a.TolerationSeconds == nil || *a.TolerationSeconds == *b.TolerationSeconds)
}

// tolerationIsSuperset reports whether ss tolerates everything t does.
func tolerationIsSuperset(ss, t Toleration) bool {
	if tolerationsEqual(ss, t) {
		return true
	}
	if t.Key != ss.Key && (ss.Key != "" || ss.Operator != TolerationOpExists) {
		return false
	}
	if t.Effect != ss.Effect && ss.Effect != "" {
		return false
	}
	if ss.Effect == TaintEffectNoExecute && ss.TolerationSeconds != nil &&
		(t.TolerationSeconds == nil || *t.TolerationSeconds > *ss.TolerationSeconds) {
		return false
	}
	switch ss.Operator {
	case TolerationOpEqual, "":
		return t.Operator == TolerationOpEqual && t.Value == ss.Value
	case TolerationOpExists:
		return true
	}
	return false
}
