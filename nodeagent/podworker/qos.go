package podworker

import "github.com/skiff-sh/skiff/api/core"

// The QoS class itself is core.GetPodQOS, shared with the API server.

// oomScoreAdj is the OOM score adjustment of a container by QoS class, as the kubelet
// sets it: Guaranteed pods are killed last, BestEffort first, Burstable in between by how
// much of the node's memory they request. The value is only ever raised above the
// agent's own (lowering it needs CAP_SYS_RESOURCE, which a node may not have).
func oomScoreAdj(qos core.PodQOSClass, memoryRequest, nodeMemory int64, floor int) int {
	var v int
	switch qos {
	case core.PodQOSGuaranteed:
		v = -997
	case core.PodQOSBestEffort:
		v = 1000
	default:
		v = 1000 - int(1000*memoryRequest/max(1, nodeMemory))
		v = min(max(v, 3), 999)
	}
	return max(v, floor)
}
