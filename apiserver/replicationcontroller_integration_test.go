package apiserver_test

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// ReplicationControllers are served in core/v1: defaults from the template, Kubernetes'
// validation, the scale subresource with the equality selector, and a kubectl table.
func TestReplicationControllerAPI(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const rcs = "/api/v1/namespaces/default/replicationcontrollers"
	m := a.must(201, "POST", rcs, `{"metadata": {"name": "web"}, "spec": {"template": {
		"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}`)
	if get(m, "spec", "selector", "app") != "web" || get(m, "metadata", "labels", "app") != "web" || get(m, "spec", "replicas") != float64(1) {
		t.Errorf("defaults: %v %v", m["metadata"], m["spec"])
	}

	sc := a.must(200, "GET", rcs+"/web/scale", "")
	if get(sc, "spec", "replicas") != float64(1) || get(sc, "status", "selector") != "app=web" || sc["kind"] != "Scale" {
		t.Errorf("scale: %v", sc)
	}
	sc["spec"] = map[string]any{"replicas": 4}
	a.must(200, "PUT", rcs+"/web/scale", mustJSON(t, sc))
	if m = a.must(200, "GET", rcs+"/web", ""); get(m, "spec", "replicas") != float64(4) {
		t.Errorf("replicas after scale: %v", get(m, "spec", "replicas"))
	}

	for _, tc := range []struct{ body, field, msg string }{
		{`{"metadata": {"name": "x"}, "spec": {"selector": {"app": "x"}}}`, "spec.template", "Required value"},
		{`{"metadata": {"name": "x"}, "spec": {"selector": {"app": "other"}, "template": {"metadata": {"labels": {"app": "x"}},
			"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}`, "spec.template.metadata.labels", "Invalid value: {\"app\":\"x\"}: `selector` does not match template `labels`"},
		{`{"metadata": {"name": "x"}, "spec": {"template": {"metadata": {"labels": {"app": "x"}},
			"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}`, "spec.template.spec.restartPolicy", `Unsupported value: "Never": supported values: "Always"`},
	} {
		st := a.must(422, "POST", rcs, tc.body)
		causes, _ := get(st, "details", "causes").([]any)
		found := false
		for _, c := range causes {
			c := c.(map[string]any)
			found = found || (c["field"] == tc.field && c["message"] == tc.msg)
		}
		if !found {
			t.Errorf("%s: want %s %q in %v", tc.body, tc.field, tc.msg, causes)
		}
	}

	tbl := a.tableOf(rcs)
	for _, want := range []string{`"name":"Desired"`, `"name":"Current"`, `"name":"Ready"`, `"cells":["web",4,0,0,`} {
		if !strings.Contains(tbl, want) {
			t.Errorf("table lacks %s: %s", want, tbl)
		}
	}
}
