package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// A machine joins over the network with nothing but the printed join command: a node in a
// network namespace of its own (reaching the control plane over a veth pair, sharing no
// file with it) verifies the cluster CA by the pin, gets its client certificate by a
// CertificateSigningRequest that the controller manager approves and signs, registers as
// system:node:NAME, runs skiff-ingress as the ingress controller (from the kubeconfig
// `skiff token create --ingress-kubeconfig` wrote), and runs a pod. A join with the wrong
// pin is refused.
func TestJoinFromAnotherNetworkNamespace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed")
	}
	// The "other machine": netns NS with 10.249.X.2, the host side 10.249.X.1.
	x := os.Getpid() % 250
	ns, hostIf, nsIf := fmt.Sprintf("skiffjoin%d", x), fmt.Sprintf("sj%dh", x), fmt.Sprintf("sj%dn", x)
	hostIP, nodeIP := fmt.Sprintf("10.249.%d.1", x), fmt.Sprintf("10.249.%d.2", x)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run() // left over from an interrupted run
	exec.Command("ip", "link", "del", hostIf).Run()
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf)
	t.Cleanup(func() { exec.Command("ip", "link", "del", hostIf).Run() })
	run("ip", "link", "set", nsIf, "netns", ns)
	run("ip", "addr", "add", hostIP+"/30", "dev", hostIf)
	run("ip", "link", "set", hostIf, "up")
	run("ip", "netns", "exec", ns, "ip", "addr", "add", nodeIP+"/30", "dev", nsIf)
	run("ip", "netns", "exec", ns, "ip", "link", "set", nsIf, "up")
	run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

	c := harness.Up(t, "", "--nodes", "0", "--advertise-address", hostIP)
	bin := harness.Binaries(t)
	ingressKC := filepath.Join(t.TempDir(), "ingress.kubeconfig")
	out, err := exec.Command(filepath.Join(bin, "skiff"), "token", "create", "--data-dir", c.DataDir, "--print-join-command",
		"--ingress-kubeconfig", ingressKC).Output()
	if err != nil {
		t.Fatalf("skiff token create: %v\n%s", err, out)
	}
	joinCmd := strings.Fields(strings.TrimSpace(string(out)))
	if len(joinCmd) != 9 || joinCmd[0] != "skiff" || joinCmd[1] != "join" || !strings.HasPrefix(joinCmd[2], hostIP+":") ||
		joinCmd[7] != "--ingress-kubeconfig" || joinCmd[8] != ingressKC {
		t.Fatalf("join command: %q", out)
	}
	ca, err := pki.ParseCert(mustRead(t, filepath.Join(c.DataDir, "pki", "ca.crt")))
	if err != nil {
		t.Fatal(err)
	}
	if joinCmd[6] != pki.Hash(ca) {
		t.Fatalf("printed pin %s, the CA's is %s", joinCmd[6], pki.Hash(ca))
	}

	// A wrong pin: refused before anything is trusted or written.
	other, _ := pki.NewCA("impostor")
	badDir := t.TempDir()
	cmd := exec.Command("ip", "netns", "exec", ns, filepath.Join(bin, "skiff"), "join", joinCmd[2], "--token", joinCmd[4],
		"--discovery-token-ca-cert-hash", pki.Hash(other.Cert), "--node-name", "impostor", "--data-dir", badDir)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "does not match") {
		t.Fatalf("join with a wrong pin: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(badDir, "bootstrap-kubeconfig")); err == nil {
		t.Error("a bootstrap kubeconfig was written for an unverified cluster")
	}

	// The printed command, run on the other "machine" with a data dir of its own.
	nodeDir := t.TempDir()
	args := append([]string{"netns", "exec", ns, filepath.Join(bin, "skiff")}, joinCmd[1:]...)
	args = append(args, "--node-name", "joined", "--data-dir", nodeDir, "--no-proxy", "--",
		"--runtime", "sim", "--listen", "-", "--node-ip", nodeIP)
	join := exec.Command("ip", args...)
	logf, err := os.Create(filepath.Join(nodeDir, "join.out"))
	if err != nil {
		t.Fatal(err)
	}
	join.Stdout, join.Stderr = logf, logf
	if err := join.Start(); err != nil {
		t.Fatal(err)
	}
	joinDone := make(chan struct{})
	go func() { join.Wait(); close(joinDone) }()
	t.Cleanup(func() {
		join.Process.Signal(os.Interrupt)
		select {
		case <-joinDone:
		case <-time.After(30 * time.Second):
			join.Process.Kill()
			<-joinDone
		}
		if t.Failed() {
			for _, f := range []string{"join.out", "logs/skiff-nodeagent.log", "logs/skiff-ingress.log"} {
				b, _ := os.ReadFile(filepath.Join(nodeDir, f))
				t.Logf("%s:\n%s", f, b)
			}
		}
	})

	ctx := context.Background()
	admin := c.Client(t)
	nodes := client.For[core.Node](admin, client.Resource{Version: "v1", Resource: "nodes"})
	harness.Eventually(t, 90*time.Second, "node joined is Ready", func() (bool, string) {
		n, err := nodes.Get(ctx, "", "joined")
		if err != nil {
			return false, err.Error()
		}
		return n.IsReady(), "not ready"
	})

	// Its certificate came from a request by the bootstrap token, approved and issued.
	csrs, err := client.For[certificates.CertificateSigningRequest](admin,
		client.Resource{Group: certificates.GroupName, Version: "v1", Resource: "certificatesigningrequests"}).List(ctx, "", client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var issued bool
	for _, r := range csrs.Items {
		if strings.HasPrefix(r.Spec.Username, "system:bootstrap:") && r.Spec.SignerName == certificates.KubeAPIServerClientKubeletSignerName &&
			certificates.HasCondition(&r.Status, certificates.CertificateApproved) && len(r.Status.Certificate) > 0 {
			issued = true
		}
	}
	if !issued {
		t.Errorf("no approved and issued node client request by a bootstrap token: %+v", csrs.Items)
	}
	cert, err := pki.ParseCert(mustRead(t, filepath.Join(nodeDir, "pki", "node-client-current.pem")))
	if err != nil || cert.Subject.CommonName != "system:node:joined" || cert.CheckSignatureFrom(ca) != nil {
		t.Fatalf("node certificate: %v %v", err, cert.Subject)
	}

	// It runs skiff-ingress as the ingress controller (not as the node): the host reaches it
	// at the node's address, and with no Ingress it answers 404 for every path.
	harness.Eventually(t, 60*time.Second, "skiff-ingress answering on the joined node's port 80", func() (bool, string) {
		resp, err := (&http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{}}).Get("http://" + nodeIP + "/anything")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusNotFound && strings.Contains(string(body), "no Ingress rule matches"), fmt.Sprintf("%d %s", resp.StatusCode, body)
	})
	if b := mustRead(t, filepath.Join(nodeDir, "ingress-kubeconfig")); !strings.Contains(string(b), "https://"+joinCmd[2]) {
		t.Errorf("the joined node's ingress kubeconfig does not name the server it joined (%s):\n%s", joinCmd[2], b)
	}

	// It runs pods like any node.
	c.Kubectl.Run(t, "run", "on-joined", "--image=busybox", "--overrides", `{"spec":{"nodeName":"joined"}}`, "--command", "--", "sleep", "3600")
	harness.Eventually(t, 60*time.Second, "pod running on the joined node", func() (bool, string) {
		out, err := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "get", "pod", "on-joined", "-o", "jsonpath={.status.phase}").CombinedOutput()
		return err == nil && string(out) == "Running", string(out)
	})
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
