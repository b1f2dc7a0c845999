// Package plugins holds the scheduler's filter and score plugins, each with Kubernetes'
// semantics and the reason phrases kube-scheduler writes into FailedScheduling events.
package plugins

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// Plugin names, as in KubeSchedulerConfiguration.
const (
	NodeUnschedulableName  = "NodeUnschedulable"
	NodeNameName           = "NodeName"
	NodePortsName          = "NodePorts"
	TaintTolerationName    = "TaintToleration"
	NodeAffinityName       = "NodeAffinity"
	NodeResourcesFitName   = "NodeResourcesFit"
	BalancedAllocationName = "NodeResourcesBalancedAllocation"
	PodTopologySpreadName  = "PodTopologySpread"
	InterPodAffinityName   = "InterPodAffinity"
	ImageLocalityName      = "ImageLocality"
	// Names that are part of every profile in Kubernetes and that skiff implements outside the
	// plugin lists (the queue sort, preemption, binding); accepted in configuration.
	PrioritySortName      = "PrioritySort"
	DefaultPreemptionName = "DefaultPreemption"
	DefaultBinderName     = "DefaultBinder"
)

// Reasons, worded as kube-scheduler words them.
const (
	ReasonUnschedulable      = "node(s) were unschedulable"
	ReasonNodeName           = "node(s) didn't match the requested node name"
	ReasonNodePorts          = "node(s) didn't have free ports for the requested pod ports"
	ReasonNodeAffinity       = "node(s) didn't match Pod's node affinity/selector"
	ReasonInvalidNode        = "node(s) had malformed taints or labels"
	ReasonTooManyPods        = "Too many pods"
	ReasonTopologyMismatch   = "node(s) didn't match pod topology spread constraints"
	ReasonTopologyNoLabel    = "node(s) didn't match pod topology spread constraints (missing required label)"
	ReasonAffinityMismatch   = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinity       = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiAffine = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// NodeUnschedulable rejects cordoned nodes (spec.unschedulable) unless the pod tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint. It also turns away nodes the cache found
// malformed, so that a bad node costs one reason line rather than a crash.
type NodeUnschedulable struct{}

func (NodeUnschedulable) Name() string { return NodeUnschedulableName }

var unschedulableTaint = core.Taint{Key: core.TaintNodeUnschedulable, Effect: core.TaintEffectNoSchedule}

func (NodeUnschedulable) Filter(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if n.Invalid != "" {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonInvalidNode)
	}
	if !n.Node.Spec.Unschedulable {
		return nil
	}
	if core.TolerationsTolerateTaint(pod.Pod.Spec.Tolerations, &unschedulableTaint) {
		return nil
	}
	return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonUnschedulable)
}

func (NodeUnschedulable) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add | fw.UpdateNodeTaint},
			Hint: func(_ *core.Pod, _, newObj any) bool {
				n, ok := newObj.(*core.Node)
				return ok && !n.Spec.Unschedulable
			}},
		{Event: fw.ClusterEvent{Resource: fw.UnscheduledPodEvent, Action: fw.UpdatePodToleration}},
	}
}

// NodeName keeps a pod that names a node (spec.nodeName) to that node.
type NodeName struct{}

func (NodeName) Name() string { return NodeNameName }

func (NodeName) Filter(_ context.Context, _ *fw.CycleState, pod *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	if pod.Pod.Spec.NodeName != "" && pod.Pod.Spec.NodeName != n.Node.Name {
		return fw.NewStatus(fw.UnschedulableAndUnresolvable, ReasonNodeName)
	}
	return nil
}

func (NodeName) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}}}
}

// NodePorts rejects nodes where a host port the pod wants is taken.
type NodePorts struct{}

func (NodePorts) Name() string { return NodePortsName }

type nodePortsState []fw.HostPort

func (s nodePortsState) Clone() fw.StateData { return s }

func (p NodePorts) PreFilter(_ context.Context, state *fw.CycleState, pod *fw.PodInfo) *fw.Status {
	ports := fw.HostPorts(pod.Pod)
	if len(ports) == 0 {
		return fw.NewStatus(fw.Skip)
	}
	state.Write(NodePortsName, nodePortsState(ports))
	return nil
}

func (NodePorts) Filter(_ context.Context, state *fw.CycleState, _ *fw.PodInfo, n *fw.NodeInfo) *fw.Status {
	ports, _ := state.Read(NodePortsName).(nodePortsState)
	for _, hp := range ports {
		if n.UsedPorts.Conflicts(hp) {
			return fw.NewStatus(fw.Unschedulable, ReasonNodePorts)
		}
	}
	return nil
}

func (NodePorts) EventsToRegister() []fw.ClusterEventWithHint {
	return []fw.ClusterEventWithHint{
		{Event: fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete},
			Hint: func(pod *core.Pod, oldObj, _ any) bool {
				gone, ok := oldObj.(*core.Pod)
				return ok && portsOverlap(fw.HostPorts(pod), fw.HostPorts(gone))
			}},
		{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}},
	}
}

func portsOverlap(a, b []fw.HostPort) bool {
	used := fw.HostPortInfo{}
	for _, hp := range b {
		used.Add(hp)
	}
	for _, hp := range a {
		if used.Conflicts(hp) {
			return true
		}
	}
	return false
}
