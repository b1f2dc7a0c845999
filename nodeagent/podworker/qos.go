package podworker

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

// QOSClass is Kubernetes' quality-of-service class of a pod: Guaranteed when every
// container limits cpu and memory and requests the same, BestEffort when no container
// asks for either, Burstable otherwise.
func QOSClass(pod *core.Pod) core.PodQOSClass {
	requests, limits := core.ResourceList{}, core.ResourceList{}
	guaranteed := true
	containers := append(append([]core.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		for _, name := range []core.ResourceName{core.ResourceCPU, core.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if hasReq && !req.IsZero() {
				add(requests, name, req)
			}
			if hasLim && !lim.IsZero() {
				add(limits, name, lim)
			}
			// A request defaults to the limit when only the limit is set.
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return core.PodQOSBestEffort
	}
	if guaranteed {
		return core.PodQOSGuaranteed
	}
	return core.PodQOSBurstable
}

func add(l core.ResourceList, name core.ResourceName, q resource.Quantity) {
	sum := l[name]
	sum.Add(q)
	l[name] = sum
}

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
