package podworker

import "github.com/skiff-sh/skiff/api/core"

// Host ports, as the kubelet's admission checks them (the scheduler's NodePorts filter, run
// again on the node): a pod bound here directly (spec.nodeName, a static pod) or racing
// another is rejected when it wants a host port that a pod the node admitted before holds.

const nodePortsMessage = "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports"

// hostPortConflict reports whether pod wants a host port held by another admitted,
// unfinished pod of the node.
func (m *Manager) hostPortConflict(pod *core.Pod) bool {
	want := core.PodHostPorts(pod)
	if len(want) == 0 {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid, other := range m.pods {
		st := m.states[uid]
		if uid == pod.UID || st == nil || !st.admitted.Load() ||
			other.Status.Phase == core.PodSucceeded || other.Status.Phase == core.PodFailed {
			continue
		}
		for _, held := range core.PodHostPorts(other) {
			for _, w := range want {
				if core.HostPortsConflict(held, w) {
					return true
				}
			}
		}
	}
	return false
}
