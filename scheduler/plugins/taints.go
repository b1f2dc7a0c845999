package plugins

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// TaintToleration keeps pods off nodes with NoSchedule or NoExecute taints they do not tolerate,
// and prefers nodes with fewer untolerated PreferNoSchedule taints.
type TaintToleration struct{}

func (TaintToleration) Name() string { return TaintTolerationName }

func (TaintToleration) Filter(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if t := untoleratedTaint(n.Node.Spec.Taints, pod.Pod.Spec.Tolerations); t != nil {
		// Kubernetes 1.33 names the taint: "node(s) had untolerated taint {dedicated: gpu}".
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, fmt.Sprintf("node(s) had untolerated taint {%s: %s}", t.Key, t.Value))
	}
	return nil
}

// untoleratedTaint returns the first NoSchedule/NoExecute taint no toleration tolerates.
func untoleratedTaint(taints []core.Taint, tols []core.Toleration) *core.Taint {
	t, _ := core.FindMatchingUntoleratedTaint(taints, tols, core.DoNotScheduleTaints)
	return t
}

// preferTolerations are the pod's tolerations that can tolerate PreferNoSchedule taints.
type preferTolerations []core.Toleration

func (s preferTolerations) Clone() fw.StateData { return s }

func (TaintToleration) PreScore(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	var tols preferTolerations
	for _, t := range pod.Pod.Spec.Tolerations {
		if t.Effect == "" || t.Effect == core.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(TaintTolerationName, tols)
	return nil
}

// Score counts the untolerated PreferNoSchedule taints; NormalizeScore turns "fewer" into higher.
func (TaintToleration) Score(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	tols, _ := state.Read(TaintTolerationName).(preferTolerations)
	var count int64
	for i := range n.Node.Spec.Taints {
		t := &n.Node.Spec.Taints[i]
		if t.Effect == core.TaintEffectPreferNoSchedule && !core.TolerationsTolerateTaint(tols, t) {
			count++
		}
	}
	return count, nil
}

func (TaintToleration) NormalizeScore(_ *fw.CycleState, _ *fw.PodInfo, _ []*fw.NodeInfo, scores []int64) {
	fw.DefaultNormalizeScore(scores, true)
}

func (TaintToleration) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeTaint},
			Hint: func(pod *core.Pod, _, newObj any) bool {
				n, ok := newObj.(*core.Node)
				return ok && untoleratedTaint(n.Spec.Taints, pod.Spec.Tolerations) == nil
			}},
		{Event: fw.ClusterEvent{Resource: fw.UnscheduledPodEvent, Action: fw.UpdatePodToleration}},
	}
}
