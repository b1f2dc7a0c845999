package quota

import (
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// Evaluator measures what objects of one kind count against a quota.
type Evaluator interface {
	// MatchingResources are the names among hard that this kind is counted by.
	MatchingResources(hard []core.ResourceName) []core.ResourceName
	// MatchesScope reports whether obj falls within one scope requirement of a quota. A kind
	// that has no scopes matches none (a scoped quota then does not count it).
	MatchesScope(sel core.ScopedResourceSelectorRequirement, obj meta.Object) bool
	// Constraints refuses an object a quota cannot measure (a pod without a cpu request
	// under a quota of requests.cpu); required are the quota's resources this kind matches.
	Constraints(required []core.ResourceName, obj meta.Object) error
	// Usage is what obj counts for, at time now.
	Usage(obj meta.Object, now time.Time) core.ResourceList
	// ChargedOnUpdate reports whether an update from old to new can change usage (pods: only
	// when they move between the Terminating and NotTerminating scopes; object counts: never).
	ChargedOnUpdate(old, new meta.Object) bool
}

// For is the evaluator of a kind, by API group and resource: pods, services and
// persistentvolumeclaims have their own; every other kind is counted as objects
// (count/<resource>.<group>, and the legacy names of the core kinds).
func For(group, resourceName string) Evaluator {
	if group == "" {
		switch resourceName {
		case "pods":
			return podEvaluator{}
		case "services":
			return serviceEvaluator{}
		case "persistentvolumeclaims":
			return pvcEvaluator{}
		}
	}
	return countEvaluator{name: ObjectCountName(group, resourceName), legacy: legacyCountNames[group+"/"+resourceName]}
}

// ObjectCountName is the quota resource counting objects of a kind: count/pods,
// count/deployments.apps.
func ObjectCountName(group, resourceName string) core.ResourceName {
	if group == "" {
		return core.ResourceName("count/" + resourceName)
	}
	return core.ResourceName("count/" + resourceName + "." + group)
}

// legacyCountNames are the object counts Kubernetes had before count/<resource>.
var legacyCountNames = map[string]core.ResourceName{
	"/configmaps":             core.ResourceConfigMaps,
	"/secrets":                core.ResourceSecrets,
	"/resourcequotas":         core.ResourceQuotas,
	"/replicationcontrollers": core.ResourceReplicationControllers,
}

// ScopeSelectors are a quota's scopes and scopeSelector as one list of requirements.
func ScopeSelectors(q *core.ResourceQuota) []core.ScopedResourceSelectorRequirement {
	var out []core.ScopedResourceSelectorRequirement
	for _, s := range q.Spec.Scopes {
		out = append(out, core.ScopedResourceSelectorRequirement{ScopeName: s, Operator: core.ScopeSelectorOpExists})
	}
	if q.Spec.ScopeSelector != nil {
		out = append(out, q.Spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

// Matches reports whether quota q counts obj: q's hard names a resource e measures and obj
// falls within every one of q's scopes. Like Kubernetes it reads status.hard, so a quota
// the controller has not yet seen constrains nothing.
func Matches(q *core.ResourceQuota, e Evaluator, obj meta.Object) bool {
	if len(e.MatchingResources(ResourceNames(q.Status.Hard))) == 0 {
		return false
	}
	for _, sel := range ScopeSelectors(q) {
		if !e.MatchesScope(sel, obj) {
			return false
		}
	}
	return true
}

// CalculateUsage is what objs (all of one kind, in q's namespace) count for against q: the
// sum of the usage of those q matches, masked to q's resources.
func CalculateUsage(q *core.ResourceQuota, e Evaluator, objs []meta.Object, now time.Time) core.ResourceList {
	names := e.MatchingResources(ResourceNames(q.Spec.Hard))
	if len(names) == 0 {
		return core.ResourceList{}
	}
	total := core.ResourceList{}
	for _, n := range names {
		total[n] = resource.Quantity{} // a matched resource nobody uses reports 0
	}
	scopes := ScopeSelectors(q)
	for _, o := range objs {
		matched := true
		for _, sel := range scopes {
			if !e.MatchesScope(sel, o) {
				matched = false
				break
			}
		}
		if matched {
			total = Add(total, Mask(e.Usage(o, now), names))
		}
	}
	return total
}

// countEvaluator counts objects of any kind.
type countEvaluator struct {
	name   core.ResourceName
	legacy core.ResourceName // "" when the kind has no legacy name
}

func (c countEvaluator) MatchingResources(hard []core.ResourceName) []core.ResourceName {
	var out []core.ResourceName
	for _, h := range hard {
		if h == c.name || (c.legacy != "" && h == c.legacy) {
			out = append(out, h)
		}
	}
	return out
}

func (countEvaluator) MatchesScope(core.ScopedResourceSelectorRequirement, meta.Object) bool {
	return false
}
func (countEvaluator) Constraints([]core.ResourceName, meta.Object) error { return nil }
func (countEvaluator) ChargedOnUpdate(_, _ meta.Object) bool              { return false }

func (c countEvaluator) Usage(meta.Object, time.Time) core.ResourceList {
	out := core.ResourceList{c.name: one()}
	if c.legacy != "" {
		out[c.legacy] = one()
	}
	return out
}

func one() resource.Quantity { return *resource.NewQuantity(1, resource.DecimalSI) }
