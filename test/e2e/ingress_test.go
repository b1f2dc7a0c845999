package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/ingress/certgen"
	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// Ingress end to end, as a user does it: `skiff up --nodes 2` (each node runs
// skiff-ingress on ports 80 and 443 of its address), a web Deployment with a pod on each
// node, `kubectl create ingress` and `kubectl create secret tls`, then curl from the host
// through each node's address reaching the pods on both nodes, over HTTP and HTTPS.
func TestIngressTwoContainerdNodes(t *testing.T) {
	needContainerd(t)
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	// A data directory of our own, removed once the cluster's last process is gone (stopping
	// two containerd nodes can outlast harness.Up's 60 s wait on a loaded machine; the
	// janitor then finishes the cleanup, and a t.TempDir removed under it fails the test).
	dataDir, err := os.MkdirTemp("", "skiff-e2e-ingress-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(3 * time.Minute)
		for len(processesMentioning(dataDir)) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Second)
		}
		if left := processesMentioning(dataDir); len(left) > 0 {
			t.Logf("processes of the cluster still running after 3m; leaving %s:\n%s", dataDir, strings.Join(left, "\n"))
			return
		}
		os.RemoveAll(dataDir)
	})
	c := harness.Up(t, dataDir, "--nodes", "2")
	k := c.Kubectl
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range []string{"node-1", "node-2"} {
				b, _ := os.ReadFile(filepath.Join(c.DataDir, "logs", "skiff-ingress-"+n+".log"))
				t.Logf("skiff-ingress-%s log:\n%s", n, tail(string(b), 4000))
			}
		}
	})

	arch := filepath.Join(t.TempDir(), "busybox.tar")
	img, err := images.Busybox(busyboxImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff"), "image", "import", "--data-dir", c.DataDir, arch).CombinedOutput(); err != nil {
		t.Fatalf("skiff image import: %v\n%s", err, out)
	}
	k.RunStdin(t, twoNodeApp, "apply", "-f", "-")
	k.Run(t, "rollout", "status", "deploy/web", "--timeout=120s")
	pods := podsByNode(t, k, "app=web")
	if len(pods) != 2 {
		t.Fatalf("want one web pod on each node, got %v", pods)
	}
	nodeIPs := strings.Fields(k.Run(t, "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address} {end}`))
	slices.Sort(nodeIPs)

	// The default class is there, and an Ingress naming none gets it.
	if out := k.Run(t, "get", "ingressclass"); !strings.Contains(out, "skiff") || !strings.Contains(out, "skiff.dev/ingress") {
		t.Fatalf("kubectl get ingressclass:\n%s", out)
	}
	crt, key, err := certgen.SelfSigned("secure.example.com")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crtFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(crtFile, crt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	k.Run(t, "create", "secret", "tls", "web-tls", "--cert", crtFile, "--key", keyFile)
	k.Run(t, "create", "ingress", "web", "--rule", "web.example.com/*=web:80", "--rule", "secure.example.com/*=web:80,tls=web-tls")

	// curl through a node's address, the name resolved to it as DNS would.
	get := func(scheme, host, ip string) (string, error) {
		port := map[string]string{"http": "80", "https": "443"}[scheme]
		out, err := exec.Command(curl, "-sS", "--max-time", "5", "--noproxy", "*", "--fail-with-body",
			"--cacert", crtFile, "--resolve", host+":"+port+":"+ip, scheme+"://"+host+"/").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	for _, ip := range nodeIPs {
		for _, tc := range []struct{ scheme, host string }{{"http", "web.example.com"}, {"https", "secure.example.com"}} {
			// Both pods answer through every node (round-robin over both, one on each node).
			harness.Eventually(t, 60*time.Second, fmt.Sprintf("%s://%s through node %s to reach both pods", tc.scheme, tc.host, ip), func() (bool, string) {
				seen := map[string]bool{}
				var last string
				for range 6 {
					body, err := get(tc.scheme, tc.host, ip)
					if err != nil {
						return false, fmt.Sprint(body, err)
					}
					seen[body], last = true, body
				}
				return len(seen) == 2, last
			})
		}
	}
	// No rule for the host: 404 from the controller.
	if out, err := get("http", "nothing.example.com", nodeIPs[0]); err == nil || !strings.Contains(out, "404") {
		t.Errorf("unknown host: %v %s", err, out)
	}

	harness.Eventually(t, 30*time.Second, "kubectl get ingress to show the class, hosts, both node addresses and ports", func() (bool, string) {
		out := k.Run(t, "get", "ingress", "web")
		want := []string{"NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "skiff", "web.example.com,secure.example.com", strings.Join(nodeIPs, ","), "80, 443"}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return false, out
			}
		}
		return true, ""
	})
}
