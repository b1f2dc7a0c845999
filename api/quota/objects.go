package quota

import (
	"fmt"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// serviceEvaluator counts Services, their load balancers and node ports.
type serviceEvaluator struct{}

var serviceResources = []core.ResourceName{"count/services", core.ResourceServices,
	core.ResourceServicesLoadBalancers, core.ResourceServicesNodePorts}

func (serviceEvaluator) MatchingResources(hard []core.ResourceName) []core.ResourceName {
	return Intersection(hard, serviceResources)
}
func (serviceEvaluator) MatchesScope(core.ScopedResourceSelectorRequirement, meta.Object) bool {
	return false
}
func (serviceEvaluator) Constraints([]core.ResourceName, meta.Object) error { return nil }
func (serviceEvaluator) ChargedOnUpdate(_, _ meta.Object) bool              { return true }

func (serviceEvaluator) Usage(obj meta.Object, _ time.Time) core.ResourceList {
	svc, ok := obj.(*core.Service)
	if !ok {
		return core.ResourceList{}
	}
	out := core.ResourceList{"count/services": one(), core.ResourceServices: one(),
		core.ResourceServicesLoadBalancers: {}, core.ResourceServicesNodePorts: {}}
	ports := int64(len(svc.Spec.Ports))
	switch svc.Spec.Type {
	case core.ServiceTypeNodePort:
		out[core.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case core.ServiceTypeLoadBalancer:
		out[core.ResourceServicesLoadBalancers] = one()
		if a := svc.Spec.AllocateLoadBalancerNodePorts; a == nil || *a {
			out[core.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
		}
	}
	return out
}

// pvcEvaluator counts PersistentVolumeClaims and the storage they request, in total and per
// storage class (<class>.storageclass.storage.k8s.io/requests.storage).
type pvcEvaluator struct{}

const storageClassSuffix = ".storageclass.storage.k8s.io/"

func (pvcEvaluator) MatchingResources(hard []core.ResourceName) []core.ResourceName {
	var out []core.ResourceName
	for _, h := range hard {
		switch s := string(h); {
		case h == "count/persistentvolumeclaims", h == core.ResourcePersistentVolumeClaims, h == core.ResourceRequestsStorage:
			out = append(out, h)
		case strings.HasSuffix(s, storageClassSuffix+string(core.ResourcePersistentVolumeClaims)),
			strings.HasSuffix(s, storageClassSuffix+string(core.ResourceRequestsStorage)):
			out = append(out, h)
		}
	}
	return out
}
func (pvcEvaluator) MatchesScope(core.ScopedResourceSelectorRequirement, meta.Object) bool {
	return false
}
func (pvcEvaluator) Constraints([]core.ResourceName, meta.Object) error { return nil }
func (pvcEvaluator) ChargedOnUpdate(_, _ meta.Object) bool              { return true }

func (pvcEvaluator) Usage(obj meta.Object, _ time.Time) core.ResourceList {
	pvc, ok := obj.(*core.PersistentVolumeClaim)
	if !ok {
		return core.ResourceList{}
	}
	out := core.ResourceList{"count/persistentvolumeclaims": one(), core.ResourcePersistentVolumeClaims: one()}
	class := ""
	if pvc.Spec.StorageClassName != nil {
		class = *pvc.Spec.StorageClassName
	}
	if class != "" {
		out[core.ResourceName(fmt.Sprintf("%s%s%s", class, storageClassSuffix, core.ResourcePersistentVolumeClaims))] = one()
	}
	if q, ok := pvc.Spec.Resources.Requests[core.ResourceStorage]; ok {
		out[core.ResourceRequestsStorage] = q
		if class != "" {
			out[core.ResourceName(class+storageClassSuffix+string(core.ResourceRequestsStorage))] = q
		}
	}
	return out
}
