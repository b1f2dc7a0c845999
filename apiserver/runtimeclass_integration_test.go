package apiserver_test

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// RuntimeClasses are served in node.k8s.io/v1 with Kubernetes' validation and table, and the
// RuntimeClass admission plugin gives a pod its class's overhead and scheduling constraints.
func TestRuntimeClassAPI(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const rcs = "/apis/node.k8s.io/v1/runtimeclasses"
	a.must(201, "POST", rcs, `{"metadata": {"name": "sandboxed"}, "handler": "runsc",
		"overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}},
		"scheduling": {"nodeSelector": {"runtime": "gvisor"},
			"tolerations": [{"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"}]}}`)

	pod := a.must(201, "POST", "/api/v1/namespaces/default/pods", `{"metadata": {"name": "p"}, "spec": {
		"runtimeClassName": "sandboxed", "nodeSelector": {"disk": "ssd"},
		"containers": [{"name": "c", "image": "busybox"}]}}`)
	if get(pod, "spec", "overhead", "cpu") != "250m" || get(pod, "spec", "overhead", "memory") != "120Mi" {
		t.Errorf("spec.overhead = %v, want the class's", get(pod, "spec", "overhead"))
	}
	if sel := get(pod, "spec", "nodeSelector"); get(pod, "spec", "nodeSelector", "runtime") != "gvisor" || get(pod, "spec", "nodeSelector", "disk") != "ssd" {
		t.Errorf("spec.nodeSelector = %v, want the pod's and the class's", sel)
	}
	if tols := mustJSON(t, get(pod, "spec", "tolerations")); !strings.Contains(tols, `"key":"sandbox"`) {
		t.Errorf("spec.tolerations = %s, want the class's added", tols)
	}

	st := a.must(403, "POST", "/api/v1/namespaces/default/pods", `{"metadata": {"name": "q"}, "spec": {
		"runtimeClassName": "nope", "containers": [{"name": "c", "image": "busybox"}]}}`)
	if st["message"] != `pods "q" is forbidden: pod rejected: RuntimeClass "nope" not found` {
		t.Errorf("unknown class: %v", st["message"])
	}

	rc := a.must(200, "GET", rcs+"/sandboxed", "")
	rc["handler"] = "runc"
	st = a.must(422, "PUT", rcs+"/sandboxed", mustJSON(t, rc))
	if !strings.Contains(mustJSON(t, st), `"field":"handler"`) || !strings.Contains(mustJSON(t, st), "field is immutable") {
		t.Errorf("changing the handler: %v", st)
	}
	st = a.must(422, "POST", rcs, `{"metadata": {"name": "bad"}, "handler": "Not_A_Label"}`)
	if !strings.Contains(mustJSON(t, st), `"field":"handler"`) {
		t.Errorf("a bad handler: %v", st)
	}

	tbl := a.tableOf(rcs)
	for _, want := range []string{`"name":"Handler"`, `"cells":["sandboxed","runsc",`} {
		if !strings.Contains(tbl, want) {
			t.Errorf("table lacks %s: %s", want, tbl)
		}
	}
}
