package e2e

import (
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

// Storage end to end on two containerd nodes with the real kubectl: a claim of the default
// class is provisioned on the node of its first pod, the next pod is scheduled to the volume
// and reads what the first wrote, a StatefulSet pod finds its data again after it is
// deleted, and deleting a claim of the Delete class removes the data from the node's disk.
func TestStorageTwoContainerdNodes(t *testing.T) {
	needContainerd(t)
	c := harness.Up(t, "", "--nodes", "2")
	k := c.Kubectl
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

	if out := k.Run(t, "get", "sc"); !strings.Contains(out, "standard (default)") || !strings.Contains(out, "skiff.dev/local") ||
		!strings.Contains(out, "WaitForFirstConsumer") {
		t.Fatalf("kubectl get sc:\n%s", out)
	}

	k.RunStdin(t, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  restartPolicy: Never
  containers:
  - {name: w, image: `+busyboxImage+`, command: ["sh", "-c", "echo written-by-writer > /data/note"], volumeMounts: [{name: d, mountPath: /data}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
`, "apply", "-f", "-")
	w := waitPod(t, k, "writer", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" })
	if w.Status.Phase != "Succeeded" {
		t.Fatalf("writer: %+v\n%s", w.Status, k.Run(t, "describe", "pod", "writer"))
	}
	pv := k.Run(t, "get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
	writerNode := k.Run(t, "get", "pod", "writer", "-o", "jsonpath={.spec.nodeName}")
	if pvNode := k.Run(t, "get", "pv", pv, "-o", "jsonpath={.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values[0]}"); pvNode != writerNode {
		t.Fatalf("volume on %q, writer ran on %q", pvNode, writerNode)
	}
	path := k.Run(t, "get", "pv", pv, "-o", "jsonpath={.spec.local.path}")
	if b, err := os.ReadFile(filepath.Join(path, "note")); err != nil || string(b) != "written-by-writer\n" {
		t.Fatalf("data on the node's disk at %s: %q %v", path, b, err)
	}

	// The next pod is not pinned: the scheduler follows the volume to the writer's node.
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - {name: r, image: `+busyboxImage+`, command: ["cat", "/data/note"], volumeMounts: [{name: d, mountPath: /data, readOnly: true}]}
  volumes:
  - {name: d, persistentVolumeClaim: {claimName: data}}
`, "apply", "-f", "-")
	r := waitPod(t, k, "reader", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" })
	if r.Status.Phase != "Succeeded" {
		t.Fatalf("reader: %+v", r.Status)
	}
	if n := k.Run(t, "get", "pod", "reader", "-o", "jsonpath={.spec.nodeName}"); n != writerNode {
		t.Fatalf("reader on %s, the volume is on %s", n, writerNode)
	}
	if logs := strings.TrimSpace(k.Run(t, "logs", "reader")); logs != "written-by-writer" {
		t.Fatalf("reader read %q", logs)
	}
	if d := k.Run(t, "describe", "pvc", "data"); !strings.Contains(d, "Used By:") || !strings.Contains(d, "reader") ||
		!strings.Contains(d, "ProvisioningSucceeded") || !strings.Contains(d, "Bound") {
		t.Fatalf("kubectl describe pvc:\n%s", d)
	}

	// Reclaim Delete: the claim goes once its pods are gone, then the volume and the data.
	k.Run(t, "delete", "pod", "writer", "reader")
	k.Run(t, "delete", "pvc", "data", "--wait=false")
	harness.Eventually(t, 90*time.Second, "volume and data gone", func() (bool, string) {
		_, _, err := k.Exec([]string{"get", "pv", pv}, "")
		_, statErr := os.Stat(path)
		return err != nil && os.IsNotExist(statErr), fmt.Sprintf("pv lookup err=%v, data: %v", err, statErr)
	})

	// A StatefulSet's pod keeps its claim, and its data, across deletion.
	k.RunStdin(t, `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: `+busyboxImage+`
        command: ["sh", "-c", "test -f /var/db/id || echo $(date +%s)-$RANDOM > /var/db/id; cat /var/db/id; exec sleep 3600"]
        volumeMounts: [{name: data, mountPath: /var/db}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
`, "apply", "-f", "-")
	waitPod(t, k, "db-0", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	var first string
	harness.Eventually(t, 30*time.Second, "db-0 wrote its id", func() (bool, string) {
		first = strings.TrimSpace(k.Run(t, "logs", "db-0"))
		return first != "", first
	})
	uid := k.Run(t, "get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}")
	k.Run(t, "delete", "pod", "db-0")
	waitPod(t, k, "db-0", "Running again", func(p *podJSON) bool { return p.Status.Phase == "Running" && p.Metadata.UID != uid })
	harness.Eventually(t, 30*time.Second, "db-0 read its id again", func() (bool, string) {
		again, _, _ := k.Exec([]string{"logs", "db-0"}, "")
		again = strings.TrimSpace(again)
		return again == first, fmt.Sprintf("first %q, now %q", first, again)
	})
	if phase := k.Run(t, "get", "pvc", "data-db-0", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
		t.Fatalf("claim data-db-0 %s", phase)
	}
}
