package clusterroleaggregation_test

import (
	"fmt"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/clusterroleaggregation"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

func role(name string, labels map[string]string, aggregateLabel string, resources ...string) *rbac.ClusterRole {
	r := &rbac.ClusterRole{TypeMeta: meta.TypeMeta{Kind: "ClusterRole", APIVersion: "rbac.authorization.k8s.io/v1"},
		ObjectMeta: meta.ObjectMeta{Name: name, Labels: labels}}
	for _, res := range resources {
		r.Rules = append(r.Rules, rbac.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{res}})
	}
	if aggregateLabel != "" {
		r.AggregationRule = &rbac.AggregationRule{ClusterRoleSelectors: []meta.LabelSelector{{MatchLabels: map[string]string{aggregateLabel: "true"}}}}
	}
	return r
}

func resourcesOf(r *rbac.ClusterRole) string {
	if r == nil {
		return "<gone>"
	}
	out := ""
	for _, rule := range r.Rules {
		out += fmt.Sprint(rule.Resources)
	}
	return out
}

// TestAggregation: an aggregated role gets the rules of the roles its selector picks, in
// name order, follows their changes, and aggregation chains (view into edit).
func TestAggregation(t *testing.T) {
	e := testenv.New(t)
	res := clusterroleaggregation.ClusterRoles
	testenv.Create(t, e, res, role("my-view", nil, "to-view"))
	testenv.Create(t, e, res, role("my-edit", map[string]string{"to-admin": "true"}, "to-edit", "secrets"))
	testenv.Create(t, e, res, role("b-pods", map[string]string{"to-view": "true"}, "", "pods"))
	testenv.Create(t, e, res, role("a-cms", map[string]string{"to-view": "true"}, "", "configmaps", "pods"))
	testenv.Create(t, e, res, role("unrelated", map[string]string{"other": "true"}, "", "nodes"))
	e.Start(t, clusterroleaggregation.New(e.CC))
	get := func(name string) string { return resourcesOf(testenv.Get[rbac.ClusterRole](t, e, res, "", name)) }
	testenv.Eventually(t, "my-view aggregates a-cms then b-pods, each rule once", func() (bool, string) {
		got := get("my-view")
		return got == "[configmaps][pods]", got
	})
	// A role joins the selection through its labels.
	testenv.Create(t, e, res, role("c-svc", map[string]string{"to-view": "true"}, "", "services"))
	testenv.Eventually(t, "my-view gains c-svc", func() (bool, string) {
		got := get("my-view")
		return got == "[configmaps][pods][services]", got
	})
	// Chains: my-view is labelled into my-edit.
	roles := client.For[rbac.ClusterRole](e.Client, res)
	testenv.Eventually(t, "my-view labelled into my-edit", func() (bool, string) {
		v := testenv.Get[rbac.ClusterRole](t, e, res, "", "my-view")
		v.Labels = map[string]string{"to-edit": "true"}
		_, err := roles.Update(e.Ctx, v) // may conflict with the controller's own write
		return err == nil, fmt.Sprint(err)
	})
	testenv.Eventually(t, "my-edit gains my-view's rules", func() (bool, string) {
		got := get("my-edit")
		return got == "[configmaps][pods][services]", got
	})
	// A role leaving the selection takes its rules with it.
	if err := roles.Delete(e.Ctx, "", "a-cms", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "my-view loses a-cms's configmaps", func() (bool, string) {
		got := get("my-view")
		return got == "[pods][services]", got
	})
	if got := get("unrelated"); got != "[nodes]" {
		t.Errorf("a role without aggregationRule changed: %s", got)
	}
}
