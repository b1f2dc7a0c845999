package apiserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

const rbacV1 = "/apis/rbac.authorization.k8s.io/v1"

// TestRBACKindsServedAndValidated: the RBAC kinds are stored with Kubernetes' defaults and
// validation (422 with field causes, roleRef immutable).
func TestRBACKindsServedAndValidated(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	bad := a.must(422, "POST", rbacV1+"/namespaces/default/roles",
		`{"metadata":{"name":"r"},"rules":[{"resources":["pods"]},{"verbs":["get"],"nonResourceURLs":["/x"]}]}`)
	causes := fmt.Sprint(get(bad, "details", "causes"))
	for _, want := range []string{"rules[0].verbs", "rules[0].apiGroups", "rules[1].nonResourceURLs", "namespaced rules cannot apply to non-resource URLs"} {
		if !strings.Contains(causes, want) {
			t.Errorf("causes lack %q: %s", want, causes)
		}
	}
	a.must(201, "POST", rbacV1+"/namespaces/default/roles",
		`{"metadata":{"name":"reader"},"rules":[{"verbs":["get"],"apiGroups":[""],"resources":["pods"]}]}`)
	b := a.must(201, "POST", rbacV1+"/namespaces/default/rolebindings",
		`{"metadata":{"name":"rb"},"roleRef":{"kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"alice"},{"kind":"ServiceAccount","name":"default","namespace":"default"}]}`)
	if get(b, "roleRef", "apiGroup") != "rbac.authorization.k8s.io" {
		t.Errorf("roleRef.apiGroup not defaulted: %v", b)
	}
	if s := get(b, "subjects").([]any); s[0].(map[string]any)["apiGroup"] != "rbac.authorization.k8s.io" || s[1].(map[string]any)["apiGroup"] != nil {
		t.Errorf("subject apiGroups: %v", s)
	}
	b["roleRef"].(map[string]any)["name"] = "other"
	upd := a.must(422, "PUT", rbacV1+"/namespaces/default/rolebindings/rb", mustJSON(t, b))
	if !strings.Contains(fmt.Sprint(upd["message"]), "roleRef: Invalid value") || !strings.Contains(fmt.Sprint(upd["message"]), "cannot change roleRef") {
		t.Errorf("roleRef update: %v", upd["message"])
	}
	crb := a.must(422, "POST", rbacV1+"/clusterrolebindings",
		`{"metadata":{"name":"c"},"roleRef":{"kind":"Role","name":"x"},"subjects":[{"kind":"ServiceAccount","name":"sa"},{"kind":"Robot","name":"r2"}]}`)
	causes = fmt.Sprint(get(crb, "details", "causes"))
	for _, want := range []string{"roleRef.kind", "subjects[0].namespace", "subjects[1].kind"} {
		if !strings.Contains(causes, want) {
			t.Errorf("clusterrolebinding causes lack %q: %s", want, causes)
		}
	}
	// kubectl get -o wide columns.
	code, raw := a.rawAccept("GET", rbacV1+"/namespaces/default/rolebindings", "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 200 || !strings.Contains(raw, `"Role/reader"`) || !strings.Contains(raw, `"default/default"`) || !strings.Contains(raw, `"ServiceAccounts"`) {
		t.Errorf("rolebindings table: %d %s", code, raw)
	}
}

// TestCreateOnlyKinds: review kinds are listed with the create verb only, and other verbs
// are refused with 405.
func TestCreateOnlyKinds(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	rl := a.must(200, "GET", "/apis/authorization.k8s.io/v1", "")
	found := 0
	for _, r := range rl["resources"].([]any) {
		r := r.(map[string]any)
		if fmt.Sprint(r["verbs"]) != "[create]" {
			t.Errorf("%v: verbs %v", r["name"], r["verbs"])
		}
		found++
	}
	if found != 4 {
		t.Errorf("authorization.k8s.io/v1 resources: %v", rl)
	}
	a.must(405, "GET", "/apis/authorization.k8s.io/v1/subjectaccessreviews", "")
	a.must(405, "GET", "/apis/authorization.k8s.io/v1/namespaces/default/localsubjectaccessreviews", "")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
