package bootstrappolicy_test

import (
	"context"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/apiserver/authz/bootstrappolicy"
	"github.com/skiff-sh/skiff/apiserver/authz/rbac"
)

// policy loads the bootstrap policy into an authorizer, with the aggregated roles filled
// as the aggregation controller fills them, plus a binding of admin, edit and view to a
// user each in namespace "team".
func policy(t *testing.T) *rbac.Authorizer {
	t.Helper()
	x := rbac.NewIndex()
	roles := bootstrappolicy.ClusterRoles()
	for _, r := range roles {
		if rules, ok, err := rbacv1.AggregatedRules(r, roles); err != nil {
			t.Fatal(err)
		} else if ok {
			r.Rules = rules
		}
		x.Set(r)
	}
	for _, b := range bootstrappolicy.ClusterRoleBindings() {
		x.Set(b)
	}
	for _, r := range bootstrappolicy.NamespaceRoles() {
		x.Set(r)
	}
	for _, b := range bootstrappolicy.NamespaceRoleBindings() {
		x.Set(b)
	}
	for _, role := range []string{"admin", "edit", "view"} {
		x.Set(&rbacv1.RoleBinding{ObjectMeta: meta.ObjectMeta{Namespace: "team", Name: role},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: role + "-user"}}})
	}
	return rbac.NewForIndex(x)
}

func user(name string, groups ...string) *authn.User {
	return &authn.User{Name: name, Groups: append(groups, authn.GroupAuthenticated)}
}

var anonymous = &authn.User{Name: authn.Anonymous, Groups: []string{authn.GroupUnauthenticated}}

func res(verb, group, resource, sub, ns string) authz.Attributes {
	return authz.Attributes{ResourceRequest: true, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: "x"}
}

func path(verb, p string) authz.Attributes { return authz.Attributes{Verb: verb, Path: p} }

func TestBootstrapPolicyDecisions(t *testing.T) {
	a := policy(t)
	cm := user(bootstrappolicy.ControllerManagerUser)
	sched := user(bootstrappolicy.SchedulerUser)
	proxy := user(bootstrappolicy.ProxyUser)
	ingress := user(bootstrappolicy.IngressUser)
	tests := []struct {
		name  string
		u     *authn.User
		attrs authz.Attributes
		allow bool
	}{
		{"masters do anything", user("root", "system:masters"), res("delete", "", "nodes", "", ""), true},
		{"service accounts read the issuer's keys", user("system:serviceaccount:ns:sa", "system:serviceaccounts"), path("get", "/openid/v1/jwks"), true},
		{"users do not read the issuer's keys", user("jane"), path("get", "/openid/v1/jwks"), false},
		{"view reads pods", user("view-user"), res("list", "", "pods", "", "team"), true},
		{"view reads logs", user("view-user"), res("get", "", "pods", "log", "team"), true},
		{"view cannot read secrets", user("view-user"), res("get", "", "secrets", "", "team"), false},
		{"view cannot exec", user("view-user"), res("create", "", "pods", "exec", "team"), false},
		{"view cannot write", user("view-user"), res("create", "", "configmaps", "", "team"), false},
		{"view only in its namespace", user("view-user"), res("list", "", "pods", "", "default"), false},
		{"edit reads secrets", user("edit-user"), res("get", "", "secrets", "", "team"), true},
		{"edit scales deployments", user("edit-user"), res("update", "apps", "deployments", "scale", "team"), true},
		{"edit cannot write roles", user("edit-user"), res("create", rbacv1.GroupName, "rolebindings", "", "team"), false},
		{"admin writes rolebindings", user("admin-user"), res("create", rbacv1.GroupName, "rolebindings", "", "team"), true},
		{"admin cannot write nodes", user("admin-user"), res("update", "", "nodes", "", ""), false},
		{"anonymous reads version", anonymous, path("get", "/version"), true},
		{"anonymous reads healthz", anonymous, path("get", "/healthz"), true},
		{"anonymous reads discovery (skiff)", anonymous, path("get", "/apis/apps/v1"), true},
		{"anonymous no metrics", anonymous, path("get", "/metrics"), false},
		{"anonymous no pods", anonymous, res("list", "", "pods", "", "default"), false},
		{"user asks can-i", user("alice"), res("create", "authorization.k8s.io", "selfsubjectaccessreviews", "", ""), true},
		{"user cannot list pods", user("alice"), res("list", "", "pods", "", "default"), false},
		{"scheduler binds pods", sched, res("create", "", "pods", "binding", "default"), true},
		{"scheduler writes pod status", sched, res("patch", "", "pods", "status", "default"), true},
		{"scheduler deletes victims", sched, res("delete", "", "pods", "", "default"), true},
		{"scheduler watches nodes", sched, res("watch", "", "nodes", "", ""), true},
		{"scheduler cannot delete nodes", sched, res("delete", "", "nodes", "", ""), false},
		{"scheduler cannot read secrets", sched, res("get", "", "secrets", "", "default"), false},
		{"scheduler cannot create pods", sched, res("create", "", "pods", "", "default"), false},
		{"scheduler annotates claims", sched, res("patch", "", "persistentvolumeclaims", "", "default"), true},
		{"scheduler reads storage classes", sched, res("watch", "storage.k8s.io", "storageclasses", "", ""), true},
		{"scheduler cannot delete claims", sched, res("delete", "", "persistentvolumeclaims", "", "default"), false},
		{"scheduler records events", sched, res("create", "events.k8s.io", "events", "", "default"), true},
		{"controller manager creates pods", cm, res("create", "", "pods", "", "default"), true},
		{"controller manager updates deployment status", cm, res("update", "apps", "deployments", "status", "default"), true},
		{"controller manager finalizes namespaces", cm, res("update", "", "namespaces", "finalize", ""), true},
		{"controller manager deletes anything (gc)", cm, res("delete", "batch", "jobs", "", "default"), true},
		{"controller manager creates leases", cm, res("create", "coordination.k8s.io", "leases", "", "kube-system"), true},
		{"controller manager provisions volumes", cm, res("create", "", "persistentvolumes", "", ""), true},
		{"controller manager publishes storage capacity", cm, res("create", "storage.k8s.io", "csistoragecapacities", "", "kube-system"), true},
		{"controller manager cannot create secrets", cm, res("create", "", "secrets", "", "default"), false},
		{"controller manager cannot bind pods", cm, res("create", "", "pods", "binding", "default"), false},
		{"controller manager aggregates clusterroles", cm, res("escalate", rbacv1.GroupName, "clusterroles", "", ""), true},
		{"controller manager cannot escalate roles", cm, res("escalate", rbacv1.GroupName, "roles", "", "default"), false},
		{"controller manager approves node client csrs", cm, authz.Attributes{ResourceRequest: true, Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client-kubelet"}, true},
		{"controller manager approves node serving csrs (csrapproving checks name and addresses)", cm, authz.Attributes{ResourceRequest: true, Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kubelet-serving"}, true},
		{"controller manager approves no other client csrs", cm, authz.Attributes{ResourceRequest: true, Verb: "approve", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client"}, false},
		{"controller manager signs serving csrs", cm, authz.Attributes{ResourceRequest: true, Verb: "sign", APIGroup: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kubelet-serving"}, true},
		{"controller manager cannot create roles", cm, res("create", rbacv1.GroupName, "clusterroles", "", ""), false},
		{"proxy watches services", proxy, res("watch", "", "services", "", ""), true},
		{"proxy watches endpointslices", proxy, res("list", "discovery.k8s.io", "endpointslices", "", ""), true},
		{"proxy creates kube-dns in kube-system", proxy, res("create", "", "services", "", "kube-system"), true},
		{"proxy cannot create services elsewhere", proxy, res("create", "", "services", "", "default"), false},
		{"proxy watches network policies", proxy, res("watch", "networking.k8s.io", "networkpolicies", "", ""), true},
		{"proxy lists pods and namespaces for policy selectors", proxy, res("list", "", "pods", "", ""), true},
		{"proxy watches namespaces", proxy, res("watch", "", "namespaces", "", ""), true},
		{"proxy cannot change network policies", proxy, res("update", "networking.k8s.io", "networkpolicies", "", "default"), false},
		{"proxy cannot read secrets", proxy, res("get", "", "secrets", "", "kube-system"), false},
		{"ingress controller watches ingresses", ingress, res("watch", "networking.k8s.io", "ingresses", "", ""), true},
		{"ingress controller lists ingress classes", ingress, res("list", "networking.k8s.io", "ingressclasses", "", ""), true},
		{"ingress controller writes ingress status", ingress, res("update", "networking.k8s.io", "ingresses", "status", "default"), true},
		{"ingress controller cannot change ingresses", ingress, res("update", "networking.k8s.io", "ingresses", "", "default"), false},
		{"ingress controller reads secrets everywhere", ingress, res("watch", "", "secrets", "", ""), true},
		{"ingress controller cannot write secrets", ingress, res("update", "", "secrets", "", "default"), false},
		{"ingress controller watches endpointslices", ingress, res("list", "discovery.k8s.io", "endpointslices", "", ""), true},
		{"ingress controller records events", ingress, res("create", "", "events", "", "default"), true},
		{"ingress controller cannot create pods", ingress, res("create", "", "pods", "", "default"), false},
	}
	for _, tt := range tests {
		tt.attrs.User = tt.u
		d, reason, err := authz.Union(authz.PrivilegedGroups, a).Authorize(context.Background(), tt.attrs)
		if err != nil {
			t.Fatal(err)
		}
		if (d == authz.Allow) != tt.allow {
			t.Errorf("%s: decision %v (%s), want allow=%v", tt.name, d, reason, tt.allow)
		}
	}
}

// Every bootstrap object passes the API server's validation.
func TestBootstrapPolicyValid(t *testing.T) {
	for _, r := range bootstrappolicy.ClusterRoles() {
		if errs := validation.Validate(r, false); len(errs) > 0 {
			t.Errorf("%s: %v", r.Name, errs)
		}
	}
	for _, b := range bootstrappolicy.ClusterRoleBindings() {
		if errs := validation.Validate(b, false); len(errs) > 0 {
			t.Errorf("%s: %v", b.Name, errs)
		}
	}
	for _, r := range bootstrappolicy.NamespaceRoles() {
		if errs := validation.Validate(r, true); len(errs) > 0 {
			t.Errorf("%s: %v", r.Name, errs)
		}
	}
	for _, b := range bootstrappolicy.NamespaceRoleBindings() {
		if errs := validation.Validate(b, true); len(errs) > 0 {
			t.Errorf("%s: %v", b.Name, errs)
		}
	}
}
