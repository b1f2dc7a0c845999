package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/internal/systemdunit"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/test/harness"
	"github.com/skiff-sh/skiff/test/images"
)

// machine is a "VM": a network namespace (its own address on a shared bridge), a host name
// of its own (UTS namespace) and a directory of its own standing in for its /var/lib/skiff,
// /etc/skiff and /usr/local/bin. Nothing is shared with the other machines but the network.
type machine struct {
	name, ns, ip, dir, bin string
}

// path maps a path of a unit file onto this machine's directory.
func (m *machine) path(p string) string {
	for _, pre := range []string{"/var/lib/skiff", "/etc/skiff"} {
		if strings.HasPrefix(p, pre) {
			return filepath.Join(m.dir, strings.TrimPrefix(p, "/"))
		}
	}
	if strings.HasPrefix(p, "/usr/local/bin/") {
		return filepath.Join(m.bin, filepath.Base(p))
	}
	return p
}

// command is exec of args inside the machine: its network namespace and its own host name.
// Not `ip netns exec`: that also gives the program a mount namespace with a fresh /sys
// without the cgroup mount under it, where runc cannot create a container ("no cgroup
// mount found in mountinfo"); a VM has its whole filesystem, /sys/fs/cgroup included.
func (m *machine) command(args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=/run/netns/" + m.ns, "unshare", "--uts", "sh", "-c",
		`hostname "$0" && exec "$@"`, m.name}, args...)...)
}

// runUnit starts deploy/systemd/NAME.service's ExecStart on m as systemd would (variables
// from its EnvironmentFile), with the unit's paths mapped onto m's directory, until the test
// ends.
func (m *machine) runUnit(t *testing.T, name string) {
	t.Helper()
	u, err := systemdunit.Read(filepath.Join("..", "..", "deploy", "systemd", name+".service"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	if u.EnvironmentFile != "" {
		if env, err = systemdunit.ReadEnv(m.path(u.EnvironmentFile)); err != nil {
			t.Fatalf("%s on %s: %v", name, m.name, err)
		}
	}
	args, err := u.Command(env)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for i, a := range args {
		args[i] = m.path(a)
	}
	cmd := m.command(args...)
	logPath := filepath.Join(m.dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("%s on %s:\n%s", name, m.name, tailLines(string(b), 30))
			if name == "skiff-node" {
				b, _ := os.ReadFile(m.path("/var/lib/skiff/node/logs/skiff-nodeagent.log"))
				t.Logf("skiff-nodeagent on %s:\n%s", m.name, tailLines(string(b), 30))
			}
		}
	})
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// newMachines makes one "VM" per name on a bridge of their own: a network namespace with
// an address 10.248.X.10, .11, ... and a default route through the host, and a directory.
func newMachines(t *testing.T, bin string, names ...string) []*machine {
	t.Helper()
	x := os.Getpid() % 250
	bridge := fmt.Sprintf("skvm%d", x)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "link", "del", bridge).Run() // left over from an interrupted run
	run("ip", "link", "add", bridge, "type", "bridge")
	t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
	run("ip", "addr", "add", fmt.Sprintf("10.248.%d.1/24", x), "dev", bridge)
	run("ip", "link", "set", bridge, "up")
	root := t.TempDir()
	var ms []*machine
	for i, name := range names {
		m := &machine{name: name, ns: fmt.Sprintf("skvm%d-%s", x, name), ip: fmt.Sprintf("10.248.%d.%d", x, 10+i),
			dir: filepath.Join(root, name), bin: bin}
		host, peer := fmt.Sprintf("skvm%d%sh", x, name), fmt.Sprintf("skvm%d%sn", x, name)
		exec.Command("ip", "netns", "del", m.ns).Run()
		run("ip", "netns", "add", m.ns)
		t.Cleanup(func() { exec.Command("ip", "netns", "del", m.ns).Run() })
		run("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
		t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
		run("ip", "link", "set", host, "master", bridge, "up")
		run("ip", "link", "set", peer, "netns", m.ns)
		run("ip", "netns", "exec", m.ns, "ip", "addr", "add", m.ip+"/24", "dev", peer)
		run("ip", "netns", "exec", m.ns, "ip", "link", "set", peer, "up")
		run("ip", "netns", "exec", m.ns, "ip", "link", "set", "lo", "up")
		run("ip", "netns", "exec", m.ns, "ip", "route", "add", "default", "via", fmt.Sprintf("10.248.%d.1", x))
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

// Three "VMs" on one bridge: the control plane prepared with `skiff init` and run from the
// units' ExecStart lines (API server, controller manager, scheduler), and two workers that
// run skiff-node.service (`skiff join` with the printed token and CA hash). An image is
// imported through the API server (no registry), a Deployment spreads its pods over both
// workers, and they reach each other across the machines by pod IP, by Service IP and by
// the Service's DNS name.
func TestVMClusterFromSystemdUnits(t *testing.T) {
	needContainerd(t)
	for _, p := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skip(p + " (util-linux) not installed")
		}
	}
	bin := harness.Binaries(t)
	// The workers' pods, CNI bridges and shims are on this kernel like any containerd
	// node's: take turns with the other clusters.
	harness.LockContainerdClusters(t)
	ms := newMachines(t, bin, "cp", "w1", "w2")
	cp, workers := ms[0], ms[1:]

	// The control-plane machine: skiff init, then its three units.
	if out, err := cp.command(filepath.Join(bin, "skiff"), "init", "--data-dir", cp.path("/var/lib/skiff"),
		"--advertise-address", cp.ip).CombinedOutput(); err != nil {
		t.Fatalf("skiff init: %v\n%s", err, out)
	}
	for _, u := range []string{"skiff-apiserver", "skiff-controller-manager", "skiff-scheduler"} {
		cp.runUnit(t, u)
	}
	kc := &harness.Kubectl{Kubeconfig: cp.path("/var/lib/skiff/kubeconfig")}
	harness.Eventually(t, 2*time.Minute, "the API server answering at "+cp.ip, func() (bool, string) {
		out, errOut, err := kc.Exec([]string{"get", "serviceaccount", "default"}, "")
		return err == nil, out + errOut
	})
	out, err := cp.command(filepath.Join(bin, "skiff"), "token", "create", "--kubeconfig", kc.Kubeconfig, "--print-join-command").CombinedOutput()
	if err != nil {
		t.Fatalf("skiff token create: %v\n%s", err, out)
	}
	join := strings.Fields(strings.TrimSpace(string(out)))
	if len(join) < 7 || join[1] != "join" || join[3] != "--token" || join[5] != "--discovery-token-ca-cert-hash" {
		t.Fatalf("join command: %q", out)
	}

	// Each worker: /etc/skiff/join.env from the printed command, then skiff-node.service.
	for _, w := range workers {
		env := fmt.Sprintf("SKIFF_SERVER=%s\nSKIFF_TOKEN=%s\nSKIFF_CA_CERT_HASH=%s\n", join[2], join[4], join[6])
		if err := os.MkdirAll(w.path("/etc/skiff"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(w.path("/etc/skiff/join.env"), []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
		// Containers outlive skiff-node (a restarted agent adopts them), as on a VM: once
		// it has stopped, clear the machine as `skiff-nodeagent cleanup` does for a user.
		t.Cleanup(func() {
			if out, err := w.command(filepath.Join(bin, "skiff-nodeagent"), "cleanup", "--data-dir",
				w.path("/var/lib/skiff/node/agent")).CombinedOutput(); err != nil {
				t.Errorf("skiff-nodeagent cleanup on %s: %v\n%s", w.name, err, out)
			}
		})
		w.runUnit(t, "skiff-node")
	}
	harness.Eventually(t, 3*time.Minute, "w1 and w2 Ready", func() (bool, string) {
		out, _, err := kc.Exec([]string{"get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}`}, "")
		return err == nil && strings.Contains(out, "w1=True") && strings.Contains(out, "w2=True"), out
	})

	// No registry: the image goes through the API server to both workers' node agents.
	const image = "skiff.test/vm-web:1"
	arch := filepath.Join(t.TempDir(), "web.tar")
	img, err := images.Busybox(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := images.WriteFile(arch, img); err != nil {
		t.Fatal(err)
	}
	// Until a node agent's serving certificate is issued (its kubelet-serving request is
	// approved once the Node is registered) it serves a self-signed one, which the API
	// server refuses to relay to, as with the kubelet.
	harness.Eventually(t, time.Minute, "skiff image import to w1 and w2", func() (bool, string) {
		out, err := exec.Command(filepath.Join(bin, "skiff"), "image", "import", "--kubeconfig", kc.Kubeconfig, arch).CombinedOutput()
		return err == nil && strings.Contains(string(out), "w1: "+image) && strings.Contains(string(out), "w2: "+image), string(out)
	})

	// A Deployment with a pod on each worker (spread by host name), each answering HTTP
	// with its own name, and a Service in front of them.
	kc.RunStdin(t, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: %s
        imagePullPolicy: Never
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`, image), "apply", "-f", "-")
	pods := map[string][2]string{} // node -> pod name, pod IP
	harness.Eventually(t, 3*time.Minute, "a web pod Running on each worker", func() (bool, string) {
		out, _, err := kc.Exec([]string{"get", "pods", "-l", "app=web", "-o",
			`jsonpath={range .items[*]}{.spec.nodeName}={.metadata.name}={.status.podIP}={.status.phase} {end}`}, "")
		clear(pods)
		for _, f := range strings.Fields(out) {
			if p := strings.Split(f, "="); len(p) == 4 && p[3] == "Running" && p[2] != "" {
				pods[p[0]] = [2]string{p[1], p[2]}
			}
		}
		return err == nil && pods["w1"][0] != "" && pods["w2"][0] != "", out
	})
	from, to := pods["w1"][0], pods["w2"]
	// (Not wget -T: Debian's busybox-static wget segfaults with it.)
	fetch := func(url string) (string, string) {
		out, errOut, err := kc.Exec([]string{"exec", from, "--", "timeout", "3", "wget", "-qO-", url}, "")
		if err != nil {
			return "", fmt.Sprintf("%v: %s", err, errOut)
		}
		return strings.TrimSpace(out), out
	}
	// Pod to pod, across the machines: w1's pod reaches w2's by its IP.
	harness.Eventually(t, time.Minute, from+" on w1 reaching "+to[0]+" on w2 at "+to[1], func() (bool, string) {
		got, seen := fetch("http://" + to[1] + ":8080/")
		return got == to[0], seen
	})
	// Through the Service, by its IP and by its DNS name (the proxy on w1 serves both): the
	// answer from the pod on the other machine shows the traffic crossed to w2.
	svcIP := kc.Run(t, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")
	for _, url := range []string{"http://" + svcIP + "/", "http://web.default.svc.cluster.local/"} {
		harness.Eventually(t, time.Minute, from+" reaching "+to[0]+" on w2 through "+url, func() (bool, string) {
			got, seen := fetch(url)
			return got == to[0], seen
		})
	}
}

// An external etcd cluster with TLS, from the units: `skiff init --etcd-members` on the
// control-plane machine writes the etcd CA, the API server's etcd client certificate and
// each member's files; three "machines" run skiff-etcd.service with them, and the control
// plane's units run against the cluster (the API server with skiff.env's SKIFF_ETCD_ARGS).
// Objects land in the external etcd, nothing is embedded, and etcd refuses a client without
// a certificate and one with a certificate of the cluster CA (which signs every node's).
func TestExternalEtcdFromSystemdUnits(t *testing.T) {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd not installed (apt-get install etcd-server)")
	}
	for _, p := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skip(p + " (util-linux) not installed")
		}
	}
	bin := harness.Binaries(t)
	ms := newMachines(t, bin, "cp", "cp2", "e1", "e2", "e3")
	cp, cp2, members := ms[0], ms[1], ms[2:]
	var spec []string
	for _, m := range members {
		spec = append(spec, m.name+"="+m.ip)
	}
	if out, err := cp.command(filepath.Join(bin, "skiff"), "init", "--data-dir", cp.path("/var/lib/skiff"),
		"--advertise-address", cp.ip, "--etcd-members", strings.Join(spec, ",")).CombinedOutput(); err != nil {
		t.Fatalf("skiff init: %v\n%s", err, out)
	}
	// Each member gets its directory, as a user copies it (scp -r etcd-members/e1/. e1:/var/lib/skiff/).
	for _, m := range members {
		if err := os.MkdirAll(m.path("/var/lib/skiff"), 0o700); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", "-a", cp.path("/var/lib/skiff/etcd-members/"+m.name)+"/.", m.path("/var/lib/skiff")).CombinedOutput(); err != nil {
			t.Fatalf("copy %s's files: %v\n%s", m.name, err, out)
		}
		m.runUnit(t, "skiff-etcd")
	}
	for _, u := range []string{"skiff-apiserver", "skiff-controller-manager", "skiff-scheduler"} {
		cp.runUnit(t, u)
	}
	kc := &harness.Kubectl{Kubeconfig: cp.path("/var/lib/skiff/kubeconfig")}
	harness.Eventually(t, 2*time.Minute, "the API server answering at "+cp.ip, func() (bool, string) {
		out, errOut, err := kc.Exec([]string{"get", "serviceaccount", "default"}, "")
		return err == nil, out + errOut
	})
	kc.Run(t, "create", "configmap", "in-external-etcd", "--from-literal=k=v")
	if _, err := os.Stat(cp.path("/var/lib/skiff/etcd")); err == nil {
		t.Error("the API server made an embedded etcd in /var/lib/skiff/etcd")
	}

	// The object is in the external cluster, read with the API server's etcd credentials
	// from each member.
	pkiDir := cp.path("/var/lib/skiff/pki")
	etcdCA, err := os.ReadFile(filepath.Join(pkiDir, "etcd", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(etcdCA)
	etcdGet := func(endpoint string, certs []tls.Certificate) (int64, error) {
		c, err := storage.NewClient([]string{endpoint}, storage.WithTLS(&tls.Config{RootCAs: pool, Certificates: certs}))
		if err != nil {
			return 0, err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := c.Get(ctx, "/registry/configmaps/default/in-external-etcd")
		if err != nil {
			return 0, err
		}
		return r.Count, nil
	}
	apiserverCert, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "apiserver-etcd-client.crt"), filepath.Join(pkiDir, "apiserver-etcd-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		endpoint := "https://" + m.ip + ":2379"
		if n, err := etcdGet(endpoint, []tls.Certificate{apiserverCert}); err != nil || n != 1 {
			t.Errorf("%s: the ConfigMap's key: %d keys, %v", endpoint, n, err)
		}
	}
	// Refused: no client certificate, and a certificate the cluster CA signed.
	endpoint := "https://" + members[0].ip + ":2379"
	if _, err := etcdGet(endpoint, nil); err == nil {
		t.Errorf("%s answered a client without a certificate", endpoint)
	}
	clusterSigned, err := tls.LoadX509KeyPair(filepath.Join(pkiDir, "apiserver-kubelet-client.crt"), filepath.Join(pkiDir, "apiserver-kubelet-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcdGet(endpoint, []tls.Certificate{clusterSigned}); err == nil {
		t.Errorf("%s answered a client whose certificate the cluster CA (not the etcd CA) signed", endpoint)
	}

	// A second control-plane machine: `skiff token create --upload-certs` on the first seals
	// the cluster CA, the ServiceAccount key and the etcd client certificate into a Secret
	// and prints the command; on cp2 it fetches them with the token (nothing copied by hand).
	skiff := filepath.Join(bin, "skiff")
	out, err := cp.command(skiff, "token", "create", "--kubeconfig", kc.Kubeconfig, "--data-dir", cp.path("/var/lib/skiff"),
		"--print-join-command", "--upload-certs").CombinedOutput()
	if err != nil {
		t.Fatalf("skiff token create --upload-certs: %v\n%s", err, out)
	}
	f := strings.Fields(strings.TrimSpace(string(out)))
	if len(f) < 11 || f[1] != "init" || f[2] != "--control-plane-join" || f[len(f)-2] != "--advertise-address" || f[len(f)-4] != "--certificate-key" {
		t.Fatalf("control-plane join command: %q", out)
	}
	args := append(append([]string{}, f[1:len(f)-1]...), cp2.ip, "--data-dir", cp2.path("/var/lib/skiff"))
	wrong := append([]string{}, args...)
	wrong[len(f)-4] = strings.Repeat("0", 64) // the key's place in args (f shifted by one)
	if out, err := cp2.command(append([]string{skiff}, wrong...)...).CombinedOutput(); err == nil || !strings.Contains(string(out), "does not open") {
		t.Errorf("control-plane join with a wrong certificate key: %v\n%s", err, out)
	}
	if _, err := os.Stat(cp2.path("/var/lib/skiff/pki/ca.key")); err == nil {
		t.Error("a join with a wrong certificate key wrote the CA key")
	}
	if out, err := cp2.command(append([]string{skiff}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("skiff init --control-plane-join: %v\n%s", err, out)
	}
	for _, name := range []string{"ca.crt", "ca.key", "sa.key", "apiserver-etcd-client.key"} {
		if a, b := mustRead(t, cp.path("/var/lib/skiff/pki/"+name)), mustRead(t, cp2.path("/var/lib/skiff/pki/"+name)); string(a) != string(b) {
			t.Errorf("cp2's pki/%s differs from cp's", name)
		}
	}
	cp2.runUnit(t, "skiff-apiserver")
	kc2 := &harness.Kubectl{Kubeconfig: cp2.path("/var/lib/skiff/kubeconfig")}
	harness.Eventually(t, 2*time.Minute, "cp2's API server serving the ConfigMap made through cp", func() (bool, string) {
		out, errOut, err := kc2.Exec([]string{"get", "configmap", "in-external-etcd", "-o", "jsonpath={.data.k}"}, "")
		return err == nil && out == "v", out + errOut
	})
	if out := kc2.Run(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"); !strings.Contains(out, cp2.ip) {
		t.Errorf("cp2's kubeconfig points at %s, not cp2", out)
	}
}
