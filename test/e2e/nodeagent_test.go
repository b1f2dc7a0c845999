package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/launcher"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// The node agent end to end: the real skiff-apiserver, a real skiff-nodeagent running
// pods on containerd (which it starts), images built here from busybox-static, and the
// real kubectl.

const busyboxImage = "skiff.test/busybox:1"

// agentProc is a skiff-nodeagent process.
type agentProc struct {
	name, dataDir, kubeconfig, addr string
	netns                           string // run in this network namespace (nsenter --net)
	args                            []string
	cmd                             *exec.Cmd
	done                            chan struct{}
	logPath                         string
	pki                             *pki.Dir
}

func needContainerd(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("running containers needs root")
	}
	for _, bin := range []string{"containerd", "runc", "ctr"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (apt-get install containerd runc)", bin)
		}
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		t.Skip("CNI plugins not installed (apt-get install containernetworking-plugins)")
	}
	if _, err := os.Stat(images.BusyboxPath); err != nil {
		t.Skip("busybox-static not installed")
	}
}

// startAgent runs a containerd node agent and imports the busybox test image into it.
func startAgent(t *testing.T, api *harness.APIServer, name, podCIDR string, extra ...string) *agentProc {
	t.Helper()
	return startAgentIn(t, api, agentDir(t), name, podCIDR, extra...)
}

// agentDir is a data directory for an agent, removed when the test ends (after the agent's
// own cleanup has stopped its containerd). Not t.TempDir: containerd's socket path has a
// length limit.
func agentDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-node-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startAgentIn is startAgent with the agent's data directory (and containerd's) in dir.
func startAgentIn(t *testing.T, api *harness.APIServer, dir, name, podCIDR string, extra ...string) *agentProc {
	t.Helper()
	return startAgentAt(t, api, agentPlace{dir: dir}, name, podCIDR, extra...)
}

// agentPlace is where an agent runs: its data directory and, when netns is set, a network
// namespace (/run/netns/NETNS) of its own — its containerd and pods with it — from which
// it reaches the API server at apiURL (whose certificate names "localhost").
type agentPlace struct {
	dir, netns, apiURL string
}

func startAgentAt(t *testing.T, api *harness.APIServer, at agentPlace, name, podCIDR string, extra ...string) *agentProc {
	t.Helper()
	dir := at.dir
	port := harness.FreePort(t)
	// The agent runs as the node (system:node:NAME, restricted by the Node authorizer) and
	// serves TLS that only the API server's kubelet-client certificate may use, as under skiff up.
	serving := "node-" + name + "-serving"
	if _, _, err := api.PKI.Ensure(serving, pki.NodeServing(name, net.IPv4(127, 0, 0, 1))); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := api.UserConfig(t, pki.NodeUser(name), "system:nodes")
	if at.apiURL != "" {
		cfg.Host, cfg.TLS.ServerName = at.apiURL, "localhost"
	}
	if err := client.WriteKubeconfig(kubeconfig, "skiff", cfg); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{name: name, dataDir: dir, netns: at.netns, kubeconfig: kubeconfig, addr: fmt.Sprintf("127.0.0.1:%d", port),
		logPath: filepath.Join(dir, "agent.log"), pki: api.PKI}
	a.args = append([]string{"--kubeconfig", kubeconfig, "--node-name", name, "--data-dir", dir,
		"--tls-cert-file", api.PKI.CertFile(serving), "--tls-private-key-file", api.PKI.KeyFile(serving),
		"--client-ca-file", api.PKI.File(pki.CACert),
		"--pod-cidr", podCIDR, "--node-ip", "127.0.0.1", "--listen", a.addr, "--port", strconv.Itoa(port),
		"--crashloop-backoff", "1s", "--heartbeat-interval", "2s", "--gc-period", "2s",
		// The agent runs in the host's network namespace: routes to other nodes' pod CIDRs
		// (a simulated node's, via the host's own address) would be left on the host and
		// refuse every later cluster with containerd nodes its range.
		"--routes=false",
		// As skiff up: no disk thresholds, so a CI machine's full disk evicts no test's pods
		// (extra may give others).
		"--eviction-hard=" + launcher.NodeEvictionHard}, extra...)
	a.start(t)
	t.Cleanup(func() {
		a.kill()
		// Stop what the agent left running: containers, then its containerd.
		ns := "skiff-" + name
		sock := filepath.Join(dir, "containerd", "containerd.sock")
		out, _ := exec.Command("ctr", "-a", sock, "-n", ns, "tasks", "ls", "-q").Output()
		for _, id := range strings.Fields(string(out)) {
			// rm -f kills the task and deletes it, which ends its shim.
			_ = exec.Command("ctr", "-a", sock, "-n", ns, "tasks", "rm", "-f", id).Run()
		}
		if b, err := os.ReadFile(filepath.Join(dir, "containerd", "containerd.pid")); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGTERM)
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(a.logPath)
			t.Logf("agent %s log:\n%s", name, tail(string(b), 4000))
		}
		_ = exec.Command("ip", "link", "del", bridgeOf(name)).Run()
	})
	arch := filepath.Join(t.TempDir(), "busybox.tar")
	img, err := images.Busybox(busyboxImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 60*time.Second, "the agent's containerd", func() (bool, string) {
		out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff-nodeagent"), "import", "--data-dir", dir, arch).CombinedOutput()
		return err == nil, string(out)
	})
	return a
}

// bridgeOf is the CNI bridge the agent of a node makes (see runtime/containerd).
func bridgeOf(node string) string {
	sum := sha256.Sum256([]byte("skiff-" + node))
	return "skf" + hex.EncodeToString(sum[:5])
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (a *agentProc) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(harness.Binaries(t), "skiff-nodeagent"), a.args...)
	if a.netns != "" {
		// nsenter, not `ip netns exec`: the latter also remounts /sys without the cgroup
		// mount runc needs (see machine.command). nsenter execs the agent: same PID.
		cmd = exec.Command("nsenter", append([]string{"--net=/run/netns/" + a.netns, "--", cmd.Path}, a.args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.cmd, a.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(a.done) }()
}

func (a *agentProc) kill() {
	if a.cmd == nil {
		return
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	a.cmd = nil
}

// logs reads a container's log from the agent's log endpoint.
func (a *agentProc) logs(t *testing.T, pod, container, query string) string {
	t.Helper()
	// As the API server does: its kubelet-client certificate, the node's serving certificate
	// verified by the cluster CA.
	cert, err := tls.LoadX509KeyPair(a.pki.CertFile(pki.APIServerKubeletClientName), a.pki.KeyFile(pki.APIServerKubeletClientName))
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: a.pki.CA.Pool(), Certificates: []tls.Certificate{cert}}}}
	resp, err := hc.Get(fmt.Sprintf("https://%s/containerLogs/default/%s/%s?%s", a.addr, pod, container, query))
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// podJSON is what the tests read of a pod.
type podJSON struct {
	Metadata struct {
		UID string `json:"uid"`
	} `json:"metadata"`
	Status struct {
		Phase      string `json:"phase"`
		PodIP      string `json:"podIP"`
		Conditions []struct {
			Type, Status string
		} `json:"conditions"`
		ContainerStatuses []struct {
			Name         string `json:"name"`
			Ready        bool   `json:"ready"`
			RestartCount int    `json:"restartCount"`
			ContainerID  string `json:"containerID"`
			State        struct {
				Running *struct{} `json:"running"`
				Waiting *struct {
					Reason, Message string
				} `json:"waiting"`
				Terminated *struct {
					ExitCode int    `json:"exitCode"`
					Reason   string `json:"reason"`
				} `json:"terminated"`
			} `json:"state"`
		} `json:"containerStatuses"`
	} `json:"status"`
}

func getPod(k *harness.Kubectl, name string) (*podJSON, string) {
	out, errOut, err := k.Exec([]string{"get", "pod", name, "-o", "json"}, "")
	if err != nil {
		return nil, errOut
	}
	var p podJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		return nil, err.Error()
	}
	b, _ := json.Marshal(p.Status)
	return &p, string(b)
}

func waitPod(t *testing.T, k *harness.Kubectl, name, what string, cond func(*podJSON) bool) *podJSON {
	t.Helper()
	var last *podJSON
	harness.Eventually(t, 90*time.Second, name+": "+what, func() (bool, string) {
		p, seen := getPod(k, name)
		if p == nil {
			return false, seen
		}
		last = p
		return cond(p), seen
	})
	return last
}

// waitRejected waits until the node has refused the pod at admission, as the kubelet words it.
func waitRejected(t *testing.T, k *harness.Kubectl, name, reason, msg string) {
	t.Helper()
	want := "Failed " + reason + " Pod was rejected: " + msg
	harness.Eventually(t, 60*time.Second, name+" rejected with "+reason, func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "pod", name, "-o", "jsonpath={.status.phase} {.status.reason} {.status.message}"}, "")
		return out == want, out
	})
}

func condStatus(p *podJSON, typ string) string {
	for _, c := range p.Status.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}

func TestNodeAgentContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	node := startAgent(t, api, "e2e-node", "10.244.9.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", "e2e-node", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})

	t.Run("hello world succeeds and logs", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: hello}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  containers:
  - {name: hello, image: `+busyboxImage+`, command: ["echo", "hello, skiff"]}
`, "apply", "-f", "-")
		waitPod(t, k, "hello", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		if got := node.logs(t, "hello", "hello", ""); got != "hello, skiff\n" {
			t.Errorf("logs = %q, want %q", got, "hello, skiff\n")
		}
	})

	t.Run("containers share localhost and an emptyDir", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: pair}
spec:
  nodeName: e2e-node
  volumes: [{name: shared, emptyDir: {}}]
  containers:
  - name: server
    image: `+busyboxImage+`
    command: ["sh", "-c", "mkdir -p /www && echo from-the-server > /www/index.html && httpd -f -p 8080 -h /www"]
  - name: writer
    image: `+busyboxImage+`
    command: ["sh", "-c", "until wget -q -O /shared/got http://localhost:8080/; do sleep 0.2; done; echo written > /shared/done; sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: reader
    image: `+busyboxImage+`
    command: ["sh", "-c", "until [ -f /data/done ]; do sleep 0.2; done; cat /data/got; sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /data}]
`, "apply", "-f", "-")
		harness.Eventually(t, 60*time.Second, "the reader to print what the writer fetched", func() (bool, string) {
			got := node.logs(t, "pair", "reader", "")
			return got == "from-the-server\n", got
		})
	})

	t.Run("process namespaces: shareProcessNamespace and hostPID reach the app containers", func(t *testing.T) {
		hostNS, err := os.Readlink("/proc/self/ns/pid")
		if err != nil {
			t.Fatal(err)
		}
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: shared-pid}
spec:
  nodeName: e2e-node
  shareProcessNamespace: true
  containers:
  - {name: sleeper, image: `+busyboxImage+`, command: ["sleep", "3601"]}
  - name: looker
    image: `+busyboxImage+`
    command: ["sh", "-c", "until ps | grep -q 'sleep 360[1]'; do sleep 0.2; done; echo sees the sleeper; readlink /proc/1/exe; sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata: {name: host-pid}
spec:
  nodeName: e2e-node
  hostPID: true
  restartPolicy: Never
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["readlink", "/proc/self/ns/pid"]}
`, "apply", "-f", "-")
		harness.Eventually(t, 60*time.Second, "a container seeing its neighbour's process, and the pause process as PID 1", func() (bool, string) {
			got := node.logs(t, "shared-pid", "looker", "")
			return strings.HasPrefix(got, "sees the sleeper\n") && strings.Contains(got, "pause"), got
		})
		waitPod(t, k, "host-pid", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		if got := strings.TrimSpace(node.logs(t, "host-pid", "c", "")); got != hostNS {
			t.Errorf("a hostPID pod's container is in process namespace %q, the node's is %q", got, hostNS)
		}
	})

	t.Run("init containers run in order; env, downward API and configMap volume reach the process", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hi-from-configmap, color: blue}
---
apiVersion: v1
kind: Pod
metadata:
  name: wired
  labels: {app: wired}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  volumes:
  - {name: work, emptyDir: {}}
  - {name: cfg, configMap: {name: settings, items: [{key: greeting, path: greeting.txt}]}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
  initContainers:
  - {name: first, image: `+busyboxImage+`, command: ["sh", "-c", "echo 1 >> /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  - {name: second, image: `+busyboxImage+`, command: ["sh", "-c", "echo 2 >> /work/order"], volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - name: app
    image: `+busyboxImage+`
    command: ["sh", "-c", "cat /work/order; echo $POD $NS $COLOR $(SHOUT); cat /cfg/greeting.txt; echo; cat /info/labels; echo"]
    env:
    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: COLOR, valueFrom: {configMapKeyRef: {name: settings, key: color}}}
    - {name: SHOUT, value: "$(COLOR)-loud"}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: cfg, mountPath: /cfg}
    - {name: info, mountPath: /info}
`, "apply", "-f", "-")
		waitPod(t, k, "wired", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		want := "1\n2\nwired default blue blue-loud\nhi-from-configmap\napp=\"wired\"\n"
		if got := node.logs(t, "wired", "app", ""); got != want {
			t.Errorf("logs = %q, want %q", got, want)
		}
	})

	t.Run("limits land in the cgroup", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: limited}
spec:
  nodeName: e2e-node
  containers:
  - name: app
    image: `+busyboxImage+`
    command: ["sleep", "3600"]
    resources:
      requests: {cpu: 250m, memory: 32Mi}
      limits: {cpu: 500m, memory: 64Mi}
`, "apply", "-f", "-")
		p := waitPod(t, k, "limited", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		id := strings.TrimPrefix(p.Status.ContainerStatuses[0].ContainerID, "containerd://")
		// cgroupfs: <controller>/skiff/<qos>/pod<uid>/<container id>
		read := func(controller, file string) string {
			path := filepath.Join("/sys/fs/cgroup", controller, "skiff", "burstable", "pod"+p.Metadata.UID, id, file)
			b, err := os.ReadFile(path)
			if err != nil {
				return err.Error()
			}
			return strings.TrimSpace(string(b))
		}
		for _, c := range []struct{ controller, file, want string }{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"cpu", "cpu.cfs_period_us", "100000"},
			{"cpu", "cpu.shares", "256"},
		} {
			if got := read(c.controller, c.file); got != c.want {
				t.Errorf("%s = %s, want %s", c.file, got, c.want)
			}
		}
		if q := k.Run(t, "get", "pod", "limited", "-o", "jsonpath={.status.qosClass}"); q != "Burstable" {
			t.Errorf("qosClass = %q, want Burstable", q)
		}
	})

	t.Run("probes: failing readiness and a liveness failure that restarts", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 1
  containers:
  - name: never-ready
    image: `+busyboxImage+`
    command: ["sleep", "3600"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
  - name: goes-bad
    image: `+busyboxImage+`
    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"]
    livenessProbe: {exec: {command: ["cat", "/tmp/healthy"]}, periodSeconds: 1, failureThreshold: 1}
`, "apply", "-f", "-")
		waitPod(t, k, "probed", "Running, not Ready, the liveness container restarted", func(p *podJSON) bool {
			if p.Status.Phase != "Running" || condStatus(p, "Ready") != "False" || len(p.Status.ContainerStatuses) != 2 {
				return false
			}
			return !p.Status.ContainerStatuses[0].Ready && p.Status.ContainerStatuses[1].RestartCount >= 1
		})
		// The restarted container has no readiness probe: it is ready again once running,
		// the other never is.
		out := k.Run(t, "get", "pod", "probed")
		if strings.Contains(out, "2/2") || !strings.Contains(out, "/2") {
			t.Errorf("kubectl get pod shows %q, want at most 1/2 ready", out)
		}
	})

	t.Run("crash loop backs off", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: crasher}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sh", "-c", "exit 3"]}
`, "apply", "-f", "-")
		var delays []string
		harness.Eventually(t, 90*time.Second, "growing CrashLoopBackOff delays", func() (bool, string) {
			p, seen := getPod(k, "crasher")
			if p == nil || len(p.Status.ContainerStatuses) != 1 {
				return false, seen
			}
			if w := p.Status.ContainerStatuses[0].State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
				d := strings.Fields(w.Message)[1] // "back-off 2s restarting ..."
				if len(delays) == 0 || delays[len(delays)-1] != d {
					delays = append(delays, d)
				}
			}
			return len(delays) >= 2, fmt.Sprintf("delays %v, status %s", delays, seen)
		})
		first, _ := time.ParseDuration(delays[0])
		second, _ := time.ParseDuration(delays[1])
		if second <= first {
			t.Errorf("back-off delays %v do not grow", delays)
		}
	})

	t.Run("dead containers are garbage collected, the newest kept", func(t *testing.T) {
		sock := filepath.Join(node.dataDir, "containerd", "containerd.sock")
		harness.Eventually(t, 30*time.Second, "crasher's older attempts removed", func() (bool, string) {
			p, seen := getPod(k, "crasher")
			if p == nil || len(p.Status.ContainerStatuses) != 1 {
				return false, seen
			}
			out, err := exec.Command("ctr", "-a", sock, "-n", "skiff-e2e-node", "containers", "ls", "-q",
				`labels."io.kubernetes.pod.uid"==`+p.Metadata.UID+`,labels."io.skiff.kind"==container`).Output()
			n, restarts := len(strings.Fields(string(out))), p.Status.ContainerStatuses[0].RestartCount
			// The newest exited attempt stays (the restart count and --previous come from it),
			// with at most the attempt after it.
			return err == nil && restarts >= 2 && n >= 1 && n <= 2, fmt.Sprintf("%d containers after %d restarts (%v)", n, restarts, err)
		})
	})

	t.Run("a container ignoring SIGTERM is killed after the grace period, preStop first", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "prestop")
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  nodeName: e2e-node
  terminationGracePeriodSeconds: 2
  volumes: [{name: host, hostPath: {path: `+filepath.Dir(marker)+`}}]
  containers:
  - name: app
    image: `+busyboxImage+`
    command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"]
    volumeMounts: [{name: host, mountPath: /host}]
    lifecycle:
      preStop: {exec: {command: ["sh", "-c", "echo ran > /host/prestop"]}}
`, "apply", "-f", "-")
		waitPod(t, k, "stubborn", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		k.Run(t, "delete", "pod", "stubborn", "--wait=true")
		if b, err := os.ReadFile(marker); err != nil || string(b) != "ran\n" {
			t.Errorf("preStop marker: %q, %v", b, err)
		}
	})

	t.Run("a killed agent adopts its containers", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: survivor}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sleep", "3600"]}
`, "apply", "-f", "-")
		before := waitPod(t, k, "survivor", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		id := before.Status.ContainerStatuses[0].ContainerID
		node.kill()
		node.start(t)
		// A pod created after the restart runs: the new agent is syncing.
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: after-restart}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["true"]}
`, "apply", "-f", "-")
		waitPod(t, k, "after-restart", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		after, _ := getPod(k, "survivor")
		if got := after.Status.ContainerStatuses[0].ContainerID; got != id || after.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Errorf("container after restart: %s (restarts %d), want %s", got, after.Status.ContainerStatuses[0].RestartCount, id)
		}
		sock := filepath.Join(node.dataDir, "containerd", "containerd.sock")
		out, err := exec.Command("ctr", "-a", sock, "-n", "skiff-e2e-node", "containers", "ls", "-q",
			"labels.\"io.kubernetes.pod.uid\"=="+after.Metadata.UID).Output()
		if err != nil {
			t.Fatal(err)
		}
		// One sandbox and one container: nothing was started twice.
		if n := len(strings.Fields(string(out))); n != 2 {
			t.Errorf("%d containerd containers for the pod, want 2 (sandbox + app):\n%s", n, out)
		}
	})

	t.Run("runtime classes: the handler runs the pod, an unknown handler fails its sandbox, an unknown class is refused", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: plain}
handler: runc
overhead: {podFixed: {cpu: 50m, memory: 8Mi}}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: exotic}
handler: kata
---
apiVersion: v1
kind: Pod
metadata: {name: classy}
spec:
  nodeName: e2e-node
  runtimeClassName: plain
  restartPolicy: Never
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata: {name: exotic}
spec:
  nodeName: e2e-node
  runtimeClassName: exotic
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["true"]}
`, "apply", "-f", "-")
		waitPod(t, k, "classy", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		overhead, _, _ := k.Exec([]string{"get", "pod", "classy", "-o", "jsonpath={.spec.overhead.cpu} {.spec.overhead.memory}"}, "")
		if overhead != "50m 8Mi" {
			t.Errorf("spec.overhead = %q, want the class's \"50m 8Mi\"", overhead)
		}
		harness.Eventually(t, 60*time.Second, "a FailedCreatePodSandBox event naming the missing handler", func() (bool, string) {
			out, _, _ := k.Exec([]string{"get", "events", "--field-selector", "involvedObject.name=exotic,reason=FailedCreatePodSandBox",
				"-o", "jsonpath={.items[*].message}"}, "")
			return strings.Contains(out, `no runtime for "kata" is configured`), out
		})
		_, errOut, err := k.Exec([]string{"run", "no-class", "--image", busyboxImage, "--overrides", `{"spec":{"runtimeClassName":"missing"}}`}, "")
		if err == nil || !strings.Contains(errOut, `pod rejected: RuntimeClass "missing" not found`) {
			t.Errorf("a pod naming a missing class: err %v, stderr %q; want it refused", err, errOut)
		}
	})

	t.Run("sysctls: a safe one is set in the pod, an unsafe one is refused with SysctlForbidden", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: sysctl-safe}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  securityContext: {sysctls: [{name: kernel/shm_rmid_forced, value: "1"}, {name: net.ipv4.ip_unprivileged_port_start, value: "80"}]}
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sh", "-c", "sysctl kernel.shm_rmid_forced net.ipv4.ip_unprivileged_port_start"]}
---
apiVersion: v1
kind: Pod
metadata: {name: sysctl-unsafe}
spec:
  nodeName: e2e-node
  securityContext: {sysctls: [{name: kernel.msgmax, value: "10000000000"}]}
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sleep", "3600"]}
`, "apply", "-f", "-")
		waitPod(t, k, "sysctl-safe", "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
		if got, want := node.logs(t, "sysctl-safe", "app", ""), "kernel.shm_rmid_forced = 1\nnet.ipv4.ip_unprivileged_port_start = 80\n"; got != want {
			t.Errorf("the pod saw %q, want %q", got, want)
		}
		waitRejected(t, k, "sysctl-unsafe", "SysctlForbidden", `forbidden sysctl: "kernel.msgmax" not allowlisted`)
	})

	t.Run("a pod wanting a host port another pod of the node holds is rejected (NodePorts)", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: port-first}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sleep", "3600"], ports: [{containerPort: 80, hostPort: 18080}]}
`, "apply", "-f", "-")
		waitPod(t, k, "port-first", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: port-second}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sleep", "3600"], ports: [{containerPort: 80, hostPort: 18080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: port-udp}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["sleep", "3600"], ports: [{containerPort: 80, hostPort: 18080, protocol: UDP}]}
`, "apply", "-f", "-")
		waitRejected(t, k, "port-second", "NodePorts", "Predicate NodePorts failed: node(s) didn't have free ports for the requested pod ports")
		waitPod(t, k, "port-udp", "Running (another protocol)", func(p *podJSON) bool { return p.Status.Phase == "Running" })
		k.Run(t, "delete", "pod", "port-first", "port-second", "port-udp", "--grace-period=0")
	})

	t.Run("bad input: a missing image and a missing command", func(t *testing.T) {
		k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: no-image}
spec:
  nodeName: e2e-node
  containers:
  - {name: app, image: skiff.test/does-not-exist:1, imagePullPolicy: Never}
---
apiVersion: v1
kind: Pod
metadata: {name: no-command}
spec:
  nodeName: e2e-node
  restartPolicy: Never
  containers:
  - {name: app, image: `+busyboxImage+`, command: ["/no/such/program"]}
`, "apply", "-f", "-")
		waitPod(t, k, "no-image", "ErrImageNeverPull", func(p *podJSON) bool {
			cs := p.Status.ContainerStatuses
			return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ErrImageNeverPull"
		})
		waitPod(t, k, "no-command", "Failed with StartError", func(p *podJSON) bool {
			cs := p.Status.ContainerStatuses
			return p.Status.Phase == "Failed" && len(cs) == 1 && cs[0].State.Terminated != nil && cs[0].State.Terminated.Reason == "StartError"
		})
	})
}
