package daemonset

import (
	"slices"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/nodeaffinity"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

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
	term := core.NodeSelectorTerm{MatchFields: []core.NodeSelectorRequirement{{Key: nodeaffinity.NodeNameField, Operator: core.NodeSelectorOpIn, Values: []string{node}}}}
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
			if r.Key == nodeaffinity.NodeNameField && r.Operator == core.NodeSelectorOpIn && len(r.Values) == 1 {
				return r.Values[0]
			}
		}
	}
	return ""
}

// shouldRun decides, for a node, whether the DaemonSet should place a pod there and whether
// a pod already there may stay (Kubernetes' NodeShouldRunDaemonPod): placement needs the
// node selector, affinity and NoSchedule/NoExecute taints to allow it; staying only the
// selector, affinity and NoExecute taints. The matching rules are the scheduler's
// (api/nodeaffinity and core's toleration helpers), so the two agree on every node.
func shouldRun(ds *apps.DaemonSet, n *core.Node) (run, stay bool) {
	pod := &core.Pod{Spec: *controller.DeepCopy(&ds.Spec.Template.Spec)}
	addTolerations(&pod.Spec)
	if fits, _ := nodeaffinity.GetRequiredNodeAffinity(pod).Match(n); !fits {
		return false, false
	}
	if _, blocked := core.FindMatchingUntoleratedTaint(n.Spec.Taints, pod.Spec.Tolerations, core.DoNotScheduleTaints); blocked {
		_, evicted := core.FindMatchingUntoleratedTaint(n.Spec.Taints, pod.Spec.Tolerations, core.NoExecuteTaints)
		return false, !evicted
	}
	return true, true
}
