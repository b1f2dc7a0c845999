package core

// Pod condition and readiness lookups, written once for every program that reads them (the
// node agent, the controllers, the API server's tables), as Kubernetes' pkg/api/v1/pod does.

// Condition is the status's condition of type t (a pointer into it), or nil.
func (s *PodStatus) Condition(t PodConditionType) *PodCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// IsConditionTrue reports whether the pod has a condition of type t with status True.
func (p *Pod) IsConditionTrue(t PodConditionType) bool {
	c := p.Status.Condition(t)
	return c != nil && c.Status == ConditionTrue
}

// IsReady reports whether the pod's Ready condition is True (Kubernetes' IsPodReady): what
// Services route to and what workload controllers count as ready replicas.
func (p *Pod) IsReady() bool { return p.IsConditionTrue(PodReady) }
