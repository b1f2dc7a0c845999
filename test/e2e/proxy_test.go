package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// The service proxy end to end: the real API server, controller manager, a containerd node
// agent and skiff-proxy (iptables, then nftables) in the host's network namespace, busybox
// httpd pods behind a Service, and the real kubectl. Everything the proxy programs is
// removed with `skiff-proxy --cleanup` when the test ends. Traffic only ever goes to
// Service addresses once the proxy's rules for them are in place (before that, the host
// would route them to its default gateway).

const (
	proxyNode    = "e2e-proxy"
	proxyPodCIDR = "10.244.77.0/24"
	proxyNodeIP  = "10.244.77.1" // the CNI bridge: a local address of the node
)

func needProxyTools(t *testing.T, mode string) {
	t.Helper()
	bins := map[string][]string{"iptables": {"iptables-save", "iptables-restore"}, "nftables": {"nft"}}[mode]
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s not installed", b)
		}
	}
}

// proxyProc runs skiff-proxy in mode; cleanup of its rules is registered first, so it runs
// after the process is killed.
func startProxy(t *testing.T, api *harness.APIServer, dir, mode string) *component {
	t.Helper()
	t.Cleanup(func() {
		out, err := exec.Command(filepath.Join(harness.Binaries(t), "skiff-proxy"), "--cleanup").CombinedOutput()
		if err != nil {
			t.Errorf("skiff-proxy --cleanup: %v\n%s", err, out)
		}
	})
	health := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	p := startProcess(t, api.Kubeconfig, dir, "skiff-proxy", "--node-name", proxyNode, "--mode", mode,
		"--dns-upstreams", "none", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
		"--healthz-addr", health, "--min-sync-period", "200ms", "--log-level", "debug")
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("skiff-proxy (%s) log:\n%s", mode, tail(string(b), 6000))
		}
	})
	harness.Eventually(t, 30*time.Second, "skiff-proxy ready", func() (bool, string) {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return p
}

// rules is what the proxy programmed: iptables-save, or skiff's nftables table.
func rules(mode string) string {
	var out []byte
	if mode == "iptables" {
		out, _ = exec.Command("iptables-save").Output()
	} else {
		out, _ = exec.Command("nft", "list", "table", "ip", "skiff").Output()
	}
	return string(out)
}

// served reports whether the proxy sends ip:port somewhere (so connecting to it stays
// on the node).
func served(mode, ip string, port int) bool {
	r := rules(mode)
	if mode == "iptables" {
		return strings.Contains(r, fmt.Sprintf("-d %s/32 -p tcp -m comment --comment \"default/web:http cluster IP\" -m tcp --dport %d", ip, port))
	}
	return strings.Contains(r, fmt.Sprintf("%s . tcp . %d : goto service-", ip, port))
}

// fetch GETs url on a fresh connection (so each request is balanced anew).
func fetch(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return strings.TrimSpace(string(b)), err
}

// answering collects which pods answer url over n requests.
func answering(url string, n int) ([]string, error) {
	var names []string
	for range n {
		got, err := fetch(url)
		if err != nil {
			return names, err
		}
		if !slices.Contains(names, got) {
			names = append(names, got)
		}
	}
	slices.Sort(names)
	return names, nil
}

const webService = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
`

// clientPod fetches the web Service by its full and its short DNS name, then prints both.
// (busybox-static's wget crashes with -T: timeout bounds it instead.)
const clientPod = `apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  nodeName: ` + proxyNode + `
  restartPolicy: Never
  containers:
  - name: c
    image: ` + busyboxImage + `
    command:
    - sh
    - -c
    - |
      for i in $(seq 1 60); do
        full=$(timeout 5 wget -q -O - http://web.default.svc.cluster.local/) && short=$(timeout 5 wget -q -O - http://web/) && break
        sleep 0.5
      done
      echo "full=$full short=$short"
      nslookup web.default.svc.cluster.local 2>&1 | tail -n 3
`

func TestServiceProxyContainerd(t *testing.T) {
	needContainerd(t)
	needProxyTools(t, "iptables")
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	dir := t.TempDir()
	startProcess(t, api.Kubeconfig, dir, "skiff-controller-manager", "--metrics-addr", "127.0.0.1:"+strconv.Itoa(harness.FreePort(t)))
	node := startAgent(t, api, proxyNode, proxyPodCIDR)
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", proxyNode, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})

	k.RunStdin(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      nodeName: `+proxyNode+`
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: `+busyboxImage+`
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`, "apply", "-f", "-")
	k.RunStdin(t, webService, "apply", "-f", "-")
	rolloutStatus(t, k, "default", "web")

	for _, mode := range []string{"iptables", "nftables"} {
		t.Run(mode, func(t *testing.T) {
			needProxyTools(t, mode)
			if mode == "nftables" {
				// The Service was deleted by the iptables run: make it again (a new cluster IP).
				k.RunStdin(t, webService, "apply", "-f", "-")
			}
			p := startProxy(t, api, dir, mode)
			defer p.stop()
			ip := jsonpath(k, "service", "web", "-o", "jsonpath={.spec.clusterIP}")
			nodePort, _ := strconv.Atoi(jsonpath(k, "service", "web", "-o", "jsonpath={.spec.ports[0].nodePort}"))
			if ip == "" || nodePort == 0 {
				t.Fatalf("service web: clusterIP %q nodePort %d", ip, nodePort)
			}
			harness.Eventually(t, 30*time.Second, "the proxy's rules for web", func() (bool, string) {
				return served(mode, ip, 80), "not yet"
			})
			pods := strings.Fields(jsonpath(k, "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"))
			slices.Sort(pods)

			t.Run("cluster IP from the host reaches both pods", func(t *testing.T) {
				harness.Eventually(t, 30*time.Second, "both pods answering on the cluster IP", func() (bool, string) {
					got, err := answering(fmt.Sprintf("http://%s/", ip), 20)
					return err == nil && slices.Equal(got, pods), fmt.Sprintf("%v %v (pods %v)", got, err, pods)
				})
			})
			t.Run("node port from the host", func(t *testing.T) {
				harness.Eventually(t, 30*time.Second, "the node port", func() (bool, string) {
					got, err := fetch(fmt.Sprintf("http://%s:%d/", proxyNodeIP, nodePort))
					return err == nil && slices.Contains(pods, got), fmt.Sprintf("%q %v", got, err)
				})
			})
			t.Run("a pod reaches the Service by DNS name, full and short", func(t *testing.T) {
				name := "client-" + mode
				k.RunStdin(t, fmt.Sprintf(clientPod, name), "apply", "-f", "-")
				waitPod(t, k, name, "Succeeded", func(p *podJSON) bool { return p.Status.Phase == "Succeeded" })
				logs := node.logs(t, name, "c", "")
				var full, short string
				for _, f := range strings.Fields(logs) {
					if v, ok := strings.CutPrefix(f, "full="); ok {
						full = v
					}
					if v, ok := strings.CutPrefix(f, "short="); ok {
						short = v
					}
				}
				if !slices.Contains(pods, full) || !slices.Contains(pods, short) {
					t.Errorf("pod output %q: want both fetches answered by one of %v", logs, pods)
				}
				if !strings.Contains(logs, ip) {
					t.Errorf("nslookup in the pod did not answer %s:\n%s", ip, logs)
				}
			})
			if mode == "iptables" {
				t.Run("scaling changes which pods answer", func(t *testing.T) {
					k.Run(t, "scale", "deployment", "web", "--replicas=3")
					rolloutStatus(t, k, "default", "web")
					harness.Eventually(t, 60*time.Second, "three pods answering", func() (bool, string) {
						want := strings.Fields(jsonpath(k, "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"))
						slices.Sort(want)
						got, err := answering(fmt.Sprintf("http://%s/", ip), 30)
						return err == nil && len(want) == 3 && slices.Equal(got, want), fmt.Sprintf("%v %v want %v", got, err, want)
					})
				})
			}
			t.Run("deleting the Service removes its rules", func(t *testing.T) {
				if !strings.Contains(rules(mode), "default/web") {
					t.Fatalf("no rules for default/web before the delete:\n%s", rules(mode))
				}
				k.Run(t, "delete", "service", "web")
				harness.Eventually(t, 30*time.Second, "rules of default/web gone", func() (bool, string) {
					r := rules(mode)
					return !strings.Contains(r, "default/web"), kerneltestLines(r, "default/web")
				})
			})
		})
	}
}

func kerneltestLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
