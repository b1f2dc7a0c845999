package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

const inClusterImage = "skiff.test/inclusterlist:1"

// A program in a pod talks to the API server as its ServiceAccount, as client-go's
// rest.InClusterConfig does: the ServiceAccount admission plugin mounts the token, the
// cluster CA (kube-root-ca.crt, from the root CA publisher) and the namespace; the node agent
// fills the token through TokenRequest; the pod finds the API server at
// $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (the kubernetes Service, through the
// proxy) and verifies its certificate for 10.96.0.1. RBAC decides: 403 without a binding,
// the pod list with `kubectl create rolebinding --clusterrole view`.
func TestServiceAccountInCluster(t *testing.T) {
	needContainerd(t)
	c := harness.Up(t, "", "--nodes", "1")
	k := c.Kubectl
	importInClusterImage(t, c)

	k.Run(t, "create", "serviceaccount", "lister")
	pod := func(name string, args ...string) string {
		quoted, _ := json.Marshal(args)
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  serviceAccountName: lister
  restartPolicy: Never
  containers:
  - {name: list, image: %s, args: %s}
`, name, inClusterImage, quoted)
	}
	// run starts the pod and returns the one line it prints.
	run := func(t *testing.T, name string, args ...string) string {
		t.Helper()
		k.RunStdin(t, pod(name, args...), "apply", "-f", "-")
		p := waitPod(t, k, name, "finished", func(p *podJSON) bool {
			return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed"
		})
		logs := strings.TrimSpace(k.Run(t, "logs", name))
		if p.Status.Phase != "Succeeded" {
			b, _ := json.Marshal(p.Status)
			t.Fatalf("%s failed: %s\nlogs: %s", name, b, logs)
		}
		return logs
	}

	t.Run("the pod gets the ServiceAccount volume and the cluster CA", func(t *testing.T) {
		k.RunStdin(t, pod("denied"), "apply", "-f", "-")
		vols := k.Run(t, "get", "pod", "denied", "-o", `jsonpath={.spec.volumes[*].name} {.spec.containers[0].volumeMounts[*].mountPath}`)
		if !strings.HasPrefix(vols, "kube-api-access-") || !strings.HasSuffix(vols, " /var/run/secrets/kubernetes.io/serviceaccount") {
			t.Errorf("volumes and mounts: %q", vols)
		}
		ca, err := os.ReadFile(filepath.Join(c.DataDir, "pki", "ca.crt"))
		if err != nil {
			t.Fatal(err)
		}
		harness.Eventually(t, 30*time.Second, "kube-root-ca.crt in default", func() (bool, string) {
			got, _, _ := k.Exec([]string{"get", "configmap", "kube-root-ca.crt", "-o", `jsonpath={.data.ca\.crt}`}, "")
			return got == string(ca), got
		})
	})

	t.Run("without a binding the API server says 403", func(t *testing.T) {
		// The program ran its request: authenticated as the ServiceAccount (not 401) over
		// TLS verified with the mounted CA, and refused by RBAC.
		waitPod(t, k, "denied", "finished", func(p *podJSON) bool {
			return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed"
		})
		if got := strings.TrimSpace(k.Run(t, "logs", "denied")); got != "status=403 pods=0" {
			t.Fatalf("denied pod printed %q, want status=403 pods=0", got)
		}
	})

	t.Run("with the view role it lists the pods", func(t *testing.T) {
		k.Run(t, "create", "rolebinding", "lister-view", "--clusterrole", "view", "--serviceaccount", "default:lister")
		// -until 200: the authorizer's RBAC index follows the binding by watch.
		got := run(t, "allowed", "-until", "200")
		var n int
		if _, err := fmt.Sscanf(got, "status=200 pods=%d", &n); err != nil || n < 2 {
			t.Fatalf("allowed pod printed %q, want status=200 and at least the two pods", got)
		}
	})
}

// importInClusterImage builds test/images/inclusterlist static and imports it on every node.
func importInClusterImage(t *testing.T, c *harness.Cluster) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "inclusterlist")
	build := exec.Command("go", "build", "-o", bin, "./test/images/inclusterlist")
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build inclusterlist: %v\n%s", err, out)
	}
	img, err := images.Static(inClusterImage, bin)
	if err != nil {
		t.Fatal(err)
	}
	arch := filepath.Join(dir, "inclusterlist.tar")
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff"), "image", "import", "--data-dir", c.DataDir, arch).CombinedOutput()
	if err != nil || !strings.Contains(string(out), inClusterImage) {
		t.Fatalf("skiff image import: %v\n%s", err, out)
	}
}

// repoRoot is the module root (this file is test/e2e/).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(filepath.Dir(wd))
}
