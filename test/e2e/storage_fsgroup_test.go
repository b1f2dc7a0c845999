package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// A pod with an fsGroup, running as a non-root user on containerd, finds its claim, emptyDir
// and secret volumes owned by the group with the setgid bit (so what it writes is the
// group's too), a 0400 secret readable by the group (0440), and a claim mounted readOnly and
// a generic ephemeral volume mounted readOnly refusing writes.
func TestStorageFSGroupAndReadOnly(t *testing.T) {
	needContainerd(t)
	c := harness.Up(t, "", "--nodes", "1")
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

	k.RunStdin(t, `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: ro}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {key: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: grouped}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 1000, fsGroup: 2345, fsGroupChangePolicy: OnRootMismatch}
  containers:
  - name: c
    image: `+busyboxImage+`
    command:
    - sh
    - -c
    - |
      stat -c 'data %g %A' /data
      touch /data/f && stat -c 'data-file %g' /data/f
      stat -c 'scratch %g %A' /scratch
      stat -L -c 'secret %g %A' /secret/key
      touch /ro/x 2>/dev/null && echo ro writable || echo ro read-only
      touch /eph/x 2>/dev/null && echo eph writable || echo eph read-only
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: ro, mountPath: /ro}
    - {name: scratch, mountPath: /scratch}
    - {name: secret, mountPath: /secret}
    - {name: eph, mountPath: /eph, readOnly: true}
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: ro, persistentVolumeClaim: {claimName: ro, readOnly: true}}
  - {name: scratch, emptyDir: {}}
  - {name: secret, secret: {secretName: creds, defaultMode: 0400}}
  - name: eph
    ephemeral:
      volumeClaimTemplate:
        spec:
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 1Gi}}
`, "apply", "-f", "-")
	p := waitPod(t, k, "grouped", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed" })
	logs := k.Run(t, "logs", "grouped")
	if p.Status.Phase != "Succeeded" {
		t.Fatalf("pod %+v\n%s\n%s", p.Status, logs, k.Run(t, "describe", "pod", "grouped"))
	}
	want := []string{
		"data 2345 drwxrwsrwx",
		"data-file 2345", // made by uid 1000 (primary group 0): the setgid directory's group
		"scratch 2345 drwxrwsrwx",
		"secret 2345 -r--r-----",
		"ro read-only",
		"eph read-only",
	}
	if got := strings.Split(strings.TrimSpace(logs), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("inside the pod:\n%s\nwant:\n%s", logs, strings.Join(want, "\n"))
	}
	// The node's room for local volumes is published, and is what the scheduler used.
	if caps := k.Run(t, "get", "csistoragecapacities", "-n", "kube-system", "-o",
		"jsonpath={range .items[*]}{.storageClassName}@{.nodeTopology.matchLabels.kubernetes\\.io/hostname}{\"\\n\"}{end}"); !strings.Contains(caps, "standard@"+k.Run(t, "get", "pod", "grouped", "-o", "jsonpath={.spec.nodeName}")) {
		t.Fatalf("published capacities:\n%s", caps)
	}
	// On the node's disk: the claim's directory is the group's.
	pv := k.Run(t, "get", "pvc", "data", "-o", "jsonpath={.spec.volumeName}")
	path := k.Run(t, "get", "pv", pv, "-o", "jsonpath={.spec.local.path}")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if gid := fi.Sys().(*syscall.Stat_t).Gid; gid != 2345 || fi.Mode()&os.ModeSetgid == 0 {
		t.Fatalf("%s: gid %d mode %v", path, gid, fi.Mode())
	}
}
