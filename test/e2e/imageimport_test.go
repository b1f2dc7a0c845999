package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// `skiff image import --kubeconfig KC [--node N]` on real containerd nodes: an image built
// here (no registry) goes through the API server's nodes/images to one node's agent, then to
// every node's, and pods run from it with imagePullPolicy Never and IfNotPresent; a node it
// was not loaded into says the image is not present.
func TestImageImportThroughAPIServer(t *testing.T) {
	needContainerd(t)
	c := harness.Up(t, "", "--nodes", "2", "--disable", "ingress")
	k := c.Kubectl
	nodes := strings.Fields(k.Run(t, "get", "nodes", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(nodes) != 2 {
		t.Fatalf("nodes: %v", nodes)
	}
	const image = "skiff.test/imported:1"
	arch := filepath.Join(t.TempDir(), "imported.tar")
	img, err := images.Busybox(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	skiff := filepath.Join(harness.Binaries(t), "skiff")
	importTo := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(skiff, append([]string{"image", "import", "--kubeconfig", c.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("skiff image import %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	pod := func(name, node, policy string) {
		k.RunStdin(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  nodeName: %s
  restartPolicy: Never
  containers:
  - name: c
    image: %s
    imagePullPolicy: %s
    command: ["sh", "-c", "echo ran from the imported image"]
`, name, node, image, policy), "apply", "-f", "-")
	}
	succeeded := func(name string) {
		t.Helper()
		p := waitPod(t, k, name, "finished", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" })
		if p.Status.Phase != "Succeeded" {
			t.Fatalf("%s: %s", name, p.Status.Phase)
		}
		if out := k.Run(t, "logs", name); !strings.Contains(out, "ran from the imported image") {
			t.Fatalf("%s logs: %q", name, out)
		}
	}

	if out := importTo("--node", nodes[0], arch); out != nodes[0]+": "+image+"\n" {
		t.Fatalf("--node %s: %q", nodes[0], out)
	}
	pod("never-0", nodes[0], "Never")
	succeeded("never-0")
	// The other node did not get it: Never cannot run there.
	pod("never-1", nodes[1], "Never")
	waitPod(t, k, "never-1", "ErrImageNeverPull", func(p *podJSON) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "ErrImageNeverPull"
	})

	out := importTo(arch)
	for _, n := range nodes {
		if !strings.Contains(out, n+": "+image+"\n") {
			t.Fatalf("every node: %q", out)
		}
	}
	pod("ifnotpresent-1", nodes[1], "IfNotPresent")
	succeeded("ifnotpresent-1")
}
