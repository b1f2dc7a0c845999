package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// Static pods on a containerd node, seen with the real kubectl: a manifest in the agent's
// --pod-manifest-path runs as <name>-<node>, shown by a mirror pod (annotations, owned by
// the Node) that cannot be turned into a regular pod, comes back when deleted (the pod
// keeps running), follows edits of the manifest and goes with it.
func TestStaticPodsContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-static"
	manifests := t.TempDir()
	startAgent(t, api, node, "10.244.33.0/24", "--pod-manifest-path", manifests)
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	write := func(msg string) {
		t.Helper()
		m := `apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system, labels: {tier: control-plane}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: ` + busyboxImage + `, command: ["sh", "-c", "echo ` + msg + `; exec sleep 3600"]}
`
		// Written whole and renamed in, as editors and installers do.
		tmp := filepath.Join(manifests, ".web.yaml.tmp")
		if err := os.WriteFile(tmp, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(manifests, "web.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	jp := func(path string) string {
		out, _, _ := k.Exec([]string{"get", "pod", "-n", "kube-system", "web-" + node, "-o", "jsonpath=" + path}, "")
		return out
	}
	write("first")
	const running = `{.metadata.uid} {.status.phase} {.status.containerStatuses[0].ready}`
	var uid, hash string
	harness.Eventually(t, 90*time.Second, "mirror pod Running", func() (bool, string) {
		f := strings.Fields(jp(running))
		if len(f) == 3 && f[1] == "Running" && f[2] == "true" {
			uid = f[0]
			return true, ""
		}
		return false, strings.Join(f, " ")
	})
	hash = jp(`{.metadata.annotations.kubernetes\.io/config\.mirror}`)
	if got := jp(`{.metadata.annotations.kubernetes\.io/config\.hash} {.metadata.annotations.kubernetes\.io/config\.source} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.spec.nodeName}`); hash == "" ||
		got != hash+" file Node/"+node+" "+node {
		t.Errorf("mirror metadata %q (mirror hash %q)", got, hash)
	}
	if out := k.Run(t, "logs", "-n", "kube-system", "web-"+node); out != "first\n" {
		t.Errorf("logs %q", out)
	}
	containerID := jp(`{.status.containerStatuses[0].containerID}`)

	// Read-only: the mirror annotation cannot be changed.
	_, errOut, err := k.Exec([]string{"annotate", "pod", "-n", "kube-system", "web-" + node, "kubernetes.io/config.mirror=forged", "--overwrite"}, "")
	if err == nil || !strings.Contains(errOut, "may not remove or update mirror pod annotation") {
		t.Errorf("changing the mirror annotation: %v %s", err, errOut)
	}
	// Nor can a debug container be added to it.
	_, errOut, err = k.Exec([]string{"debug", "-n", "kube-system", "web-" + node, "--image=" + busyboxImage, "-c", "dbg", "--", "true"}, "")
	if err == nil || !strings.Contains(errOut, "static pods do not support ephemeral containers") {
		t.Errorf("debugging a static pod: %v %s", err, errOut)
	}

	// Deleted: the mirror comes back; the pod itself was not restarted.
	k.Run(t, "delete", "pod", "-n", "kube-system", "web-"+node, "--wait=false")
	harness.Eventually(t, 60*time.Second, "mirror pod recreated", func() (bool, string) {
		f := strings.Fields(jp(running))
		return len(f) == 3 && f[0] != uid && f[1] == "Running" && f[2] == "true", strings.Join(f, " ")
	})
	if got := jp(`{.status.containerStatuses[0].containerID}`); got != containerID {
		t.Errorf("container %s became %s: the static pod was restarted", containerID, got)
	}

	// Edited: a new pod (new hash) runs the new manifest.
	write("second")
	harness.Eventually(t, 90*time.Second, "edited static pod running", func() (bool, string) {
		h := jp(`{.metadata.annotations.kubernetes\.io/config\.mirror}`)
		out, _, _ := k.Exec([]string{"logs", "-n", "kube-system", "web-" + node}, "")
		return h != "" && h != hash && out == "second\n", h + " " + out
	})

	// Removed: the pod and its mirror go.
	if err := os.Remove(filepath.Join(manifests, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "mirror pod gone", func() (bool, string) {
		out, errOut, _ := k.Exec([]string{"get", "pods", "-n", "kube-system", "-o", "name"}, "")
		return strings.TrimSpace(out) == "", out + errOut
	})
}
