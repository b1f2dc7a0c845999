package apiserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// userAPI is a raw client authenticating as user with a certificate from the cluster CA.
func userAPI(t *testing.T, s *harness.Server, user string, groups ...string) *api {
	t.Helper()
	hc, err := s.UserConfig(t, user, groups...).HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, base: s.URL, hc: hc}
}

// TestRBACGrantsAndRevokes: a user with a certificate and no binding is refused with
// Kubernetes' wording, gains access with a RoleBinding (in that namespace only) and loses
// it when the binding is deleted.
func TestRBACGrantsAndRevokes(t *testing.T) {
	admin, s := newAPI(t, harness.ServerOptions{})
	bob := userAPI(t, s, "bob", "devs")
	code, m := bob.do("GET", "/api/v1/namespaces/default/pods", "", nil)
	want := `pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "default"`
	if code != 403 || m["message"] != want || m["reason"] != "Forbidden" {
		t.Fatalf("no binding: %d %v", code, m)
	}
	admin.must(201, "POST", rbacV1+"/namespaces/default/roles",
		`{"metadata":{"name":"pod-reader"},"rules":[{"verbs":["get","list","watch"],"apiGroups":[""],"resources":["pods"]}]}`)
	admin.must(201, "POST", rbacV1+"/namespaces/default/rolebindings",
		`{"metadata":{"name":"bob-reads"},"roleRef":{"kind":"Role","name":"pod-reader"},"subjects":[{"kind":"User","name":"bob"}]}`)
	harness.Eventually(t, 10*time.Second, "bob may list pods", func() (bool, string) {
		code, m := bob.do("GET", "/api/v1/namespaces/default/pods", "", nil)
		return code == 200, fmt.Sprint(code, m["message"])
	})
	if code, m := bob.do("GET", "/api/v1/namespaces/kube-system/pods", "", nil); code != 403 {
		t.Errorf("a RoleBinding granted in another namespace: %d %v", code, m)
	}
	if code, m := bob.do("DELETE", "/api/v1/namespaces/default/pods/x", "", nil); code != 403 {
		t.Errorf("a verb the role lacks was allowed: %d %v", code, m)
	}
	// kubectl auth can-i, as bob.
	if _, err := exec.LookPath("kubectl"); err == nil {
		k := &harness.Kubectl{Kubeconfig: s.UserKubeconfig(t, "bob", "devs")}
		if out := k.Run(t, "auth", "can-i", "list", "pods", "-n", "default"); strings.TrimSpace(out) != "yes" {
			t.Errorf("can-i list pods: %q", out)
		}
		out, _, err := k.Exec([]string{"auth", "can-i", "delete", "pods", "-n", "default"}, "")
		if strings.TrimSpace(out) != "no" || err == nil {
			t.Errorf("can-i delete pods: %q %v", out, err)
		}
		list := k.Run(t, "auth", "can-i", "--list", "-n", "default")
		if !strings.Contains(list, "pods") || !strings.Contains(list, "selfsubjectaccessreviews.authorization.k8s.io") || !strings.Contains(list, "[/api/*]") {
			t.Errorf("can-i --list:\n%s", list)
		}
		adminK := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
		if out := adminK.Run(t, "auth", "can-i", "list", "pods", "-n", "default", "--as", "bob"); strings.TrimSpace(out) != "yes" {
			t.Errorf("can-i --as bob: %q", out)
		}
		wide := adminK.Run(t, "get", "rolebindings", "-n", "default", "-o", "wide")
		if !strings.Contains(wide, "Role/pod-reader") || !strings.Contains(wide, "bob") {
			t.Errorf("get rolebindings -o wide:\n%s", wide)
		}
	}
	// A SubjectAccessReview by the administrator about bob.
	sar := admin.must(201, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
		`{"spec":{"user":"bob","resourceAttributes":{"namespace":"default","verb":"get","resource":"pods"}}}`)
	if get(sar, "status", "allowed") != true || get(sar, "status", "reason") != `RBAC: allowed by RoleBinding "bob-reads/default" of Role "pod-reader" to User "bob"` {
		t.Errorf("SubjectAccessReview: %v", sar["status"])
	}
	admin.must(200, "DELETE", rbacV1+"/namespaces/default/rolebindings/bob-reads", "")
	harness.Eventually(t, 10*time.Second, "bob refused again", func() (bool, string) {
		code, m := bob.do("GET", "/api/v1/namespaces/default/pods", "", nil)
		return code == 403 && m["message"] == want, fmt.Sprint(code, m["message"])
	})
}

// TestRBACEscalationRefused: a user allowed to write roles and bindings may grant only
// what it holds itself.
func TestRBACEscalationRefused(t *testing.T) {
	admin, s := newAPI(t, harness.ServerOptions{})
	admin.must(201, "POST", rbacV1+"/namespaces/default/roles",
		`{"metadata":{"name":"rbac-writer"},"rules":[{"verbs":["create","update","get"],"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles","rolebindings"]},
		 {"verbs":["get","list"],"apiGroups":[""],"resources":["pods"]}]}`)
	admin.must(201, "POST", rbacV1+"/namespaces/default/rolebindings",
		`{"metadata":{"name":"carol"},"roleRef":{"kind":"Role","name":"rbac-writer"},"subjects":[{"kind":"User","name":"carol"}]}`)
	carol := userAPI(t, s, "carol")
	harness.Eventually(t, 10*time.Second, "carol may create roles", func() (bool, string) {
		code, m := carol.do("POST", rbacV1+"/namespaces/default/roles", "",
			[]byte(`{"metadata":{"name":"pods-only"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]}`))
		return code == 201, fmt.Sprint(code, m["message"])
	})
	code, m := carol.do("POST", rbacV1+"/namespaces/default/roles", "",
		[]byte(`{"metadata":{"name":"secrets"},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["secrets","pods"]}]}`))
	want := `roles.rbac.authorization.k8s.io "secrets" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:
{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`
	if code != 403 || m["message"] != want {
		t.Errorf("escalating role: %d\n%v\nwant\n%s", code, m["message"], want)
	}
	// Binding: a role whose rules carol holds is fine; edit is not.
	// The escalation check reads the role from the authorizer's index, which may lag the
	// role's creation by a moment (as Kubernetes' informer-fed check does).
	harness.Eventually(t, 10*time.Second, "carol may bind pods-only", func() (bool, string) {
		code, m := carol.do("POST", rbacV1+"/namespaces/default/rolebindings", "",
			[]byte(`{"metadata":{"name":"dave-pods"},"roleRef":{"kind":"Role","name":"pods-only"},"subjects":[{"kind":"User","name":"dave"}]}`))
		return code == 201, fmt.Sprint(code, m["message"])
	})
	code, m = carol.do("POST", rbacV1+"/namespaces/default/rolebindings", "",
		[]byte(`{"metadata":{"name":"dave-edit"},"roleRef":{"kind":"ClusterRole","name":"edit"},"subjects":[{"kind":"User","name":"dave"}]}`))
	if code != 403 || !strings.HasPrefix(fmt.Sprint(m["message"]), `rolebindings.rbac.authorization.k8s.io "dave-edit" is forbidden: user "carol" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:`) {
		t.Errorf("binding edit: %d %v", code, m["message"])
	}
	// Updating a role to add a rule carol lacks is refused too.
	role := carol.must(200, "GET", rbacV1+"/namespaces/default/roles/pods-only", "")
	role["rules"] = []any{map[string]any{"verbs": []any{"delete"}, "apiGroups": []any{""}, "resources": []any{"pods"}}}
	if code, m := carol.do("PUT", rbacV1+"/namespaces/default/roles/pods-only", "", []byte(mustJSON(t, role))); code != 403 {
		t.Errorf("escalating update: %d %v", code, m["message"])
	}
	// With the escalate verb, the same role is allowed.
	admin.must(201, "POST", rbacV1+"/namespaces/default/roles",
		`{"metadata":{"name":"escalator"},"rules":[{"verbs":["escalate"],"apiGroups":["rbac.authorization.k8s.io"],"resources":["roles"]}]}`)
	admin.must(201, "POST", rbacV1+"/namespaces/default/rolebindings",
		`{"metadata":{"name":"carol-escalates"},"roleRef":{"kind":"Role","name":"escalator"},"subjects":[{"kind":"User","name":"carol"}]}`)
	harness.Eventually(t, 10*time.Second, "carol may escalate", func() (bool, string) {
		code, m := carol.do("POST", rbacV1+"/namespaces/default/roles", "",
			[]byte(`{"metadata":{"name":"secrets"},"rules":[{"verbs":["get","list"],"apiGroups":[""],"resources":["secrets","pods"]}]}`))
		return code == 201, fmt.Sprint(code, m["message"])
	})
}

// TestDefaultPolicy: the bootstrap policy is in place at start: anonymous may read version,
// health and discovery only; an authenticated user may ask what it may do.
func TestDefaultPolicy(t *testing.T) {
	admin, s := newAPI(t, harness.ServerOptions{})
	cr := admin.must(200, "GET", rbacV1+"/clusterroles/view", "")
	if get(cr, "metadata", "labels", "kubernetes.io/bootstrapping") != "rbac-defaults" || len(cr["rules"].([]any)) == 0 {
		t.Errorf("view: %v", cr)
	}
	anon := &api{t: t, base: s.URL, hc: anonClient(t, s)}
	for _, p := range []string{"/version", "/healthz", "/api", "/apis", "/apis/apps/v1"} {
		if code, _ := anon.raw("GET", p, "", nil); code != 200 {
			t.Errorf("anonymous %s: %d", p, code)
		}
	}
	code, m := anon.do("GET", "/api/v1/namespaces", "", nil)
	if code != 403 || m["message"] != `namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope` {
		t.Errorf("anonymous namespaces: %d %v", code, m["message"])
	}
	ssar := userAPI(t, s, "erin").must(201, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
		`{"spec":{"nonResourceAttributes":{"path":"/metrics","verb":"get"}}}`)
	if get(ssar, "status", "allowed") != false {
		t.Errorf("erin may read /metrics: %v", ssar)
	}
}

// anonClient trusts the cluster CA and presents no certificate.
func anonClient(t *testing.T, s *harness.Server) *http.Client {
	t.Helper()
	cfg := s.ClientConfig()
	cfg.TLS.CertData, cfg.TLS.KeyData = nil, nil
	hc, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

// TestAccessReviews: the review kinds' validation and answers.
func TestAccessReviews(t *testing.T) {
	admin, s := newAPI(t, harness.ServerOptions{})
	const authzV1 = "/apis/authorization.k8s.io/v1"
	bad := admin.must(422, "POST", authzV1+"/subjectaccessreviews", `{"spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}}`)
	if !strings.Contains(fmt.Sprint(bad["message"]), "spec.user: Invalid value: \"\": at least one of user or group must be specified") {
		t.Errorf("SAR without user: %v", bad["message"])
	}
	bad = admin.must(422, "POST", authzV1+"/selfsubjectaccessreviews",
		`{"spec":{"resourceAttributes":{"verb":"get","resource":"pods"},"nonResourceAttributes":{"verb":"get","path":"/api"}}}`)
	if !strings.Contains(fmt.Sprint(bad["message"]), "cannot be specified in combination with resourceAttributes") {
		t.Errorf("SSAR with both: %v", bad["message"])
	}
	// A question has no table form: asking only for a Table is 406, as Kubernetes answers
	// (conformance: "should return a 406 for a backend which does not implement metadata").
	ssarBody := []byte(`{"spec":{"nonResourceAttributes":{"verb":"get","path":"/"}}}`)
	req, _ := http.NewRequest("POST", admin.base+authzV1+"/selfsubjectaccessreviews", bytes.NewReader(ssarBody))
	req.Header.Set("Content-Type", "application/json")
	for accept, want := range map[string]int{
		"application/json;as=Table;v=v1;g=meta.k8s.io":                   406,
		"application/json;as=Table;v=v1;g=meta.k8s.io, application/json": 201,
	} {
		req.Body = io.NopCloser(bytes.NewReader(ssarBody))
		req.Header.Set("Accept", accept)
		resp, err := admin.hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 406 && !strings.Contains(string(b), `"reason":"NotAcceptable"`)) {
			t.Errorf("Accept %s: %d %s, want %d", accept, resp.StatusCode, b, want)
		}
	}
	// A group alone is a subject; system:masters may do anything.
	sar := admin.must(201, "POST", authzV1+"/subjectaccessreviews",
		`{"spec":{"groups":["system:masters"],"nonResourceAttributes":{"verb":"get","path":"/metrics"}}}`)
	if get(sar, "status", "allowed") != true {
		t.Errorf("masters group: %v", sar["status"])
	}
	// LocalSubjectAccessReview: the namespace of the path, the attributes and metadata agree.
	admin.must(201, "POST", rbacV1+"/namespaces/kube-public/rolebindings",
		`{"metadata":{"name":"frank-views"},"roleRef":{"kind":"ClusterRole","name":"view"},"subjects":[{"kind":"User","name":"frank"}]}`)
	harness.Eventually(t, 10*time.Second, "frank may list configmaps in kube-public", func() (bool, string) {
		l := admin.must(201, "POST", authzV1+"/namespaces/kube-public/localsubjectaccessreviews",
			`{"spec":{"user":"frank","resourceAttributes":{"namespace":"kube-public","verb":"list","resource":"configmaps"}}}`)
		return get(l, "status", "allowed") == true, fmt.Sprint(l["status"])
	})
	bad = admin.must(422, "POST", authzV1+"/namespaces/kube-public/localsubjectaccessreviews",
		`{"spec":{"user":"frank","resourceAttributes":{"namespace":"default","verb":"list","resource":"configmaps"}}}`)
	if !strings.Contains(fmt.Sprint(bad["message"]), "must match metadata.namespace") {
		t.Errorf("local SAR of another namespace: %v", bad["message"])
	}
	// Rules of a user in a namespace; an administrator holds everything.
	frank := userAPI(t, s, "frank")
	rr := frank.must(201, "POST", authzV1+"/selfsubjectrulesreviews", `{"spec":{"namespace":"kube-public"}}`)
	if !strings.Contains(fmt.Sprint(get(rr, "status", "resourceRules")), "configmaps") || get(rr, "status", "incomplete") != false {
		t.Errorf("frank's rules: %v", rr["status"])
	}
	rr = admin.must(201, "POST", authzV1+"/selfsubjectrulesreviews", `{"spec":{"namespace":"default"}}`)
	if !strings.Contains(fmt.Sprint(get(rr, "status", "resourceRules")), "map[apiGroups:[*] resources:[*] verbs:[*]]") {
		t.Errorf("admin's rules: %v", rr["status"])
	}
	admin.must(400, "POST", authzV1+"/selfsubjectrulesreviews", `{"spec":{}}`)
}
