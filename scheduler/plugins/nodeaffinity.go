package plugins

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/nodeaffinity"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// NodeAffinity enforces spec.nodeSelector and required node affinity, and scores preferred node
// affinity by the summed weights of the terms a node matches.
type NodeAffinity struct{}

func (NodeAffinity) Name() string { return NodeAffinityName }

// RequiredNodeAffinity is a pod's node selector and required node affinity, compiled (the
// rule itself is api/nodeaffinity, shared with the DaemonSet controller), as cycle state.
type RequiredNodeAffinity struct {
	req nodeaffinity.RequiredNodeAffinity
}

func (r *RequiredNodeAffinity) Clone() fw.StateData { return r }

// NewRequiredNodeAffinity compiles pod's nodeSelector and required node affinity.
func NewRequiredNodeAffinity(pod *core.Pod) (*RequiredNodeAffinity, error) {
	r := nodeaffinity.GetRequiredNodeAffinity(pod)
	if err := r.Err(); err != nil {
		return nil, err
	}
	return &RequiredNodeAffinity{req: r}, nil
}

// Empty: the pod does not constrain nodes.
func (r *RequiredNodeAffinity) Empty() bool { return r.req.Empty() }

// Match reports whether node satisfies both.
func (r *RequiredNodeAffinity) Match(node *core.Node) bool {
	ok, _ := r.req.Match(node)
	return ok
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

// preferredNodeAffinity is the pod's preferred node affinity, compiled, as cycle state.
type preferredNodeAffinity struct {
	terms *nodeaffinity.PreferredSchedulingTerms
}

func (p preferredNodeAffinity) Clone() fw.StateData { return p }

func (NodeAffinity) PreScore(_ context.Context, state *fw.CycleState, pod *fw.PodInfo, _ []*fw.NodeInfo) *fw.Status {
	a := pod.Pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return fw.AsStatus(err)
	}
	state.Write(NodeAffinityName+"/score", preferredNodeAffinity{terms})
	return nil
}

func (NodeAffinity) Score(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) (int64, *fw.Status) {
	pref, _ := state.Read(NodeAffinityName + "/score").(preferredNodeAffinity)
	if pref.terms == nil {
		return 0, nil
	}
	return pref.terms.Score(n.Node), nil
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
