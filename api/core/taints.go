package core

// Toleration matching over lists, written once for the scheduler (placement), the
// DaemonSet controller (which nodes need a daemon) and the node lifecycle controller
// (NoExecute eviction), as component-helpers/scheduling/corev1 does. The single
// toleration-against-taint rule is Toleration.ToleratesTaint.

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
