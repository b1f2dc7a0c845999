package rbac

import (
	"context"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

func res(verb, group, resource, sub, ns, name string) authz.Attributes {
	return authz.Attributes{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
}

func TestRuleAllows(t *testing.T) {
	pods := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		a    authz.Attributes
		want bool
	}{
		{"exact", pods, res("get", "", "pods", "", "default", "web"), true},
		{"other verb", pods, res("delete", "", "pods", "", "default", "web"), false},
		{"other group", pods, res("get", "apps", "pods", "", "", ""), false},
		{"subresource not granted by resource", pods, res("get", "", "pods", "log", "default", "web"), false},
		{"resource/subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}, res("get", "", "pods", "log", "d", "w"), true},
		{"resource/subresource does not grant resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods/log"}}, res("get", "", "pods", "", "d", "w"), false},
		{"*/subresource", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/status"}}, res("update", "apps", "deployments", "status", "d", "w"), true},
		{"*/subresource wrong sub", rbacv1.PolicyRule{Verbs: []string{"update"}, APIGroups: []string{"*"}, Resources: []string{"*/status"}}, res("update", "apps", "deployments", "scale", "d", "w"), false},
		{"all wildcards", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}, res("escalate", "rbac.authorization.k8s.io", "roles", "", "d", "x"), true},
		{"resourceNames match", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("get", "", "configmaps", "", "d", "a"), true},
		{"resourceNames other", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("get", "", "configmaps", "", "d", "b"), false},
		{"resourceNames no list", rbacv1.PolicyRule{Verbs: []string{"list"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, res("list", "", "configmaps", "", "d", ""), false},
		{"url exact", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, authz.Attributes{Verb: "get", Path: "/healthz"}, true},
		{"url prefix", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/apis/*"}}, authz.Attributes{Verb: "get", Path: "/apis/apps/v1"}, true},
		{"url prefix without slash", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/livez*"}}, authz.Attributes{Verb: "get", Path: "/livez/ping"}, true},
		{"url other", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}, authz.Attributes{Verb: "get", Path: "/metrics"}, false},
		{"url rule no resource", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}, res("get", "", "pods", "", "", ""), false},
		{"resource rule no url", pods, authz.Attributes{Verb: "get", Path: "/api"}, false},
	}
	for _, tt := range tests {
		if got := RuleAllows(tt.a, &tt.rule); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func om(ns, name string) meta.ObjectMeta { return meta.ObjectMeta{Namespace: ns, Name: name} }

var (
	podReader  = []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}}
	alice      = &authn.User{Name: "alice", Groups: []string{"system:authenticated"}}
	devs       = &authn.User{Name: "bob", Groups: []string{"devs", "system:authenticated"}}
	saBuilder  = &authn.User{Name: "system:serviceaccount:ci:builder", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ci"}}
	getPods    = func(ns string) authz.Attributes { return res("get", "", "pods", "", ns, "p") }
	background = context.Background()
)

func decide(t *testing.T, a *Authorizer, u *authn.User, attrs authz.Attributes) (authz.Decision, string) {
	t.Helper()
	attrs.User = u
	d, reason, err := a.Authorize(background, attrs)
	if err != nil {
		t.Fatal(err)
	}
	return d, reason
}

// TestIndexChangesDecisions: adding, updating and deleting roles and bindings changes what
// the authorizer decides, and only where it should.
func TestIndexChangesDecisions(t *testing.T) {
	x := NewIndex()
	a := NewForIndex(x)
	if d, _ := decide(t, a, alice, getPods("default")); d != authz.NoOpinion {
		t.Fatal("empty index allowed")
	}
	x.Set(&rbacv1.Role{ObjectMeta: om("default", "reader"), Rules: podReader})
	rb := &rbacv1.RoleBinding{ObjectMeta: om("default", "alice-reads"), RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "reader"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}}
	x.Set(rb)
	d, reason := decide(t, a, alice, getPods("default"))
	if d != authz.Allow || reason != `RBAC: allowed by RoleBinding "alice-reads/default" of Role "reader" to User "alice"` {
		t.Fatalf("after binding: %v %q", d, reason)
	}
	if d, _ := decide(t, a, alice, getPods("other")); d != authz.NoOpinion {
		t.Error("a RoleBinding granted in another namespace")
	}
	if d, _ := decide(t, a, alice, res("delete", "", "pods", "", "default", "p")); d != authz.NoOpinion {
		t.Error("verb not in the role allowed")
	}
	if d, _ := decide(t, a, devs, getPods("default")); d != authz.NoOpinion {
		t.Error("another user allowed")
	}
	// Updating the binding's subjects: alice out, group devs in.
	x.Set(&rbacv1.RoleBinding{ObjectMeta: om("default", "alice-reads"), RoleRef: rb.RoleRef, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}})
	if d, _ := decide(t, a, alice, getPods("default")); d != authz.NoOpinion {
		t.Error("alice kept access after being removed from the binding")
	}
	if d, reason := decide(t, a, devs, getPods("default")); d != authz.Allow || !strings.Contains(reason, `to Group "devs"`) {
		t.Errorf("group member: %v %q", d, reason)
	}
	// Updating the role's rules takes effect through the existing binding.
	x.Set(&rbacv1.Role{ObjectMeta: om("default", "reader"), Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}}})
	if d, _ := decide(t, a, devs, getPods("default")); d != authz.NoOpinion {
		t.Error("rule removed from the role still allows")
	}
	// Deleting the role: the binding grants nothing and the reason says why.
	x.Delete(&rbacv1.Role{ObjectMeta: om("default", "reader")})
	d, reason = decide(t, a, devs, res("get", "", "configmaps", "", "default", "c"))
	if d != authz.NoOpinion || reason != `RBAC: role.rbac.authorization.k8s.io "reader" not found` {
		t.Errorf("binding to a missing role: %v %q", d, reason)
	}
	// Deleting the binding removes it from the subject index.
	x.Delete(&rbacv1.RoleBinding{ObjectMeta: om("default", "alice-reads")})
	if d, reason := decide(t, a, devs, res("get", "", "configmaps", "", "default", "c")); d != authz.NoOpinion || reason != "" {
		t.Errorf("after deleting the binding: %v %q", d, reason)
	}
	if len(x.nsBySubject) != 0 || len(x.roleBindings) != 0 {
		t.Errorf("index not emptied: %v %v", x.nsBySubject, x.roleBindings)
	}
}

func TestClusterRolesAndServiceAccounts(t *testing.T) {
	x := NewIndex()
	a := NewForIndex(x)
	x.Set(&rbacv1.ClusterRole{ObjectMeta: om("", "pod-reader"), Rules: podReader})
	// A RoleBinding to a ClusterRole grants in its namespace only; a bare ServiceAccount
	// subject is of the binding's namespace.
	x.Set(&rbacv1.RoleBinding{ObjectMeta: om("ci", "sa-reads"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "builder"}}})
	d, reason := decide(t, a, saBuilder, getPods("ci"))
	if d != authz.Allow || reason != `RBAC: allowed by RoleBinding "sa-reads/ci" of ClusterRole "pod-reader" to ServiceAccount "builder/ci"` {
		t.Errorf("sa in its namespace: %v %q", d, reason)
	}
	if d, _ := decide(t, a, saBuilder, getPods("default")); d != authz.NoOpinion {
		t.Error("RoleBinding to a ClusterRole granted outside its namespace")
	}
	if d, _ := decide(t, a, saBuilder, res("list", "", "pods", "", "", "")); d != authz.NoOpinion {
		t.Error("RoleBinding granted cluster-wide")
	}
	// A ClusterRoleBinding grants everywhere; group of all service accounts.
	x.Set(&rbacv1.ClusterRoleBinding{ObjectMeta: om("", "all-sa"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:serviceaccounts"}}})
	if d, _ := decide(t, a, saBuilder, res("list", "", "pods", "", "", "")); d != authz.Allow {
		t.Error("ClusterRoleBinding to a group did not grant cluster-wide")
	}
	// A ServiceAccount subject of another namespace does not match.
	x.Set(&rbacv1.ClusterRoleBinding{ObjectMeta: om("", "other-sa"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "pod-reader"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "prod", Name: "builder"}}})
	prodless := &authn.User{Name: "system:serviceaccount:ci:builder"}
	x.Delete(&rbacv1.ClusterRoleBinding{ObjectMeta: om("", "all-sa")})
	if d, _ := decide(t, a, prodless, res("list", "", "pods", "", "", "")); d != authz.NoOpinion {
		t.Error("ServiceAccount of another namespace matched")
	}
	// Replace drops what the new state lacks.
	x.Replace(&rbacv1.ClusterRoleBinding{}, nil)
	x.Replace(&rbacv1.RoleBinding{}, nil)
	if d, _ := decide(t, a, saBuilder, getPods("ci")); d != authz.NoOpinion {
		t.Error("Replace kept old bindings")
	}
	rules, err := a.RulesFor(saBuilder, "ci")
	if err != nil || len(rules) != 0 {
		t.Errorf("RulesFor after replace: %v %v", rules, err)
	}
}

func TestRulesFor(t *testing.T) {
	x := NewIndex()
	a := NewForIndex(x)
	x.Set(&rbacv1.ClusterRole{ObjectMeta: om("", "urls"), Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}}}})
	x.Set(&rbacv1.ClusterRoleBinding{ObjectMeta: om("", "u"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "urls"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}})
	x.Set(&rbacv1.Role{ObjectMeta: om("ns1", "r"), Rules: podReader})
	x.Set(&rbacv1.RoleBinding{ObjectMeta: om("ns1", "b"), RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}})
	x.Set(&rbacv1.RoleBinding{ObjectMeta: om("ns1", "missing"), RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "gone"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}})
	rules, err := a.RulesFor(alice, "ns1")
	if len(rules) != 2 || err == nil || !strings.Contains(err.Error(), `clusterrole.rbac.authorization.k8s.io "gone" not found`) {
		t.Errorf("RulesFor ns1: %v %v", rules, err)
	}
	if rules, err := a.RulesFor(alice, ""); len(rules) != 1 || err != nil {
		t.Errorf("RulesFor cluster: %v %v", rules, err)
	}
}

func TestCoversAndEscalationMessage(t *testing.T) {
	owner := []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "*/status"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}},
		{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz/*"}},
	}
	tests := []struct {
		name      string
		requested rbacv1.PolicyRule
		covered   bool
	}{
		{"same", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}, true},
		{"extra verb", rbacv1.PolicyRule{Verbs: []string{"get", "delete"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
		{"wildcard verb not covered by list", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"pods"}}, false},
		{"*/status covers x/status", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"services/status"}}, true},
		{"named covered", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"a"}}, true},
		{"unnamed not covered by named", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"configmaps"}}, false},
		{"url prefix", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz/etcd"}}, true},
		{"url other", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/metrics"}}, false},
	}
	for _, tt := range tests {
		if ok, _ := Covers(owner, []rbacv1.PolicyRule{tt.requested}); ok != tt.covered {
			t.Errorf("%s: covered = %v, want %v", tt.name, ok, tt.covered)
		}
	}
	all := []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
	if ok, _ := Covers(all, []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}}}); !ok {
		t.Error("* does not cover everything")
	}
	_, missing := Covers(owner, []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "delete"}, APIGroups: []string{""}, Resources: []string{"secrets", "pods"}}})
	msg := EscalationError(&authn.User{Name: "bob", Groups: []string{"system:authenticated"}}, missing, nil)
	want := "user \"bob\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n" +
		"{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\"]}\n" +
		"{APIGroups:[\"\"], Resources:[\"secrets\"], Verbs:[\"get\" \"list\" \"delete\"]}"
	if msg != want {
		t.Errorf("message:\n%s\nwant:\n%s", msg, want)
	}
}
