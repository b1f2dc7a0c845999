package apiserver_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

const ssaDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 80
`

// TestServerSideApplyWithKubectl: the real kubectl applies server-side, a second manager's
// change conflicts (kubectl prints the 409), --force-conflicts takes the field,
// --show-managed-fields shows both managers, and an object made by client-side apply moves
// to server-side apply (kubectl's managedFields migration) so that a field dropped from the
// manifest is then removed.
func TestServerSideApplyWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	s := harness.StartServer(t, harness.ServerOptions{})
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	run := func(stdin string, args ...string) string {
		t.Helper()
		return k.RunStdin(t, stdin, append([]string{cache}, args...)...)
	}
	if out := run(ssaDeployment, "apply", "--server-side", "-f", "-"); !strings.Contains(out, "deployment.apps/web serverside-applied") {
		t.Fatalf("first apply: %s", out)
	}
	scaled := strings.Replace(ssaDeployment, "replicas: 2", "replicas: 5", 1)
	_, stderr, err := k.Exec([]string{cache, "apply", "--server-side", "--field-manager=scaler", "-f", "-"}, scaled)
	if err == nil || !strings.Contains(stderr, `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`) {
		t.Fatalf("conflicting apply: err %v, stderr:\n%s", err, stderr)
	}
	run(scaled, "apply", "--server-side", "--field-manager=scaler", "--force-conflicts", "-f", "-")
	if out := run("", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"); out != "5" {
		t.Fatalf("replicas after --force-conflicts: %q", out)
	}
	out := run("", "get", "deploy", "web", "-o", "yaml", "--show-managed-fields")
	for _, want := range []string{"manager: scaler", "manager: kubectl", "operation: Apply", `k:{"name":"web"}:`, `k:{"containerPort":80,"protocol":"TCP"}:`, "f:replicas: {}"} {
		if !strings.Contains(out, want) {
			t.Errorf("--show-managed-fields lacks %q:\n%s", want, out)
		}
	}

	// kubectl get all lists the built-in "all" category only: the Deployment, not ConfigMaps.
	run("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-in-all\n", "apply", "--server-side", "-f", "-")
	if out := run("", "get", "all", "-o", "name"); !strings.Contains(out, "deployment.apps/web") || strings.Contains(out, "configmap") {
		t.Errorf("kubectl get all:\n%s", out)
	}

	// Client-side apply, then server-side apply of a manifest without key b.
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"1\"\n  b: \"2\"\n"
	run(cm, "apply", "-f", "-")
	run(strings.Replace(cm, "a: \"1\"", "a: \"10\"", 1), "apply", "--server-side", "-f", "-")
	out = run("", "get", "cm", "csa", "-o", "yaml", "--show-managed-fields")
	if strings.Contains(out, "kubectl-client-side-apply") || !strings.Contains(out, "a: \"10\"") {
		t.Fatalf("after the move to server-side apply:\n%s", out)
	}
	run("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: \"10\"\n", "apply", "--server-side", "-f", "-")
	if out := run("", "get", "cm", "csa", "-o", "jsonpath={.data}"); out != `{"a":"10"}` {
		t.Fatalf("data after dropping b from the manifest: %s", out)
	}
}
