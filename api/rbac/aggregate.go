package rbac

import (
	"fmt"
	"reflect"
	"sort"

	"github.com/skiff-sh/skiff/api/labels"
)

// AggregatedRules are the rules an aggregated ClusterRole (one with an aggregationRule)
// should hold: those of every other ClusterRole whose labels match any of its selectors,
// taken in name order, each distinct rule once (Kubernetes' clusterrole-aggregation
// controller). ok is false for a role without an aggregationRule.
func AggregatedRules(role *ClusterRole, all []*ClusterRole) (rules []PolicyRule, ok bool, err error) {
	if role.AggregationRule == nil {
		return nil, false, nil
	}
	selected := map[string]*ClusterRole{}
	for i := range role.AggregationRule.ClusterRoleSelectors {
		sel, err := labels.SelectorFromLabelSelector(&role.AggregationRule.ClusterRoleSelectors[i])
		if err != nil {
			return nil, true, fmt.Errorf("clusterrole %s: aggregationRule: %w", role.Name, err)
		}
		for _, c := range all {
			if c.Name != role.Name && sel.Matches(labels.Set(c.Labels)) {
				selected[c.Name] = c
			}
		}
	}
	names := make([]string, 0, len(selected))
	for n := range selected {
		names = append(names, n)
	}
	sort.Strings(names)
	rules = []PolicyRule{}
	for _, n := range names {
		for _, r := range selected[n].Rules {
			if !containsRule(rules, r) {
				rules = append(rules, r)
			}
		}
	}
	return rules, true, nil
}

func containsRule(rules []PolicyRule, r PolicyRule) bool {
	for _, x := range rules {
		if reflect.DeepEqual(x, r) {
			return true
		}
	}
	return false
}
