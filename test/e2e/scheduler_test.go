package e2e

// End-to-end tests of skiff-scheduler: the real binaries, Node objects created with kubectl (no
// node agents: the scheduler only needs the Node objects), pods applied with kubectl, and the
// answers read back the way a user reads them (get -o wide, describe).

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

const schedNodes = `
apiVersion: v1
kind: Node
metadata:
  name: sched-a
  labels: {kubernetes.io/hostname: sched-a, topology.kubernetes.io/zone: zone-a, disk: ssd, e2e: sched}
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata:
  name: sched-b
  labels: {kubernetes.io/hostname: sched-b, topology.kubernetes.io/zone: zone-b, e2e: sched}
spec:
  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata:
  name: sched-c
  labels: {kubernetes.io/hostname: sched-c, topology.kubernetes.io/zone: zone-b, e2e: sched}
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
`

// Every pod selects e2e=sched, so that nodes other tests or `skiff up` add do not interfere.
const schedPods = `
apiVersion: v1
kind: Pod
metadata: {name: on-ssd}
spec:
  nodeSelector: {e2e: sched, disk: ssd}
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: gpu-job}
spec:
  nodeSelector: {e2e: sched}
  tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: topology.kubernetes.io/zone, operator: In, values: [zone-b]}]
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        preference:
          matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [sched-b]}]
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, labels: {app: web}}
spec:
  nodeSelector: {e2e: sched}
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKey: topology.kubernetes.io/zone
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 100m}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: too-big}
spec:
  nodeSelector: {e2e: sched}
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: "3"}}}]
`

// The second web pod, applied once the first is placed: anti-affinity keeps it out of that zone.
const schedWeb2 = `
apiVersion: v1
kind: Pod
metadata: {name: web-2, labels: {app: web}}
spec:
  nodeSelector: {e2e: sched}
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - labelSelector: {matchLabels: {app: web}}
        topologyKey: topology.kubernetes.io/zone
  containers: [{name: c, image: busybox:1.36, resources: {requests: {cpu: 100m}}}]
`

// schedProc is a skiff-scheduler process started by these tests.
type schedProc struct {
	cmd     *exec.Cmd
	metrics string // base URL of its metrics server
	logPath string
	done    chan struct{}
}

func startSchedulerProc(t *testing.T, c *harness.Cluster, args ...string) *schedProc {
	t.Helper()
	port := harness.FreePort(t)
	p := &schedProc{metrics: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}),
		logPath: filepath.Join(c.DataDir, fmt.Sprintf("e2e-scheduler-%d.log", port))}
	f, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--kubeconfig", c.Kubeconfig, "--metrics-addr", "127.0.0.1:" + strconv.Itoa(port)}, args...)
	p.cmd = exec.Command(filepath.Join(harness.Binaries(t), "skiff-scheduler"), args...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	harness.Eventually(t, 30*time.Second, "scheduler ready", func() (bool, string) {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.logPath)
			t.Fatalf("skiff-scheduler exited:\n%s", b)
		default:
		}
		code, body := p.get("/readyz")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	return p
}

func (p *schedProc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *schedProc) get(path string) (int, string) {
	resp, err := http.Get(p.metrics + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// leading reads the scheduler's leader_election_master_status gauge.
func (p *schedProc) leading() bool {
	_, body := p.get("/metrics")
	return regexp.MustCompile(`(?m)^leader_election_master_status\{[^}]*\} 1$`).MatchString(body)
}

// ensureScheduler starts a skiff-scheduler unless `skiff up` runs one (its Lease is held).
// Two would be harmless: they compete for the same Lease and one schedules.
func ensureScheduler(t *testing.T, c *harness.Cluster) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		out, _, err := c.Kubectl.Exec([]string{"get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}"}, "")
		if err == nil && strings.TrimSpace(out) != "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	startSchedulerProc(t, c)
}

// nodesOfPods reads NAME and NODE from `kubectl get pods -o wide`.
func nodesOfPods(t *testing.T, k *harness.Kubectl) (map[string]string, string) {
	t.Helper()
	out := k.Run(t, "get", "pods", "-o", "wide")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("get pods -o wide:\n%s", out)
	}
	col := strings.Index(lines[0], "NODE ")
	got := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 || col < 0 || col >= len(l) {
			continue
		}
		got[f[0]] = strings.Fields(l[col:])[0]
	}
	return got, out
}

func TestSchedulerWithKubectl(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	k := c.Kubectl
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	k.Run(t, "apply", "-f", write("nodes.yaml", schedNodes))
	ensureScheduler(t, c)
	k.Run(t, "apply", "-f", write("pods.yaml", schedPods))

	placed := func(want map[string]string) string {
		t.Helper()
		var table string
		harness.Eventually(t, 60*time.Second, fmt.Sprintf("pods placed as %v", want), func() (bool, string) {
			var got map[string]string
			got, table = nodesOfPods(t, k)
			for pod, node := range want {
				if got[pod] != node {
					return false, table
				}
			}
			return true, ""
		})
		return table
	}
	placed(map[string]string{"on-ssd": "sched-a", "gpu-job": "sched-b"})
	firstWeb, _ := nodesOfPods(t, k)
	harness.Eventually(t, 60*time.Second, "web-1 placed", func() (bool, string) {
		firstWeb, _ = nodesOfPods(t, k)
		return firstWeb["web-1"] != "<none>" && firstWeb["web-1"] != "", fmt.Sprint(firstWeb)
	})
	k.Run(t, "apply", "-f", write("web2.yaml", schedWeb2))
	// web-2 must go to the other zone; zone-b's only untainted node is sched-c.
	other := map[string]string{"sched-a": "sched-c", "sched-c": "sched-a"}[firstWeb["web-1"]]
	if other == "" {
		t.Fatalf("web-1 landed on %q, not on an untainted node", firstWeb["web-1"])
	}
	table := placed(map[string]string{"web-2": other})
	if got, _ := nodesOfPods(t, k); got["too-big"] != "<none>" {
		t.Fatalf("too-big was placed:\n%s", table)
	}

	// Why too-big waits, as kubectl describe shows it.
	// sched-b is tainted, the other two are too small; nodes outside the test would add a
	// "didn't match Pod's node affinity/selector" count.
	wantMsg := regexp.MustCompile(`0/\d+ nodes are available: .*1 node\(s\) had untolerated taint \{dedicated: gpu\}, 2 Insufficient cpu\. ` +
		`preemption: 0/\d+ nodes are available: \d+ Preemption is not helpful for scheduling\.`)
	harness.Eventually(t, 30*time.Second, "describe shows FailedScheduling", func() (bool, string) {
		out := k.Run(t, "describe", "pod", "too-big")
		ok := strings.Contains(out, "FailedScheduling") && strings.Contains(out, "default-scheduler") &&
			wantMsg.MatchString(out) && strings.Contains(out, "PodScheduled") && strings.Contains(out, "Warning")
		return ok, out
	})
	reason := k.Run(t, "get", "pod", "too-big", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}`)
	if strings.TrimSpace(reason) != "Unschedulable" {
		t.Fatalf("PodScheduled reason %q, want Unschedulable", reason)
	}
	events := k.Run(t, "get", "events", "--field-selector", "involvedObject.name=on-ssd")
	if !strings.Contains(events, "Scheduled") || !strings.Contains(events, "Successfully assigned default/on-ssd to sched-a") {
		t.Fatalf("events of on-ssd:\n%s", events)
	}
}

func TestSchedulerLeaderHandover(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	k := c.Kubectl
	dir := t.TempDir()
	// A profile and a Lease of their own, so that only these two schedulers are involved.
	cfg := filepath.Join(dir, "ha.yaml")
	if err := os.WriteFile(cfg, []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: e2e-ha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfg, "--lock-name", "e2e-ha", "--leader-elect-lease-duration", "3s",
		"--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "500ms"}
	a, b := startSchedulerProc(t, c, args...), startSchedulerProc(t, c, args...)
	var leader, follower *schedProc
	harness.Eventually(t, 30*time.Second, "one leader", func() (bool, string) {
		la, lb := a.leading(), b.leading()
		switch {
		case la && !lb:
			leader, follower = a, b
		case lb && !la:
			leader, follower = b, a
		default:
			return false, fmt.Sprintf("a leading=%v b leading=%v", la, lb)
		}
		return true, ""
	})
	k.RunStdin(t, `{"apiVersion":"v1","kind":"Node","metadata":{"name":"ha-node","labels":{"e2e":"ha"}},
"status":{"allocatable":{"cpu":"8","memory":"16Gi","pods":"110"},"capacity":{"cpu":"8","memory":"16Gi","pods":"110"}}}`, "apply", "-f", "-")
	pod := func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":%q},"spec":{"schedulerName":"e2e-ha","nodeSelector":{"e2e":"ha"},"containers":[{"name":"c","image":"busybox"}]}}`, name)
	}
	bound := func(name string) {
		t.Helper()
		harness.Eventually(t, 60*time.Second, name+" bound", func() (bool, string) {
			out, _, _ := k.Exec([]string{"get", "pod", name, "-o", "jsonpath={.spec.nodeName}"}, "")
			return strings.TrimSpace(out) == "ha-node", out
		})
	}
	k.RunStdin(t, pod("ha-1"), "apply", "-f", "-")
	bound("ha-1")
	leader.kill() // SIGKILL: no release, the follower must wait the lease out
	k.RunStdin(t, pod("ha-2"), "apply", "-f", "-")
	bound("ha-2")
	if !follower.leading() {
		t.Fatal("ha-2 was bound but the follower does not report leading")
	}
	for _, name := range []string{"ha-1", "ha-2"} {
		out := k.Run(t, "get", "events", "--field-selector", "involvedObject.name="+name+",reason=Scheduled", "-o", "jsonpath={range .items[*]}{.count}{\"\\n\"}{end}")
		if strings.TrimSpace(out) != "1" {
			t.Errorf("%s: Scheduled event counts %q, want a single event of count 1", name, out)
		}
	}
}
