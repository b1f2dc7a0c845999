package apiserver_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// A Service changed to ExternalName with its whole object (as client-go updates) loses the
// cluster IPs and IP families it kept from its old type, and the IP goes back to the pool;
// an IP the client changed in the same update is refused instead, as in Kubernetes.
func TestServiceToExternalNameReleasesClusterIP(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const svcs = "/api/v1/namespaces/default/services"
	svc := func(name, ip string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"selector":{"app":"x"},"ports":[{"port":80}],"clusterIP":%q}}`, name, ip)
	}
	m := a.must(201, "POST", svcs, svc("web", "10.96.100.7"))
	spec := m["spec"].(map[string]any)
	spec["type"], spec["externalName"] = "ExternalName", "example.com"
	b, _ := json.Marshal(m)
	m = a.must(200, "PUT", svcs+"/web", string(b))
	for _, f := range []string{"clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"} {
		if v, ok := m["spec"].(map[string]any)[f]; ok {
			t.Errorf("ExternalName service kept %s: %v", f, v)
		}
	}
	// The released IP can be had again.
	a.must(201, "POST", svcs, svc("again", "10.96.100.7"))

	m = a.must(201, "POST", svcs, svc("changed", "10.96.100.8"))
	spec = m["spec"].(map[string]any)
	spec["type"], spec["externalName"], spec["clusterIP"], spec["clusterIPs"] = "ExternalName", "example.com", "10.96.100.9", []string{"10.96.100.9"}
	b, _ = json.Marshal(m)
	st := a.must(422, "PUT", svcs+"/changed", string(b))
	if causes, _ := get(st, "details", "causes").([]any); len(causes) == 0 || causes[0].(map[string]any)["field"] != "spec.clusterIPs" {
		t.Errorf("changed IP on ExternalName: %v", st)
	}
}

// A status write keeps the labels and annotations it carries, as Kubernetes' status
// strategies do (they reset only the spec); a Deployment's labels are the exception.
func TestStatusWriteKeepsMetadata(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const jobs = "/apis/batch/v1/namespaces/default/jobs"
	a.must(201, "POST", jobs, `{"metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Never",
		"containers": [{"name": "c", "image": "busybox"}]}}}}`)
	patch := func(path, body string) map[string]any {
		t.Helper()
		code, m := a.do("PATCH", path, "application/merge-patch+json", []byte(body))
		if code != 200 {
			t.Fatalf("PATCH %s: %d %v", path, code, m)
		}
		return m
	}
	m := patch(jobs+"/j/status", `{"metadata": {"annotations": {"patched": "true"}, "labels": {"l": "1"}},
		"spec": {"parallelism": 7}, "status": {"active": 1}}`)
	if get(m, "metadata", "annotations", "patched") != "true" || get(m, "metadata", "labels", "l") != "1" ||
		get(m, "status", "active") != float64(1) || get(m, "spec", "parallelism") == float64(7) {
		t.Errorf("job after status patch: metadata %v spec.parallelism %v status %v", m["metadata"], get(m, "spec", "parallelism"), m["status"])
	}
	const deps = "/apis/apps/v1/namespaces/default/deployments"
	a.must(201, "POST", deps, `{"metadata": {"name": "d", "labels": {"app": "d"}}, "spec": {"selector": {"matchLabels": {"app": "d"}},
		"template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}`)
	m = patch(deps+"/d/status", `{"metadata": {"annotations": {"a": "b"}, "labels": {"app": "other"}}}`)
	if get(m, "metadata", "annotations", "a") != "b" || get(m, "metadata", "labels", "app") != "d" {
		t.Errorf("deployment after status patch: %v", m["metadata"])
	}
}
