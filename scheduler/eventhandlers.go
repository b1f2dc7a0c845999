package scheduler

import (
	"maps"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client/informer"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// addEventHandlers wires the informers to the cache (bound pods, nodes) and the queue (pending
// pods of our profiles), and turns changes into the cluster events that retry unschedulable pods.
func (s *Scheduler) addEventHandlers() {
	s.podInformer.AddEventHandler(informer.Handler[*core.Pod]{
		AddFunc:    s.onPodAdd,
		UpdateFunc: s.onPodUpdate,
		DeleteFunc: s.onPodDelete,
	})
	s.nodeInformer.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc: func(n *core.Node) {
			s.noteInvalid(n, s.cache.AddNode(n))
			s.queue.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add, Label: "NodeAdd"}, nil, n)
		},
		UpdateFunc: func(old, n *core.Node) {
			action := nodeChange(old, n)
			if action == 0 && slices.EqualFunc(old.Status.Images, n.Status.Images, sameImage) {
				return // a heartbeat: nothing scheduling reads changed
			}
			s.noteInvalid(n, s.cache.UpdateNode(n))
			if action != 0 {
				s.queue.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: action, Label: "NodeUpdate"}, old, n)
			}
		},
		DeleteFunc: func(n *core.Node) {
			s.cache.RemoveNode(n)
			s.queue.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Delete, Label: "NodeDelete"}, n, nil)
		},
	})
}

// noteInvalid records a Warning on a node the cache found malformed (repeats of it aggregate
// into one Event).
func (s *Scheduler) noteInvalid(n *core.Node, problem string) {
	if problem == "" {
		return
	}
	s.log.Warn("skipping malformed node", "node", n.Name, "problem", problem)
	s.nodeRecorder.Eventf(n, core.EventTypeWarning, "MalformedNode", "Node is not used for scheduling: %s", problem)
}

func sameImage(a, b core.ContainerImage) bool {
	return a.SizeBytes == b.SizeBytes && slices.Equal(a.Names, b.Names)
}

// nodeChange classifies a node update into the actions plugins register for.
func nodeChange(old, n *core.Node) fw.ActionType {
	var a fw.ActionType
	if !sameResources(old.Status.Allocatable, n.Status.Allocatable) {
		a |= fw.UpdateNodeAllocatable
	}
	if !maps.Equal(old.Labels, n.Labels) {
		a |= fw.UpdateNodeLabel
	}
	if old.Spec.Unschedulable != n.Spec.Unschedulable || !slices.EqualFunc(old.Spec.Taints, n.Spec.Taints, func(x, y core.Taint) bool {
		return x.Key == y.Key && x.Value == y.Value && x.Effect == y.Effect
	}) {
		a |= fw.UpdateNodeTaint
	}
	if !slices.EqualFunc(old.Status.Conditions, n.Status.Conditions, func(x, y core.NodeCondition) bool {
		return x.Type == y.Type && x.Status == y.Status
	}) {
		a |= fw.UpdateNodeCondition
	}
	return a
}

func sameResources(a, b core.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func assigned(p *core.Pod) bool { return p.Spec.NodeName != "" }

// responsible: the pod is pending and one of our profiles schedules it.
func (s *Scheduler) responsible(p *core.Pod) bool {
	_, ok := s.profiles[p.Spec.SchedulerName]
	return ok
}

func (s *Scheduler) onPodAdd(p *core.Pod) {
	switch {
	case assigned(p):
		s.cache.AddPod(p)
		s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Add, Label: "AssignedPodAdd"}, nil, p)
	case s.responsible(p) && !fw.IsTerminating(p):
		s.queue.Add(p)
	}
}

func (s *Scheduler) onPodUpdate(old, p *core.Pod) {
	if old.ResourceVersion == p.ResourceVersion && assigned(old) == assigned(p) {
		return
	}
	switch {
	case assigned(p) && !assigned(old):
		// Just bound, by us (confirming the assumed pod) or by someone else.
		s.queue.Delete(p)
		s.cache.AddPod(p)
		s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Add, Label: "AssignedPodAdd"}, nil, p)
	case assigned(p):
		s.cache.UpdatePod(p)
		if a := podChange(old, p); a != 0 {
			s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: a, Label: "AssignedPodUpdate"}, old, p)
		}
	case s.responsible(p) && !fw.IsTerminating(p):
		s.queue.Update(p)
	default:
		s.queue.Delete(p)
	}
}

func (s *Scheduler) onPodDelete(p *core.Pod) {
	s.queue.Delete(p)
	if assigned(p) || s.cache.Has(p.UID) {
		s.cache.RemovePod(p)
		s.queue.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete, Label: "AssignedPodDelete"}, p, nil)
	}
}

// podChange classifies a bound pod's update.
func podChange(old, p *core.Pod) fw.ActionType {
	var a fw.ActionType
	if !maps.Equal(old.Labels, p.Labels) {
		a |= fw.UpdatePodLabel
	}
	or, _ := fw.PodRequests(old)
	nr, _ := fw.PodRequests(p)
	if nr.MilliCPU < or.MilliCPU || nr.Memory < or.Memory || nr.EphemeralStorage < or.EphemeralStorage {
		a |= fw.UpdatePodScaleDown
	}
	// A pod that started terminating still holds its resources; its deletion is the event.
	return a
}
