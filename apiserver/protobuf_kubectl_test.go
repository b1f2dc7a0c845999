package apiserver_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// TestKubectlWithProtobufResponses: the real kubectl against a server that answers protobuf
// to whoever asks. Its typed commands (create configmap, create deployment, scale, run)
// send protobuf and accept it; get, describe, apply and delete ask for JSON (and Tables);
// every one must work as before.
func TestKubectlWithProtobufResponses(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	s := harness.StartServer(t, harness.ServerOptions{})
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		return k.RunStdin(t, "", append([]string{cache}, args...)...)
	}
	if out := run("create", "configmap", "pbcm", "--from-literal=k=v"); !strings.Contains(out, "configmap/pbcm created") {
		t.Errorf("create configmap: %q", out)
	}
	if out := run("create", "deployment", "web", "--image=nginx", "--replicas=2"); !strings.Contains(out, "deployment.apps/web created") {
		t.Errorf("create deployment: %q", out)
	}
	if out := run("scale", "deployment", "web", "--replicas=4"); !strings.Contains(out, "deployment.apps/web scaled") {
		t.Errorf("scale: %q", out)
	}
	if out := run("run", "p", "--image=busybox", "--restart=Never", "--", "sleep", "1d"); !strings.Contains(out, "pod/p created") {
		t.Errorf("run: %q", out)
	}
	if out := run("get", "deployment", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"); out != "4 nginx" {
		t.Errorf("get deployment: %q", out)
	}
	if out := run("get", "configmap", "pbcm", "-o", "yaml"); !strings.Contains(out, "k: v") {
		t.Errorf("get -o yaml:\n%s", out)
	}
	if out := run("get", "pods"); !strings.Contains(out, "NAME") || !strings.Contains(out, "p ") {
		t.Errorf("get pods:\n%s", out)
	}
	if out := run("describe", "configmap", "pbcm"); !strings.Contains(out, "pbcm") {
		t.Errorf("describe:\n%s", out)
	}
	if out := run("delete", "configmap", "pbcm"); !strings.Contains(out, `configmap "pbcm" deleted`) {
		t.Errorf("delete: %q", out)
	}
	if _, stderr, err := k.Exec([]string{cache, "get", "configmap", "pbcm"}, ""); err == nil || !strings.Contains(stderr, `configmaps "pbcm" not found`) {
		t.Errorf("get deleted: %v %q", err, stderr)
	}
	if _, stderr, err := k.Exec([]string{cache, "create", "configmap", "Bad_Name"}, ""); err == nil || !strings.Contains(stderr, "is invalid") {
		t.Errorf("create invalid: %v %q", err, stderr)
	}
}
