package core

import "github.com/skiff-sh/skiff/api/resource"

// The pod QoS rule, written once for the API server (which records it in status.qosClass
// on create) and the node agent (which sizes cgroups and OOM scores by it). It is
// Kubernetes' pkg/apis/core/helper/qos, without pod-level resources (a feature gate that
// is off by default in Kubernetes 1.33).

// GetPodQOS is the pod's QoS class as recorded in its status, computed when status has none.
func GetPodQOS(pod *Pod) PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return ComputePodQOS(pod)
}

// ComputePodQOS is Kubernetes' QoS class of a pod, from its containers' cpu and memory:
//   - BestEffort when no container requests or limits a non-zero amount of either — an
//     explicit `requests.cpu: 0` counts as nothing asked for;
//   - Guaranteed when every container limits both cpu and memory to a non-zero amount and
//     the pod's summed requests equal its summed limits;
//   - Burstable otherwise.
//
// A request left out defaults to its limit (the API server's defaulting does the same), so
// the answer is the same for a pod before and after defaulting. Ephemeral containers cannot
// declare resources and do not take part.
func ComputePodQOS(pod *Pod) PodQOSClass {
	requests, limits := ResourceList{}, ResourceList{}
	guaranteed := true
	for _, list := range [][]Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range list {
			res := &list[i].Resources
			limited := 0
			for _, name := range qosResources {
				lim, hasLim := res.Limits[name]
				req, hasReq := res.Requests[name]
				if !hasReq && hasLim {
					req = lim
				}
				addPositive(requests, name, req)
				if addPositive(limits, name, lim) {
					limited++
				}
			}
			if limited < len(qosResources) {
				guaranteed = false
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
		if guaranteed {
			return PodQOSGuaranteed
		}
	}
	return PodQOSBurstable
}

// qosResources are the resources QoS is computed from.
var qosResources = [...]ResourceName{ResourceCPU, ResourceMemory}

// addPositive adds q to l[name] when q is above zero, and reports whether it did.
func addPositive(l ResourceList, name ResourceName, q resource.Quantity) bool {
	if q.Sign() <= 0 {
		return false
	}
	sum := l[name]
	sum.Add(q)
	l[name] = sum
	return true
}
