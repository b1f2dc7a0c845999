package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// Node-pressure eviction on a containerd node, safe on a shared machine: the node's
// --system-reserved leaves its pods 400Mi (whatever the machine has free), and the hard
// memory.available<100Mi threshold then also applies to the pods' share
// (allocatableMemory.available, which counts only this node's pods — other programs on the
// machine do not move it). A pod writing 360Mi into two memory-backed emptyDirs (each tmpfs
// is at most the node's allocatable memory, 300Mi, as the kubelet sizes them) leaves its
// node less than 100Mi: the node reports MemoryPressure, evicts that pod — Failed, Evicted,
// with the kubelet's message — and not the quiet pod within its request.
func TestNodePressureEvictionContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-evict"
	reserved := memTotal(t) - 400<<20
	startAgent(t, api, node, "10.244.34.0/24", "--system-reserved", fmt.Sprintf("memory=%d", reserved),
		"--eviction-hard", "memory.available<100Mi", "--stats-interval", "1s", "--eviction-pressure-transition-period", "30s")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: quiet, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  containers:
  - {name: quiet, image: `+busyboxImage+`, command: ["sleep", "3600"], resources: {requests: {memory: 10Mi}}}
`, "apply", "-f", "-")
	harness.Eventually(t, 90*time.Second, "quiet Running", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "pod", "quiet", "-o", "jsonpath={.status.phase}"}, "")
		return out == "Running", out
	})
	if out := k.Run(t, "get", "node", node, "-o", "jsonpath={.status.allocatable.memory}"); out != "300Mi" {
		t.Errorf("allocatable memory %q, want 300Mi (400Mi left by --system-reserved, less the 100Mi threshold)", out)
	}
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: hog, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  volumes:
  - {name: a, emptyDir: {medium: Memory}}
  - {name: b, emptyDir: {medium: Memory}}
  containers:
  - name: hog
    image: `+busyboxImage+`
    command: ["sh", "-c", "dd if=/dev/zero of=/a/fill bs=1M count=180 && dd if=/dev/zero of=/b/fill bs=1M count=180 && exec sleep 3600"]
    resources: {requests: {memory: 10Mi}}
    volumeMounts: [{name: a, mountPath: /a}, {name: b, mountPath: /b}]
`, "apply", "-f", "-")
	var msg string
	harness.Eventually(t, 120*time.Second, "hog evicted", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "pod", "hog", "-o", "jsonpath={.status.phase}|{.status.reason}|{.status.message}"}, "")
		f := strings.SplitN(out, "|", 3)
		if len(f) == 3 && f[0] == "Failed" {
			msg = f[2]
			return f[1] == "Evicted", out
		}
		return false, out
	})
	if !strings.HasPrefix(msg, "The node was low on resource: memory. Threshold quantity: 100Mi, available: ") ||
		!strings.Contains(msg, "Container hog was using ") || !strings.HasSuffix(msg, ", request is 10Mi, has larger consumption of memory. ") {
		t.Errorf("eviction message %q", msg)
	}
	if out := k.Run(t, "get", "pod", "hog", "-o", `jsonpath={.status.conditions[?(@.type=="DisruptionTarget")].reason}`); out != "TerminationByKubelet" {
		t.Errorf("DisruptionTarget reason %q", out)
	}
	// The condition holds for the transition period (30s) after the pressure.
	if out := k.Run(t, "get", "node", node, "-o", `jsonpath={.status.conditions[?(@.type=="MemoryPressure")].status} {.status.conditions[?(@.type=="MemoryPressure")].reason}`); out != "True KubeletHasInsufficientMemory" {
		t.Errorf("MemoryPressure %q", out)
	}
	harness.Eventually(t, 30*time.Second, "events", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "events", "-o", "jsonpath={range .items[*]}{.involvedObject.name}/{.reason};{end}"}, "")
		return strings.Contains(out, "hog/Evicted;") && strings.Contains(out, node+"/EvictionThresholdMet;"), out
	})
	if out := k.Run(t, "get", "pod", "quiet", "-o", "jsonpath={.status.phase}"); out != "Running" {
		t.Errorf("the pod within its request: %q", out)
	}
	k.Run(t, "delete", "pod", "hog", "quiet", "--wait=false")
}

// Local storage limits on a containerd node, as the kubelet enforces them: a pod writing
// past its emptyDir's sizeLimit, one writing past its container's ephemeral-storage limit
// into its root filesystem (the writable layer) though within the pod's total, and one past
// the pod's total, are evicted with the kubelet's messages; a pod within its limits runs on, and its memory-backed emptyDir is a tmpfs the
// size of the pod's memory limit.
func TestLocalStorageLimitsContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-storage-limits"
	startAgent(t, api, node, "10.244.35.0/24", "--stats-interval", "1s")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: dir, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  volumes: [{name: scratch, emptyDir: {sizeLimit: 10Mi}}]
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=30 && exec sleep 3600"], volumeMounts: [{name: scratch, mountPath: /scratch}]}
---
apiVersion: v1
kind: Pod
metadata: {name: layer, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  containers:
  - {name: writer, image: `+busyboxImage+`, command: ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=30 && exec sleep 3600"], resources: {limits: {ephemeral-storage: 20Mi}}}
  - {name: idle, image: `+busyboxImage+`, command: ["sleep", "3600"], resources: {limits: {ephemeral-storage: 100Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: total, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=30 && exec sleep 3600"], resources: {limits: {ephemeral-storage: 20Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: fine, namespace: default}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  volumes: [{name: scratch, emptyDir: {sizeLimit: 100Mi}}, {name: mem, emptyDir: {medium: Memory}}]
  containers:
  - name: c
    image: `+busyboxImage+`
    command: ["sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=5 && dd if=/dev/zero of=/fill bs=1M count=5 && df -k /mem | tail -1 && exec sleep 3600"]
    resources: {limits: {ephemeral-storage: 50Mi, memory: 64Mi}}
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: mem, mountPath: /mem}]
`, "apply", "-f", "-")
	want := map[string]string{
		"dir":   `Usage of EmptyDir volume "scratch" exceeds the limit "10Mi". `,
		"layer": `Container writer exceeded its local ephemeral storage limit "20Mi". `,
		"total": `Pod ephemeral local storage usage exceeds the total limit of containers 20Mi. `,
	}
	for name, msg := range want {
		harness.Eventually(t, 120*time.Second, name+" evicted", func() (bool, string) {
			out, _, _ := k.Exec([]string{"get", "pod", name, "-o", "jsonpath={.status.phase}|{.status.reason}|{.status.message}"}, "")
			return out == "Failed|Evicted|"+msg, out
		})
	}
	harness.Eventually(t, 60*time.Second, "fine running, its tmpfs sized", func() (bool, string) {
		out, _, _ := k.Exec([]string{"logs", "fine"}, "")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "tmpfs" {
				return f[1] == "65536", out // 1K-blocks: the pod's 64Mi memory limit
			}
		}
		return false, out
	})
	// Every round that evicted the others measured it too: the pod within its limits stays.
	if out := k.Run(t, "get", "pod", "fine", "-o", "jsonpath={.status.phase}"); out != "Running" {
		t.Errorf("the pod within its limits: %q", out)
	}
	k.Run(t, "delete", "pod", "dir", "layer", "total", "fine", "--wait=false")
}

// memTotal is the machine's memory as the node agent reads it.
func memTotal(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

// Issue 11's end of node-pressure eviction: a Deployment's pod evicted for memory pressure
// on a containerd node is replaced by its ReplicaSet, and the evicted pod stays visible
// (Failed, Evicted) beside its replacement until the pod garbage collector's threshold is
// passed, as in Kubernetes. The node is set up as in TestNodePressureEvictionContainerd; the
// pod fills its memory-backed emptyDirs only once (a marker on a hostPath), so the
// replacement runs quietly.
func TestEvictedPodReplacedByItsDeployment(t *testing.T) {
	needContainerd(t)
	dir := t.TempDir()
	api := harness.StartAPIServer(t, "--data-dir", filepath.Join(dir, "etcd"))
	startProcess(t, api.Kubeconfig, dir, "skiff-controller-manager", "--metrics-addr", "-")
	const node = "e2e-evict-deploy"
	reserved := memTotal(t) - 400<<20
	startAgent(t, api, node, "10.244.37.0/24", "--system-reserved", fmt.Sprintf("memory=%d", reserved),
		"--eviction-hard", "memory.available<100Mi", "--stats-interval", "1s", "--eviction-pressure-transition-period", "30s")
	marker := t.TempDir()
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	k.RunStdin(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: hog, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: hog}}
  template:
    metadata: {labels: {app: hog}}
    spec:
      nodeName: `+node+`
      terminationGracePeriodSeconds: 1
      volumes:
      - {name: a, emptyDir: {medium: Memory}}
      - {name: b, emptyDir: {medium: Memory}}
      - {name: marker, hostPath: {path: `+marker+`}}
      containers:
      - name: hog
        image: `+busyboxImage+`
        command: ["sh", "-c", "test -e /marker/filled && exec sleep 3600; touch /marker/filled; dd if=/dev/zero of=/a/fill bs=1M count=180 && dd if=/dev/zero of=/b/fill bs=1M count=180 && exec sleep 3600"]
        resources: {requests: {memory: 10Mi}}
        volumeMounts: [{name: a, mountPath: /a}, {name: b, mountPath: /b}, {name: marker, mountPath: /marker}]
`, "apply", "-f", "-")
	pods := func() map[string]string { // name → phase|reason|owner|deleting
		out, _, _ := k.Exec([]string{"get", "pods", "-l", "app=hog", "-o",
			`jsonpath={range .items[*]}{.metadata.name}={.status.phase}|{.status.reason}|{.metadata.ownerReferences[0].kind}|{.metadata.deletionTimestamp}{"\n"}{end}`}, "")
		m := map[string]string{}
		for _, l := range strings.Fields(out) {
			if name, v, ok := strings.Cut(l, "="); ok {
				m[name] = v
			}
		}
		return m
	}
	var evicted string
	harness.Eventually(t, 180*time.Second, "the Deployment's pod evicted", func() (bool, string) {
		for name, v := range pods() {
			if strings.HasPrefix(v, "Failed|Evicted|ReplicaSet|") {
				evicted = name
				return true, ""
			}
		}
		return false, fmt.Sprint(pods())
	})
	harness.Eventually(t, 120*time.Second, "a replacement running beside the evicted pod", func() (bool, string) {
		got := pods()
		running := 0
		for name, v := range got {
			if name != evicted && v == "Running||ReplicaSet|" {
				running++
			}
		}
		return running == 1 && strings.HasPrefix(got[evicted], "Failed|Evicted|"), fmt.Sprint(got)
	})
	harness.Eventually(t, 60*time.Second, "the Deployment available again", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "deployment", "hog", "-o", "jsonpath={.status.replicas}/{.status.availableReplicas}"}, "")
		return out == "1/1", out
	})
	// The evicted pod is still there: the pod garbage collector keeps finished pods up to
	// --terminated-pod-gc-threshold (12,500).
	if got := pods()[evicted]; !strings.HasPrefix(got, "Failed|Evicted|") {
		t.Errorf("the evicted pod %s: %q, want it kept as Failed/Evicted", evicted, got)
	}
	// kubectl lists it; its STATUS column shows its container's termination reason
	// ("Error") rather than "Evicted", as kubectl's printer does for a pod whose container
	// statuses are terminated (kubernetes#105358, #105467).
	out := k.Run(t, "get", "pods", "-l", "app=hog")
	if !strings.Contains(out, evicted) {
		t.Errorf("kubectl get pods does not list the evicted pod:\n%s", out)
	}
	t.Logf("kubectl get pods:\n%s", out)
	k.Run(t, "delete", "deployment", "hog", "--wait=false")
}
