package e2e

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// NetworkPolicy as a user meets it: `skiff up --nodes 2`, a web pod on node-1, clients on
// node-2, real kubectl. A default deny blocks the clients, an allow policy lets the
// labelled one through (across nodes, on the named port), the other stays blocked. And
// the Services loose end: from the host, a ClusterIP without endpoints is refused at the
// first attempt and at each of ten in a row.

const netpolPods = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node-1
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ` + busyboxImage + `
    command: ["sh", "-c", "echo hello > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {role: client}}
spec:
  nodeName: node-2
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ` + busyboxImage + `, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: other}
spec:
  nodeName: node-2
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: ` + busyboxImage + `, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Service
metadata: {name: nothing}
spec:
  selector: {app: nobody}
  ports: [{port: 80}]
`

const denyAll = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`

const allowClient = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
`

func TestNetworkPolicyTwoNodes(t *testing.T) {
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
	k.RunStdin(t, netpolPods, "apply", "-f", "-")
	for _, p := range []string{"web", "client", "other"} {
		k.Run(t, "wait", "--for=condition=Ready", "pod/"+p, "--timeout=120s")
	}
	webIP := k.Run(t, "get", "pod", "web", "-o", "jsonpath={.status.podIP}")
	// fetch runs wget in a client pod; timeout bounds a dropped connection's wait (busybox
	// wget's own -T crashes in Debian's busybox-static).
	fetch := func(from string) error {
		out, stderr, err := k.Exec([]string{"exec", from, "--", "timeout", "3", "wget", "-qO-", "http://" + webIP + ":8080/"}, "")
		if err != nil || !strings.Contains(out, "hello") {
			return fmt.Errorf("%v: %s%s", err, out, stderr)
		}
		return nil
	}
	expect := func(t *testing.T, what, from string, allowed bool) {
		t.Helper()
		harness.Eventually(t, 30*time.Second, what, func() (bool, string) {
			err := fetch(from)
			return (err == nil) == allowed, fmt.Sprint(err)
		})
	}

	t.Run("without policies, both clients reach web across nodes", func(t *testing.T) {
		expect(t, "client → web", "client", true)
		expect(t, "other → web", "other", true)
	})
	t.Run("a default deny blocks them", func(t *testing.T) {
		k.RunStdin(t, denyAll, "apply", "-f", "-")
		expect(t, "client blocked", "client", false)
		expect(t, "other blocked", "other", false)
	})
	t.Run("an allow policy lets the labelled client through, on the named port", func(t *testing.T) {
		k.RunStdin(t, allowClient, "apply", "-f", "-")
		expect(t, "client allowed", "client", true)
		if err := fetch("other"); err == nil {
			t.Errorf("the unlabelled pod reached web through the allow policy")
		}
		out := k.Run(t, "get", "netpol")
		if !strings.Contains(out, "default-deny") || !strings.Contains(out, "web-from-clients") || !strings.Contains(out, "app=web") {
			t.Errorf("kubectl get netpol:\n%s", out)
		}
	})
	t.Run("kubectl is told what is wrong with a bad policy", func(t *testing.T) {
		_, stderr, err := k.Exec([]string{"apply", "-f", "-"}, `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad}
spec:
  podSelector: {}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]
`)
		if err == nil || !strings.Contains(stderr, "spec.ingress[0].from[0].ipBlock.except[0]") {
			t.Errorf("bad policy: %v %s", err, stderr)
		}
	})
	t.Run("deleting the policies opens web again", func(t *testing.T) {
		k.Run(t, "delete", "netpol", "--all")
		expect(t, "other → web", "other", true)
	})

	t.Run("a ClusterIP without endpoints is refused from the host, first time and ten in a row", func(t *testing.T) {
		ip := k.Run(t, "get", "service", "nothing", "-o", "jsonpath={.spec.clusterIP}")
		// Wait for the refusal rule in node-1's namespace (the host's route to Service
		// addresses), without sending a packet.
		ns := "/run/netns/skiff" + strconv.Itoa(c.Port) + "-node-1"
		harness.Eventually(t, 30*time.Second, "node-1 rejects default/nothing", func() (bool, string) {
			out, err := exec.Command("nsenter", "--net="+ns, "--", "iptables-save", "-t", "filter").CombinedOutput()
			return err == nil && strings.Contains(string(out), "default/nothing has no endpoints"), string(out)
		})
		for i := range 10 {
			// The timeout only bounds a refusal that went missing; the check is the error.
			conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, "80"), 5*time.Second)
			if err == nil {
				conn.Close()
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("attempt %d to %s:80: %v, want connection refused", i+1, ip, err)
			}
		}
	})
}
