package webhook

import (
	"context"
	"testing"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
)

var reg = registry.Default()

func kind(group, resource string) *registry.Kind {
	for _, k := range reg.Kinds() {
		if k.Group == group && k.Resource == resource {
			return k
		}
	}
	panic("no kind " + resource)
}

func rule(ops []ar.OperationType, groups, versions, resources []string, scope ar.ScopeType) ar.RuleWithOperations {
	return ar.RuleWithOperations{Operations: ops, Rule: ar.Rule{APIGroups: groups, APIVersions: versions, Resources: resources, Scope: &scope}}
}

func TestMatchesRules(t *testing.T) {
	create := []ar.OperationType{ar.Create}
	all := []ar.OperationType{ar.OperationAll}
	core1 := []string{""}
	v1 := []string{"v1"}
	tests := []struct {
		name   string
		rule   ar.RuleWithOperations
		policy ar.MatchPolicyType
		attrs  admission.Attributes
		want   bool
	}{
		{"exact resource", rule(create, core1, v1, []string{"pods"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "pods")}, true},
		{"other operation", rule(create, core1, v1, []string{"pods"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("", "pods")}, false},
		{"all operations", rule(all, core1, v1, []string{"pods"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Delete, Kind: kind("", "pods")}, true},
		{"other group", rule(create, core1, v1, []string{"deployments"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments")}, false},
		{"star group and resource", rule(create, []string{"*"}, []string{"*"}, []string{"*"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments")}, true},
		{"star excludes subresources", rule(all, core1, v1, []string{"*"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("", "pods"), Subresource: "status"}, false},
		{"plain excludes subresource", rule(all, core1, v1, []string{"pods"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("", "pods"), Subresource: "status"}, false},
		{"named subresource", rule(all, core1, v1, []string{"pods/status"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("", "pods"), Subresource: "status"}, true},
		{"named subresource, main resource", rule(all, core1, v1, []string{"pods/status"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("", "pods")}, false},
		{"star/scale", rule(all, []string{"apps"}, v1, []string{"*/scale"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Update, Kind: kind("apps", "deployments"), Subresource: "scale"}, true},
		{"pods/*", rule(all, core1, v1, []string{"pods/*"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "pods"), Subresource: "eviction"}, true},
		{"star/star", rule(all, []string{"*"}, []string{"*"}, []string{"*/*"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "pods"), Subresource: "binding"}, true},
		{"namespaced scope, namespaced kind", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, ar.NamespacedScope), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "configmaps")}, true},
		{"namespaced scope, cluster kind", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, ar.NamespacedScope), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "nodes")}, false},
		{"namespaced scope, namespace", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, ar.NamespacedScope), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "namespaces")}, true},
		{"cluster scope", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, ar.ClusterScope), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "nodes")}, true},
		{"cluster scope, namespaced kind", rule(all, []string{"*"}, []string{"*"}, []string{"*"}, ar.ClusterScope), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("", "pods")}, false},
		{"other version, Exact", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, "*"), ar.Exact, admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments")}, false},
		{"other version, Equivalent", rule(create, []string{"apps"}, []string{"v1beta1"}, []string{"deployments"}, "*"), ar.Equivalent, admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments")}, true},
		{"other group, Equivalent", rule(create, []string{"extensions"}, []string{"v1beta1"}, []string{"deployments"}, "*"), ar.Equivalent, admission.Attributes{Operation: admission.Create, Kind: kind("apps", "deployments")}, false},
	}
	for _, tc := range tests {
		h := &hook{rules: []ar.RuleWithOperations{tc.rule}, matchPolicy: tc.policy}
		if got := h.matchesRules(&tc.attrs); got != tc.want {
			t.Errorf("%s: matchesRules = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSelectors(t *testing.T) {
	objs := admissiontest.NewObjects(
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}},
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "dev", Labels: map[string]string{"env": "dev"}}},
	)
	prodOnly := &meta.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}
	webOnly := &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "app", Operator: "In", Values: []string{"web"}}}}
	cm := func(ns string, lbls map[string]string) *core.ConfigMap {
		return &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "c", Namespace: ns, Labels: lbls}}
	}
	tests := []struct {
		name      string
		nsSel     *meta.LabelSelector
		objSel    *meta.LabelSelector
		attrs     admission.Attributes
		want      bool
		wantError bool
	}{
		{name: "no selectors", attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", Object: cm("dev", nil)}, want: true},
		{name: "namespace matches", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "prod", Object: cm("prod", nil)}, want: true},
		{name: "namespace does not match", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", Object: cm("dev", nil)}, want: false},
		{name: "missing namespace", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "gone", Object: cm("gone", nil)}, wantError: true},
		{name: "cluster-scoped object ignores namespaceSelector", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "nodes"), Object: &core.Node{}}, want: true},
		{name: "namespace's own labels", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "namespaces"), Name: "new",
			Object: &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "new", Labels: map[string]string{"env": "prod"}}}}, want: true},
		{name: "namespace's own labels, not matching", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "namespaces"), Name: "new",
			Object: &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "new"}}}, want: false},
		{name: "deleted namespace: old labels", nsSel: prodOnly, attrs: admission.Attributes{Kind: kind("", "namespaces"), Name: "prod", Operation: admission.Delete,
			OldObject: &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "prod", Labels: map[string]string{"env": "prod"}}}}, want: true},
		{name: "object matches", objSel: webOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", Object: cm("dev", map[string]string{"app": "web"})}, want: true},
		{name: "object does not match", objSel: webOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", Object: cm("dev", map[string]string{"app": "db"})}, want: false},
		{name: "old object matches", objSel: webOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev",
			Object: cm("dev", nil), OldObject: cm("dev", map[string]string{"app": "web"})}, want: true},
		{name: "delete: old object", objSel: webOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", OldObject: cm("dev", map[string]string{"app": "web"})}, want: true},
		{name: "both", nsSel: prodOnly, objSel: webOnly, attrs: admission.Attributes{Kind: kind("", "configmaps"), Namespace: "dev", Object: cm("dev", map[string]string{"app": "web"})}, want: false},
	}
	d := newDispatcher(Config{Objects: objs})
	for _, tc := range tests {
		h := d.newHook("c", 0, "h.example.com", ar.WebhookClientConfig{}, nil, nil, nil, nil, nil, tc.nsSel, tc.objSel, nil)
		okNS, err := h.matchesNamespace(context.Background(), &tc.attrs, objs)
		if (err != nil) != tc.wantError {
			t.Errorf("%s: error %v, want error %v", tc.name, err, tc.wantError)
			continue
		}
		if got := okNS && h.matchesObject(&tc.attrs); err == nil && got != tc.want {
			t.Errorf("%s: match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExempt(t *testing.T) {
	if !exempt(&admission.Attributes{Kind: kind(ar.GroupName, "validatingwebhookconfigurations")}) {
		t.Error("webhook configurations must never be sent to webhooks")
	}
	if exempt(&admission.Attributes{Kind: kind("", "pods")}) {
		t.Error("pods are not exempt")
	}
}
