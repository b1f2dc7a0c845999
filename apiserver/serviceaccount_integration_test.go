package apiserver_test

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/test/harness"
)

// startWith serves a secure in-process API server configured by configure, as the
// administrator.
func startWith(t *testing.T, configure func(*apiserver.Config)) *api {
	t.Helper()
	s := harness.StartServer(t, harness.ServerOptions{Configure: configure})
	return &api{t: t, base: s.URL, hc: s.HTTPClient(t)}
}

const saPod = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "%s"},
	"spec": {%s "containers": [{"name": "c", "image": "busybox"}]}}`

func podBody(name, extra string) string {
	return strings.Replace(strings.Replace(saPod, "%s", name, 1), "%s", extra, 1)
}

// The ServiceAccount admission plugin through the REST path: refused without the account
// (Kubernetes' message), defaulted and mounted with it, left alone when it opts out.
func TestServiceAccountAdmission(t *testing.T) {
	a := startWith(t, func(c *apiserver.Config) { c.DisableAdmissionPlugins = nil })
	const pods = "/api/v1/namespaces/default/pods"

	code, st := a.do("POST", pods, "", []byte(podBody("early", "")))
	if code != 403 || st["message"] != `pods "early" is forbidden: error looking up service account default/default: serviceaccount "default" not found` {
		t.Fatalf("without the account: %d %v", code, st["message"])
	}

	a.must(201, "POST", "/api/v1/namespaces/default/serviceaccounts", `{"metadata": {"name": "default"}}`)
	p := a.must(201, "POST", pods, podBody("mounted", ""))
	spec := p["spec"].(map[string]any)
	if spec["serviceAccountName"] != "default" || spec["serviceAccount"] != "default" {
		t.Errorf("serviceAccountName %v serviceAccount %v", spec["serviceAccountName"], spec["serviceAccount"])
	}
	vols, _ := spec["volumes"].([]any)
	if len(vols) != 1 || !strings.HasPrefix(vols[0].(map[string]any)["name"].(string), "kube-api-access-") {
		t.Fatalf("volumes %v", vols)
	}
	mounts := spec["containers"].([]any)[0].(map[string]any)["volumeMounts"].([]any)
	m := mounts[0].(map[string]any)
	if len(mounts) != 1 || m["mountPath"] != apiserver.ServiceAccountTokenMountPath || m["readOnly"] != true ||
		m["name"] != vols[0].(map[string]any)["name"] {
		t.Errorf("mounts %v", mounts)
	}

	p = a.must(201, "POST", pods, podBody("quiet", `"automountServiceAccountToken": false,`))
	if v := p["spec"].(map[string]any)["volumes"]; v != nil {
		t.Errorf("automount false still got volumes %v", v)
	}

	code, st = a.do("POST", pods, "", []byte(podBody("ghost", `"serviceAccountName": "ghost",`)))
	if code != 403 || st["message"] != `pods "ghost" is forbidden: error looking up service account default/ghost: serviceaccount "ghost" not found` {
		t.Errorf("missing named account: %d %v", code, st["message"])
	}
}

// With the plugin disabled (a bare test server) pods need no account and get no volume.
func TestServiceAccountAdmissionDisabled(t *testing.T) {
	a := startWith(t, nil) // the harness disables the plugin
	p := a.must(201, "POST", "/api/v1/namespaces/default/pods", podBody("p", ""))
	if v := p["spec"].(map[string]any)["volumes"]; v != nil {
		t.Errorf("volumes %v", v)
	}
}
