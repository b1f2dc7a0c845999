package framework

import (
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// Resource is an amount of every schedulable resource in integer units (milli-CPU, bytes,
// counts), so that the hot path compares int64s instead of Quantities.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the node's "pods" allocatable; unused in requests.
	AllowedPodNumber int64
	// Scalar holds extended resources (example.com/gpu) and hugepages; nil when there are none.
	Scalar map[core.ResourceName]int64
}

// The requests a container without any is counted with when spreading, as Kubernetes does, so
// that many zero-request pods do not all land on one node. They never affect Filter.
const (
	DefaultMilliCPURequest int64 = 100
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024
)

// NewResource converts a ResourceList.
func NewResource(rl core.ResourceList) Resource {
	var r Resource
	r.AddList(rl)
	return r
}

// AddList adds a ResourceList.
func (r *Resource) AddList(rl core.ResourceList) {
	for name, q := range rl {
		switch name {
		case core.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case core.ResourceMemory:
			r.Memory += q.Value()
		case core.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case core.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if IsScalarResourceName(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

// maxList raises every resource of r to at least its amount in rl (the init-container rule).
func (r *Resource) maxList(o Resource) {
	r.MilliCPU = max(r.MilliCPU, o.MilliCPU)
	r.Memory = max(r.Memory, o.Memory)
	r.EphemeralStorage = max(r.EphemeralStorage, o.EphemeralStorage)
	for name, v := range o.Scalar {
		if v > r.Scalar[name] {
			r.setScalar(name, v)
		}
	}
}

// Add adds o to r.
func (r *Resource) Add(o Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for name, v := range o.Scalar {
		r.addScalar(name, v)
	}
}

// Sub subtracts o from r.
func (r *Resource) Sub(o Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for name, v := range o.Scalar {
		r.addScalar(name, -v)
	}
}

// Clone copies r (its Scalar map included).
func (r Resource) Clone() Resource {
	if r.Scalar != nil {
		s := make(map[core.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			s[k] = v
		}
		r.Scalar = s
	}
	return r
}

// IsZero reports whether r asks for nothing.
func (r Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// Get returns the amount of one resource by name.
func (r Resource) Get(name core.ResourceName) int64 {
	switch name {
	case core.ResourceCPU:
		return r.MilliCPU
	case core.ResourceMemory:
		return r.Memory
	case core.ResourceEphemeralStorage:
		return r.EphemeralStorage
	case core.ResourcePods:
		return r.AllowedPodNumber
	}
	return r.Scalar[name]
}

func (r *Resource) addScalar(name core.ResourceName, v int64) { r.setScalar(name, r.Scalar[name]+v) }

func (r *Resource) setScalar(name core.ResourceName, v int64) {
	if r.Scalar == nil {
		r.Scalar = map[core.ResourceName]int64{}
	}
	r.Scalar[name] = v
}

// IsScalarResourceName: extended resources (a domain-qualified name outside kubernetes.io/),
// hugepages-*, and attachable-volumes-* are counted like cpu and memory.
func IsScalarResourceName(name core.ResourceName) bool {
	n := string(name)
	if strings.HasPrefix(n, core.ResourceHugePagesPrefix) || strings.HasPrefix(n, core.ResourceAttachableVolumesPrefix) {
		return true
	}
	if !strings.Contains(n, "/") || strings.HasPrefix(n, core.ResourceDefaultNamespacePrefix) {
		return false
	}
	return !strings.HasPrefix(n, "requests.")
}

// PodRequests computes what a pod asks of a node, with Kubernetes' rules: containers add up;
// an init container runs alone (so the pod needs the max of it and the sum), except that
// restartable init containers (sidecars) keep running and add to everything after them;
// pod overhead adds on top. nonZero is the same with the spreading defaults for cpu and
// memory filled in for containers that request none.
func PodRequests(pod *core.Pod) (reqs, nonZero Resource) {
	for i := range pod.Spec.Containers {
		r := NewResource(pod.Spec.Containers[i].Resources.Requests)
		reqs.Add(r)
		nonZero.Add(withDefaults(r))
	}
	var sidecars, sidecarsNZ, initMax, initMaxNZ Resource
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		r := NewResource(c.Resources.Requests)
		nz := withDefaults(r)
		if c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
			reqs.Add(r)
			nonZero.Add(nz)
			sidecars.Add(r)
			sidecarsNZ.Add(nz)
			// While it starts, a sidecar runs with the sidecars before it.
			initMax.maxList(sidecars.Clone())
			initMaxNZ.maxList(sidecarsNZ.Clone())
			continue
		}
		during := sidecars.Clone()
		during.Add(r)
		initMax.maxList(during)
		duringNZ := sidecarsNZ.Clone()
		duringNZ.Add(nz)
		initMaxNZ.maxList(duringNZ)
	}
	reqs.maxList(initMax)
	nonZero.maxList(initMaxNZ)
	if pod.Spec.Overhead != nil {
		o := NewResource(pod.Spec.Overhead)
		reqs.Add(o)
		nonZero.Add(o)
	}
	return reqs, nonZero
}

func withDefaults(r Resource) Resource {
	nz := Resource{MilliCPU: r.MilliCPU, Memory: r.Memory}
	if nz.MilliCPU == 0 {
		nz.MilliCPU = DefaultMilliCPURequest
	}
	if nz.Memory == 0 {
		nz.Memory = DefaultMemoryRequest
	}
	return nz
}
