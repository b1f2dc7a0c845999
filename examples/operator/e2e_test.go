package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// The whole loop as a user runs it: `skiff up` (real processes, simulated node), the
// operator built and run as its own process on the host, everything else with the real
// kubectl. The API server reaches the operator's webhook server by URL on the host
// (https://127.0.0.1:PORT), its certificate issued by the cluster CA.
func TestOperatorEndToEndWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed (scripts/install-deps.sh installs it)")
	}
	c := harness.Up(t, "", "--runtime", "sim", "--nodes", "1")
	k := c.Kubectl

	bin := filepath.Join(t.TempDir(), "operator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build the operator: %v\n%s", err, out)
	}
	d, err := pki.OpenDir(filepath.Join(c.DataDir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	certDir := webhookCert(t, d)
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "operator.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	op := exec.Command(bin, "--kubeconfig", c.Kubeconfig, "--webhook-cert-dir", certDir, "--webhook-port", strconv.Itoa(port))
	op.Stdout, op.Stderr = logf, logf
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		op.Process.Signal(os.Interrupt)
		op.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("operator log:\n%s", b)
		}
	})

	k.Run(t, "apply", "-f", "config/crd/websites.yaml")
	k.Run(t, "wait", "--for", "condition=Established", "--timeout", "60s", "crd/websites.example.skiff.sh")
	hooks, err := os.ReadFile("config/webhook/webhooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.NewReplacer("WEBHOOK_URL", "https://127.0.0.1:"+strconv.Itoa(port),
		"CA_BUNDLE", base64.StdEncoding.EncodeToString(d.CA.CertPEM)).Replace(string(hooks))
	k.RunStdin(t, manifest, "apply", "-f", "-")

	// Apply a Website: the webhook defaults it, the operator makes a Deployment and a
	// Service, the pod runs on the simulated node, the status says Available.
	site := "apiVersion: example.skiff.sh/v1\nkind: Website\nmetadata: {name: blog}\nspec: {image: nginx:1.27}\n"
	harness.Eventually(t, 60*time.Second, "the Website applied (operator's webhook server up)", func() (bool, string) {
		out, errOut, err := k.Exec([]string{"apply", "-f", "-"}, site)
		return err == nil, out + errOut
	})
	if got := k.Run(t, "get", "website", "blog", "-o", "jsonpath={.spec.replicas} {.spec.port}"); got != "1 8080" {
		t.Errorf("defaulted spec: %q, want \"1 8080\"", got)
	}
	harness.Eventually(t, 90*time.Second, "deployment/blog and service/blog owned by the Website", func() (bool, string) {
		out, errOut, err := k.Exec([]string{"get", "deployment/blog", "service/blog", "-o", "jsonpath={range .items[*]}{.kind}:{.metadata.ownerReferences[0].kind} {end}"}, "")
		return err == nil && strings.TrimSpace(out) == "Deployment:Website Service:Website", out + errOut
	})
	harness.Eventually(t, 90*time.Second, "the Website Available", func() (bool, string) {
		out, errOut, _ := k.Exec([]string{"get", "website", "blog", "-o", `jsonpath={.status.conditions[?(@.type=="Available")].status} {.status.availableReplicas}`}, "")
		return out == "True 1", out + errOut
	})
	if out := k.Run(t, "get", "ws"); !strings.Contains(out, "nginx:1.27") {
		t.Errorf("kubectl get ws (printer columns):\n%s", out)
	}

	// An invalid Website is refused by the validating webhook, with its messages (the
	// schema has none of these rules). kubectl prints a 422's causes rather than its
	// message ("admission webhook ... denied the request: ..."), as against Kubernetes;
	// TestOperatorAgainstSkifftest checks the message.
	_, errOut, err := k.Exec([]string{"apply", "-f", "-"}, "apiVersion: example.skiff.sh/v1\nkind: Website\nmetadata: {name: bad}\nspec: {port: 70000, replicas: 50}\n")
	for _, want := range []string{`The Website "bad" is invalid`, "spec.image: Required value: a website needs an image to serve it",
		"spec.port: Invalid value: 70000: must be between 1 and 65535", "spec.replicas: Invalid value: 50: must be between 0 and 10"} {
		if err == nil || !strings.Contains(errOut, want) {
			t.Errorf("kubectl apply of an invalid Website: %v: %s; want %q", err, errOut, want)
		}
	}

	// Deleting the Website garbage-collects the Deployment, its ReplicaSet and pod, and the Service.
	k.Run(t, "delete", "website", "blog")
	harness.Eventually(t, 2*time.Minute, "what the Website owned garbage-collected", func() (bool, string) {
		out, errOut, err := k.Exec([]string{"get", "deployments,replicasets,services,pods", "-l", "app.kubernetes.io/instance=blog", "-o", "name"}, "")
		svc, _, svcErr := k.Exec([]string{"get", "service", "blog", "-o", "name", "--ignore-not-found"}, "")
		return err == nil && svcErr == nil && strings.TrimSpace(out) == "" && strings.TrimSpace(svc) == "", out + svc + errOut
	})
}
