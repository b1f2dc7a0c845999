package apiserver

import (
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
)

// reconcileBootstrap adds back what an auto-updated bootstrap object lost and keeps what an
// administrator added.
func TestReconcileBootstrap(t *testing.T) {
	get := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	extra := rbacv1.PolicyRule{Verbs: []string{"delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	want := &rbacv1.ClusterRole{ObjectMeta: meta.ObjectMeta{Name: "r", Labels: map[string]string{"a": "1"},
		Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}}, Rules: []rbacv1.PolicyRule{get}}
	cur := &rbacv1.ClusterRole{ObjectMeta: meta.ObjectMeta{Name: "r", Labels: map[string]string{"b": "2"},
		Annotations: map[string]string{rbacv1.AutoUpdateAnnotationKey: "true"}},
		Rules: []rbacv1.PolicyRule{extra, {Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}}
	reconcileBootstrap(cur, want)
	wantRules := []rbacv1.PolicyRule{extra, {Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}},
		{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
	if !reflect.DeepEqual(cur.Rules, wantRules) {
		t.Errorf("rules: %+v", cur.Rules)
	}
	if !reflect.DeepEqual(cur.Labels, map[string]string{"a": "1", "b": "2"}) {
		t.Errorf("labels: %v", cur.Labels)
	}
	// Nothing to add: nothing changes.
	before := deepCopyRole(cur)
	reconcileBootstrap(cur, want)
	if !reflect.DeepEqual(cur, before) {
		t.Errorf("second reconcile changed the role: %+v", cur)
	}
	// Bindings get their subjects back and keep added ones; roleRef is set back.
	wb := &rbacv1.ClusterRoleBinding{ObjectMeta: meta.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "r"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: "system:authenticated"}}}
	cb := &rbacv1.ClusterRoleBinding{ObjectMeta: meta.ObjectMeta{Name: "b"}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "other"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"}}}
	reconcileBootstrap(cb, wb)
	if cb.RoleRef.Name != "r" || len(cb.Subjects) != 2 || cb.Subjects[0].Name != "alice" {
		t.Errorf("binding: %+v", cb)
	}
	// Aggregated roles: selectors reconciled, rules left to the aggregation controller.
	wa := &rbacv1.ClusterRole{ObjectMeta: meta.ObjectMeta{Name: "view"}, AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []meta.LabelSelector{{MatchLabels: map[string]string{"to-view": "true"}}}}}
	ca := &rbacv1.ClusterRole{ObjectMeta: meta.ObjectMeta{Name: "view"}, Rules: []rbacv1.PolicyRule{extra}}
	reconcileBootstrap(ca, wa)
	if ca.AggregationRule == nil || len(ca.AggregationRule.ClusterRoleSelectors) != 1 || !reflect.DeepEqual(ca.Rules, []rbacv1.PolicyRule{extra}) {
		t.Errorf("aggregated: %+v", ca)
	}
}

func deepCopyRole(r *rbacv1.ClusterRole) *rbacv1.ClusterRole {
	c := *r
	c.Rules = append([]rbacv1.PolicyRule(nil), r.Rules...)
	c.Labels = map[string]string{}
	for k, v := range r.Labels {
		c.Labels[k] = v
	}
	return &c
}
