package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// The whole cluster as a user starts it: `skiff up --nodes 2` (API server, controller
// manager, scheduler, two containerd nodes each in its own network namespace), an image
// imported with `skiff image import`, a Deployment spread over both nodes, pod traffic
// across nodes and from the host, and Ctrl-C leaving nothing running.

const twoNodeApp = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector:
              matchLabels: {app: web}
      containers:
      - name: web
        image: ` + busyboxImage + `
        command: ["sh", "-c", "echo hello from $(hostname) > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
`

func TestSkiffUpTwoContainerdNodes(t *testing.T) {
	needContainerd(t)
	c := harness.Up(t, "", "--nodes", "2")
	k := c.Kubectl

	nodes := strings.Fields(k.Run(t, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type=="InternalIP")].address} {end}`))
	if len(nodes) != 2 || nodes[0] == nodes[1] {
		t.Fatalf("want two nodes with their own addresses, got %v", nodes)
	}

	arch := filepath.Join(t.TempDir(), "busybox.tar")
	img, err := images.Busybox(busyboxImage)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff"), "image", "import", "--data-dir", c.DataDir, arch).CombinedOutput()
	if err != nil || strings.Count(string(out), busyboxImage) != 2 {
		t.Fatalf("skiff image import: %v\n%s", err, out)
	}

	k.RunStdin(t, twoNodeApp, "apply", "-f", "-")
	k.Run(t, "rollout", "status", "deploy/web", "--timeout=120s")
	pods := podsByNode(t, k, "app=web")
	if len(pods) != 2 {
		t.Fatalf("want one web pod on each node, got %v", pods)
	}

	t.Run("the host reaches pods on every node", func(t *testing.T) {
		for node, p := range pods {
			harness.Eventually(t, 30*time.Second, "GET from the host to "+p.name+" on "+node, func() (bool, string) {
				body, err := httpGet("http://" + p.ip + ":8080/")
				return err == nil && strings.Contains(body, "hello from "+p.name), fmt.Sprint(body, err)
			})
		}
	})

	t.Run("a pod on one node reaches a pod on the other", func(t *testing.T) {
		var from, to string
		for node := range pods {
			if from == "" {
				from = node
			} else {
				to = node
			}
		}
		k.RunStdin(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  nodeName: %s
  restartPolicy: Never
  containers:
  - name: client
    image: %s
    command: ["sh", "-c", "wget -qO- http://%s:8080/ | grep -q 'hello from %s'"]
`, from, busyboxImage, pods[to].ip, pods[to].name), "apply", "-f", "-")
		p := waitPod(t, k, "client", "finished", func(p *podJSON) bool {
			return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed"
		})
		if p.Status.Phase != "Succeeded" {
			b, _ := json.Marshal(p.Status)
			t.Fatalf("the client on %s could not fetch from %s on %s: %s", from, pods[to].ip, to, b)
		}
	})

	t.Run("the Service answers from the host and by DNS name from a pod on each node", func(t *testing.T) {
		ip := k.Run(t, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
		harness.Eventually(t, 30*time.Second, "GET the ClusterIP "+ip+" from the host", func() (bool, string) {
			body, err := httpGet("http://" + ip + "/")
			return err == nil && strings.Contains(body, "hello from web-"), fmt.Sprint(body, err)
		})
		for node := range pods {
			name := "dns-" + node
			k.RunStdin(t, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  nodeName: %s
  restartPolicy: Never
  containers:
  - name: client
    image: %s
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web.default.svc.cluster.local/ | grep -q 'hello from web-' && exit 0; sleep 1; done; exit 1"]
`, name, node, busyboxImage), "apply", "-f", "-")
			p := waitPod(t, k, name, "finished", func(p *podJSON) bool {
				return p.Status.Phase == "Succeeded" || p.Status.Phase == "Failed"
			})
			if p.Status.Phase != "Succeeded" {
				b, _ := json.Marshal(p.Status)
				t.Errorf("a pod on %s could not reach web.default.svc.cluster.local: %s", node, b)
			}
		}
	})

	t.Run("Ctrl-C stops every process and container and removes the node network", func(t *testing.T) {
		uids := strings.Fields(k.Run(t, "get", "pods", "-o", "jsonpath={.items[*].metadata.uid}"))
		if err := c.Stop(t); err != nil {
			t.Fatal(err)
		}
		for _, uid := range uids {
			for _, pattern := range []string{"/sys/fs/cgroup/*/skiff/pod" + uid, "/sys/fs/cgroup/*/skiff/*/pod" + uid, "/sys/fs/cgroup/skiff/*/pod" + uid} {
				if left, _ := filepath.Glob(pattern); len(left) > 0 {
					t.Errorf("pod cgroups left: %v", left)
				}
			}
		}
		// A deleted task's shim and log writer exit a moment after containerd answers.
		harness.Eventually(t, 15*time.Second, "no process of the cluster left", func() (bool, string) {
			left := processesMentioning(c.DataDir)
			return len(left) == 0, strings.Join(left, "\n")
		})
		if ns, _ := os.ReadDir("/run/netns"); len(ns) > 0 {
			for _, e := range ns {
				if strings.HasPrefix(e.Name(), fmt.Sprintf("skiff%d-", c.Port)) {
					t.Errorf("network namespace %s left behind", e.Name())
				}
			}
		}
	})

	t.Run("a second skiff up runs the same pods again", func(t *testing.T) {
		c.Start(t)
		k.Run(t, "rollout", "status", "deploy/web", "--timeout=120s")
		// The pods' status still shows the previous run's IPs until the agents have
		// recreated the containers: read them again on every try.
		harness.Eventually(t, 60*time.Second, "both web pods answering again", func() (bool, string) {
			var seen []string
			for node, p := range podsByNode(t, k, "app=web") {
				body, err := httpGet("http://" + p.ip + ":8080/")
				if err != nil || !strings.Contains(body, "hello from "+p.name) {
					return false, fmt.Sprint(node, " ", p, " ", body, err)
				}
				seen = append(seen, node)
			}
			return len(seen) == 2, fmt.Sprint(seen)
		})
	})
}

type podPlace struct{ name, ip string }

// podsByNode waits until every pod matching selector runs with an IP, and maps node → pod.
func podsByNode(t *testing.T, k *harness.Kubectl, selector string) map[string]podPlace {
	t.Helper()
	out := map[string]podPlace{}
	harness.Eventually(t, 60*time.Second, "pods "+selector+" running with IPs", func() (bool, string) {
		lines := k.Run(t, "get", "pods", "-l", selector, "-o", `jsonpath={range .items[*]}{.spec.nodeName} {.metadata.name} {.status.podIP} {.status.phase}{"\n"}{end}`)
		clear(out)
		for _, l := range strings.Split(strings.TrimSpace(lines), "\n") {
			f := strings.Fields(l)
			if len(f) != 4 || f[3] != "Running" {
				return false, lines
			}
			out[f[0]] = podPlace{name: f[1], ip: f[2]}
		}
		return len(out) > 0, lines
	})
	return out
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmd, s) {
			out = append(out, e.Name()+": "+cmd)
		}
	}
	return out
}
