package daemonset

import (
	"slices"
	"strconv"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// objectNameField is the node field a DaemonSet pod's affinity pins it to its node by.
const objectNameField = "metadata.name"

// defaultTolerations are what every DaemonSet pod tolerates (Kubernetes'
// AddOrUpdateDaemonPodTolerations): a daemon keeps running on a node that is not ready or
// unreachable, and is placed on nodes under pressure or cordoned.
func defaultTolerations(hostNetwork bool) []core.Toleration {
	t := []core.Toleration{
		{Key: core.TaintNodeNotReady, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute},
		{Key: core.TaintNodeUnreachable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute},
		{Key: core.TaintNodeDiskPressure, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule},
		{Key: core.TaintNodeMemoryPressure, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule},
		{Key: core.TaintNodePIDPressure, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule},
		{Key: core.TaintNodeUnschedulable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule},
	}
	if hostNetwork {
		t = append(t, core.Toleration{Key: core.TaintNodeNetworkUnavailable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule})
	}
	return t
}

// addTolerations adds the default tolerations the template lacks.
func addTolerations(spec *core.PodSpec) {
	for _, d := range defaultTolerations(spec.HostNetwork) {
		if !slices.ContainsFunc(spec.Tolerations, func(t core.Toleration) bool { return t.MatchToleration(&d) }) {
			spec.Tolerations = append(spec.Tolerations, d)
		}
	}
}

// pinToNode makes the pod's required node affinity "metadata.name In [node]", replacing any
// required terms (they were checked against the node already): the scheduler then places the
// pod there, as Kubernetes has done since DaemonSet pods stopped bypassing it.
func pinToNode(spec *core.PodSpec, node string) {
	term := core.NodeSelectorTerm{MatchFields: []core.NodeSelectorRequirement{{Key: objectNameField, Operator: core.NodeSelectorOpIn, Values: []string{node}}}}
	if spec.Affinity == nil {
		spec.Affinity = &core.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &core.NodeAffinity{}
	}
	spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &core.NodeSelector{NodeSelectorTerms: []core.NodeSelectorTerm{term}}
}

// targetNode is the node a daemon pod is for: its nodeName, or the node its affinity pins it to.
func targetNode(p *core.Pod) string {
	if p.Spec.NodeName != "" {
		return p.Spec.NodeName
	}
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, r := range t.MatchFields {
			if r.Key == objectNameField && r.Operator == core.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}

// matchesRequirement evaluates one node selector requirement against a value that may be absent.
func matchesRequirement(r core.NodeSelectorRequirement, value string, present bool) bool {
	switch r.Operator {
	case core.NodeSelectorOpIn:
		return present && slices.Contains(r.Values, value)
	case core.NodeSelectorOpNotIn:
		return !present || !slices.Contains(r.Values, value)
	case core.NodeSelectorOpExists:
		return present
	case core.NodeSelectorOpDoesNotExist:
		return !present
	case core.NodeSelectorOpGt, core.NodeSelectorOpLt:
		if !present || len(r.Values) != 1 {
			return false
		}
		v, err1 := strconv.ParseInt(value, 10, 64)
		w, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == core.NodeSelectorOpGt {
			return v > w
		}
		return v < w
	}
	return false
}

// matchesNodeSelector: the node satisfies one of the terms (an empty term matches nothing).
func matchesNodeSelector(sel *core.NodeSelector, n *core.Node) bool {
	for _, t := range sel.NodeSelectorTerms {
		if len(t.MatchExpressions)+len(t.MatchFields) == 0 {
			continue
		}
		ok := true
		for _, r := range t.MatchExpressions {
			v, present := n.Labels[r.Key]
			ok = ok && matchesRequirement(r, v, present)
		}
		for _, r := range t.MatchFields {
			ok = ok && r.Key == objectNameField && matchesRequirement(r, n.Name, true)
		}
		if ok {
			return true
		}
	}
	return false
}

// fits: the pod's nodeSelector and required node affinity admit the node.
func fits(spec *core.PodSpec, n *core.Node) bool {
	for k, v := range spec.NodeSelector {
		if n.Labels[k] != v {
			return false
		}
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		return matchesNodeSelector(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution, n)
	}
	return true
}

// untolerated reports whether a node taint with one of the effects is not tolerated.
func untolerated(taints []core.Taint, tolerations []core.Toleration, effects ...core.TaintEffect) bool {
	for i := range taints {
		if !slices.Contains(effects, taints[i].Effect) {
			continue
		}
		if !slices.ContainsFunc(tolerations, func(t core.Toleration) bool { return t.ToleratesTaint(&taints[i]) }) {
			return true
		}
	}
	return false
}

// shouldRun decides, for a node, whether the DaemonSet should place a pod there and whether
// a pod already there may stay (Kubernetes' NodeShouldRunDaemonPod): placement needs the
// node selector, affinity and NoSchedule/NoExecute taints to allow it; staying only the
// selector, affinity and NoExecute taints.
func shouldRun(ds *apps.DaemonSet, n *core.Node) (run, stay bool) {
	spec := controller.DeepCopy(&ds.Spec.Template.Spec)
	addTolerations(spec)
	if !fits(spec, n) {
		return false, false
	}
	if untolerated(n.Spec.Taints, spec.Tolerations, core.TaintEffectNoSchedule, core.TaintEffectNoExecute) {
		return false, !untolerated(n.Spec.Taints, spec.Tolerations, core.TaintEffectNoExecute)
	}
	return true, true
}
