// Package launcher starts a whole skiff cluster as separate processes (what `skiff up` does),
// supervises them, writes a kubeconfig, and stops everything cleanly.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// Options configure a cluster.
type Options struct {
	// DataDir holds etcd's data, the nodes' data, logs, the kubeconfig and the pid file
	// (default ~/.skiff).
	DataDir string
	// Port is the API server's port on 127.0.0.1 (default 6443).
	Port int
	// AdvertiseAddress is an address of this machine the API server also listens on (with
	// Port), first: what cluster-info tells joining nodes, so machines elsewhere can
	// `skiff join` (default: loopback only, or the node bridge with containerd nodes).
	AdvertiseAddress string
	// APIServers is how many API servers to run (default 1): server i listens on Port+i,
	// and with more than one the controller manager and scheduler run once per server too
	// (leader-elected), as on the machines of an HA control plane (ha.go).
	APIServers int
	// EtcdMembers, when not 0, runs an etcd cluster of that many members (Debian's etcd)
	// that the API servers share, instead of an etcd embedded in the one API server
	// (default 3 when APIServers > 1).
	EtcdMembers int
	// Nodes is how many nodes to start; 0 runs the control plane alone.
	Nodes int
	// Runtime of the nodes: "containerd" (real containers, each node in a network namespace
	// of its own; needs root) or "sim" (simulated nodes in one process).
	Runtime string
	// Disable names components not to start ("scheduler", "controller-manager": a cluster
	// for testing one's own; "ingress": no skiff-ingress on the nodes, ports 80 and 443
	// left free).
	Disable []string
	// BinDir is where the component binaries are; default: next to the running executable,
	// then $PATH.
	BinDir string
	// APIServerArgs are extra skiff-apiserver flags (skifftest's Options.APIServerArgs).
	APIServerArgs []string
	// NodeAgentArgs are extra skiff-nodeagent flags for every node, after skiff up's own
	// (so they win: e.g. "--eviction-hard=..." replaces NodeEvictionHard).
	NodeAgentArgs []string
	// Out receives the user-facing lines (default stdout).
	Out    io.Writer
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		o.DataDir = filepath.Join(home, ".skiff")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	o.DataDir = abs
	if o.Port == 0 {
		o.Port = 6443
	}
	if o.Runtime == "" {
		o.Runtime = "containerd"
	}
	if o.APIServers == 0 {
		o.APIServers = 1
	}
	if o.APIServers > 1 && o.EtcdMembers == 0 {
		o.EtcdMembers = 3
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

func (o *Options) check() error {
	switch {
	case o.APIServers < 0 || o.APIServers > 9:
		return fmt.Errorf("--apiservers must be 1 to 9, got %d", o.APIServers)
	case o.APIServers > 1 && o.EtcdMembers == 0:
		return errors.New("--apiservers above 1 share an etcd cluster: give --etcd-members (3 for HA)")
	case o.EtcdMembers < 0 || o.EtcdMembers > 9:
		return fmt.Errorf("--etcd-members must be 0 (embedded etcd) to 9, got %d", o.EtcdMembers)
	case o.Nodes < 0:
		return fmt.Errorf("--nodes must be 0 or more, got %d", o.Nodes)
	case o.Runtime != "containerd" && o.Runtime != "sim":
		return fmt.Errorf("--runtime: want containerd or sim, got %q", o.Runtime)
	case o.Runtime == "containerd" && o.Nodes > 0 && os.Geteuid() != 0:
		return errors.New("containerd nodes run real containers and need root: run skiff up as root, or use --runtime sim (simulated nodes) or --nodes 0 (control plane only)")
	case slices.ContainsFunc(o.Disable, func(d string) bool { return d != "scheduler" && d != "controller-manager" && d != "ingress" }):
		return fmt.Errorf("--disable: want scheduler, controller-manager and/or ingress, got %v", o.Disable)
	case o.Runtime == "containerd" && o.Nodes > 200:
		return fmt.Errorf("--nodes %d: containerd nodes are one containerd each; use --runtime sim for large clusters", o.Nodes)
	}
	return nil
}

// isDisabled reports whether the control-plane component name is in Disable.
func (o *Options) isDisabled(name string) bool {
	return slices.Contains(o.Disable, name)
}

// component is one process of the cluster.
type component struct {
	name string // also the log file's name
	bin  string // the skiff binary it runs
	args []string
	// wrap runs the binary through another program (nsenter into a node's namespace).
	wrap func(bin string, args ...string) (string, []string)
}

// Up starts the cluster and blocks until ctx ends, then stops every process it started
// and, for containerd nodes, removes their containers and network.
func Up(ctx context.Context, o Options) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	for _, d := range []string{o.DataDir, filepath.Join(o.DataDir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := claimPidFile(o.DataDir); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(o.DataDir, "skiff.pid"))

	server := fmt.Sprintf("https://127.0.0.1:%d", o.Port)
	kubeconfig := filepath.Join(o.DataDir, "kubeconfig")
	listen := fmt.Sprintf("127.0.0.1:%d", o.Port)
	sec, err := openClusterPKI(o.DataDir)
	if err != nil {
		return err
	}
	// Processes on the host reach the API server on loopback; processes inside the nodes'
	// namespaces reach it on the bridge's address (nodeServer).
	nodeServer := server
	var nw *nodeNetwork
	var extraIPs []net.IP
	if o.Runtime == "containerd" && o.Nodes > 0 {
		nw = newNodeNetwork(o.Port, o.Nodes)
		if err := nw.checkRoutesFree(); err != nil { // routes.go
			return err
		}
		// Dismissed after the network teardown below (deferred calls run last-first).
		defer startJanitor(o)() // janitor.go
		if err := nw.setUp(); err != nil {
			return fmt.Errorf("node network: %w", err)
		}
		defer nw.tearDown()
		// The bridge address first: it is the kubernetes Service's endpoint, which pods reach.
		listen = fmt.Sprintf("%s:%d,%s", nw.hostIP(), o.Port, listen)
		nodeServer = fmt.Sprintf("https://%s:%d", nw.hostIP(), o.Port)
		extraIPs = append(extraIPs, net.ParseIP(nw.hostIP()))
	}
	if o.AdvertiseAddress != "" {
		ip := net.ParseIP(o.AdvertiseAddress)
		if ip == nil {
			return fmt.Errorf("--advertise-address %q is not an IP address", o.AdvertiseAddress)
		}
		listen = net.JoinHostPort(ip.String(), strconv.Itoa(o.Port)) + "," + listen
		extraIPs = append(extraIPs, ip)
	}
	apiArgs, err := sec.apiServerArgs(extraIPs...)
	if err != nil {
		return err
	}
	if err := sec.kubeconfig(kubeconfig, pki.AdminName, server, pki.Admin); err != nil {
		return err
	}
	adminHTTP, err := sec.adminHTTP(kubeconfig)
	if err != nil {
		return err
	}

	// The API server stops last: the others release their leases, write their last status
	// and stop their pods' watches through it.
	apiCtx, stopAPI := context.WithCancel(context.Background())
	defer stopAPI()
	// etcd members stop after the API servers.
	etcdCtx, stopEtcd := context.WithCancel(context.Background())
	defer stopEtcd()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var etcdWG, apiWG, wg sync.WaitGroup
	errc := make(chan error, 4+2*o.Nodes+3*o.APIServers+o.EtcdMembers)
	start := func(c component) (*process, error) {
		bin, err := FindBinary(o.BinDir, c.bin)
		if err != nil {
			return nil, err
		}
		args := c.args
		if c.wrap != nil {
			bin, args = c.wrap(bin, args...)
		}
		p := &process{name: c.name, bin: bin, args: args, logPath: filepath.Join(o.DataDir, "logs", c.name+".log"), log: o.Logger}
		pctx, group := ctx, &wg
		switch {
		case strings.HasPrefix(c.name, "skiff-apiserver"):
			pctx, group = apiCtx, &apiWG
		case strings.HasPrefix(c.name, "etcd-"):
			pctx, group = etcdCtx, &etcdWG
		}
		group.Add(1)
		go func() {
			defer group.Done()
			// The first errors stop the cluster; later ones (every process exiting on the
			// way down) must never block that shutdown on a full channel.
			select {
			case errc <- p.supervise(pctx):
			default:
			}
		}()
		return p, nil
	}
	// Everything started is stopped, the API server last, and containerd nodes are cleaned
	// up, before Up returns; the deferred network teardown runs after this.
	defer func() {
		cancel()
		wg.Wait()
		stopAPI()
		apiWG.Wait()
		stopEtcd()
		etcdWG.Wait()
		if nw != nil {
			cleanupNodes(o, nw)
		}
	}()

	if o.isDisabled("controller-manager") {
		// Nothing would create the default ServiceAccounts, and the ServiceAccount admission
		// plugin would refuse every pod.
		apiArgs = append(apiArgs, "--disable-admission-plugins", "ServiceAccount")
	}
	cp := newControlPlane(o, listen, nodeServer)
	storageArgs := []string{"--data-dir", filepath.Join(o.DataDir, "etcd")}
	if o.EtcdMembers > 0 {
		if storageArgs, err = startEtcd(ctx, o, start); err != nil { // ha.go
			return err
		}
	}
	for i := 0; i < o.APIServers; i++ {
		args := append(append(append([]string{"--listen", cp.listen(i)}, storageArgs...), apiArgs...), o.APIServerArgs...)
		api, err := start(component{name: cp.apiServerName(i), bin: "skiff-apiserver", args: args})
		if err != nil {
			return err
		}
		if err := waitReady(ctx, adminHTTP, cp.hostURL(i)+"/readyz", 60*time.Second, api); err != nil {
			return err
		}
	}
	// The control plane's /metrics listen on free ports (the defaults would collide between
	// clusters on one machine); DIR/metrics lists where.
	var metrics strings.Builder
	var cm *process
	for i := 0; i < o.APIServers; i++ {
		fmt.Fprintf(&metrics, "%s %s/metrics\n", cp.apiServerName(i), cp.hostURL(i))
	}
	for _, inst := range cp.instances([]string{"skiff-controller-manager", "skiff-scheduler"}) {
		name := inst.bin
		if o.isDisabled(strings.TrimPrefix(name, "skiff-")) {
			continue
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		fmt.Fprintf(&metrics, "%s http://%s/metrics\n", inst.name, addr)
		id, file := pki.Scheduler, pki.SchedulerName
		if name == "skiff-controller-manager" {
			id, file = pki.ControllerManager, pki.ControllerManagerName
		}
		kc, err := sec.component(file, server, id)
		if err != nil {
			return err
		}
		args := append([]string{"--kubeconfig", kc, "--metrics-addr", addr}, cp.serverArgs(inst.index, false)...)
		if name == "skiff-controller-manager" {
			args = append(args, sec.controllerManagerArgs()...)
		}
		proc, err := start(component{name: inst.name, bin: name, args: args})
		if err != nil {
			return err
		}
		if name == "skiff-controller-manager" && cm == nil {
			cm = proc
		}
	}
	if cm != nil {
		// The ServiceAccount admission plugin refuses pods until their namespace's default
		// account exists, and the controller manager creates it a moment after it starts: a
		// pod created as soon as skiff says it is up must not race that.
		if err := waitReady(ctx, adminHTTP, server+"/api/v1/namespaces/default/serviceaccounts/default", 60*time.Second, cm); err != nil {
			return fmt.Errorf("the default ServiceAccount: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(o.DataDir, "metrics"), []byte(metrics.String()), 0o644); err != nil {
		return err
	}
	nodes, err := nodeComponents(o, nw, sec, nodeServer, cp)
	if err != nil {
		return err
	}
	for _, c := range nodes {
		if _, err := start(c); err != nil {
			return err
		}
	}
	if o.Nodes > 0 {
		if err := waitNodes(ctx, o, kubeconfig, nw, errc); err != nil {
			return err
		}
	}
	fmt.Fprintf(o.Out, "skiff is up: export KUBECONFIG=%s (logs in %s; Ctrl-C or `skiff down` stops it)\n", kubeconfig, filepath.Join(o.DataDir, "logs"))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// nodeComponents are the node agents and, on each containerd node, its service proxy
// (which also serves cluster DNS at 10.96.0.10 in the node).
func nodeComponents(o Options, nw *nodeNetwork, sec *clusterPKI, server string, cp *controlPlane) ([]component, error) {
	if o.Nodes == 0 {
		return nil, nil
	}
	if o.Runtime == "sim" {
		// One process simulates every node, so no single node identity fits it: it runs as
		// an administrator (a simulator, never a real node).
		kc, err := sec.component("nodeagent-sim", server, pki.CertRequest{CommonName: "skiff:sim-nodes",
			Organization: []string{"system:masters"}, Usage: pki.ClientAuth})
		if err != nil {
			return nil, err
		}
		// Each simulated node serves its stats (for metrics.k8s.io) on a port of its own
		// on the machine's address, with one serving certificate for them all.
		cert, key, err := sec.simServing()
		if err != nil {
			return nil, err
		}
		args := []string{"--kubeconfig", kc, "--runtime", "sim", "--sim-nodes", strconv.Itoa(o.Nodes), "--node-name", "sim",
			"--tls-cert-file", cert, "--tls-private-key-file", key, "--client-ca-file", sec.dir.File(pki.CACert)}
		if o.Nodes > 100 {
			args = append(args, "--events=false") // a thousand nodes' pod events would drown the API
		}
		args = append(args, cp.serverArgs(0, false)...)
		args = append(append(args, "--eviction-hard="+NodeEvictionHard), o.NodeAgentArgs...)
		return []component{{name: "skiff-nodeagent-sim", bin: "skiff-nodeagent", args: args}}, nil
	}
	proxyKC, err := sec.component(pki.ProxyName, server, pki.Proxy)
	if err != nil {
		return nil, err
	}
	ingressKC, err := sec.component(pki.IngressName, server, pki.Ingress)
	if err != nil {
		return nil, err
	}
	var out []component
	for i := 1; i <= o.Nodes; i++ {
		name := nodeName(i)
		kubeconfig, err := sec.component("node-"+name, server, pki.Node(name))
		if err != nil {
			return nil, err
		}
		// The node agent's port serves HTTPS with a certificate of the cluster CA for the
		// node's address, and lets in only the API server's client certificate.
		servingCert, servingKey, err := sec.nodeServing(name, net.ParseIP(nw.nodeIP(i)))
		if err != nil {
			return nil, err
		}
		inNode := func(bin string, args ...string) (string, []string) { return nw.enter(i, bin, args...) }
		// Each node runs the static pods of DATA-DIR/nodes/NODE/manifests.
		manifests := filepath.Join(nodeDataDir(o, i), "manifests")
		if err := os.MkdirAll(manifests, 0o755); err != nil {
			return nil, err
		}
		out = append(out,
			component{name: "skiff-nodeagent-" + name, bin: "skiff-nodeagent", wrap: inNode,
				args: append([]string{"--kubeconfig", kubeconfig, "--node-name", name, "--data-dir", nodeDataDir(o, i),
					"--node-ip", nw.nodeIP(i), "--tls-cert-file", servingCert, "--tls-private-key-file", servingKey,
					"--client-ca-file", sec.dir.File(pki.CACert), "--pod-manifest-path", manifests,
					"--eviction-hard=" + NodeEvictionHard}, append(cp.serverArgs(i, true), o.NodeAgentArgs...)...)},
			// The proxy's metrics and health ports are on the node's own loopback.
			component{name: "skiff-proxy-" + name, bin: "skiff-proxy", wrap: inNode,
				args: append([]string{"--kubeconfig", proxyKC, "--node-name", name}, cp.serverArgs(i, true)...)})
		if !o.isDisabled("ingress") {
			// The ingress controller listens on ports 80 and 443 of the node's addresses
			// (the host reaches it at each node's address); its health port is on the
			// node's loopback.
			out = append(out, component{name: "skiff-ingress-" + name, bin: "skiff-ingress", wrap: inNode,
				args: append([]string{"--kubeconfig", ingressKC, "--node-name", name}, cp.serverArgs(i, true)...)})
		}
	}
	return out, nil
}

// freeAddr is a loopback address with a port free at the time of asking.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func nodeName(i int) string { return fmt.Sprintf("node-%d", i) }

func nodeDataDir(o Options, i int) string { return filepath.Join(o.DataDir, "nodes", nodeName(i)) }

// waitNodes waits until every node is registered and Ready, then (containerd nodes) routes
// the host to each node's pods, so that pod IPs answer from the host as they do from pods.
func waitNodes(ctx context.Context, o Options, kubeconfig string, nw *nodeNetwork, errc chan error) error {
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return err
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	nodes := client.For[core.Node](c, client.Resource{Version: "v1", Resource: "nodes"})
	deadline := time.Now().Add(3 * time.Minute)
	var seen string
	for {
		list, err := nodes.List(ctx, "", client.ListOptions{})
		ready := 0
		if err == nil {
			var states []string
			for _, n := range list.Items {
				ok := n.IsReady() && (nw == nil || n.Spec.PodCIDR != "")
				if ok {
					ready++
				}
				states = append(states, fmt.Sprintf("%s ready=%v podCIDR=%q", n.Name, n.IsReady(), n.Spec.PodCIDR))
			}
			seen = strings.Join(states, ", ")
			if ready >= o.Nodes {
				warnPressure(o, list.Items)
				if nw != nil {
					for _, n := range list.Items {
						if err := nw.routeHost(n.Spec.PodCIDR, n.Address(core.NodeInternalIP)); err != nil {
							o.Logger.Warn("no route from the host to the node's pods", "node", n.Name, "err", err)
						}
					}
					// Service IPs (and cluster DNS) from the host go through the first node's proxy.
					if err := nw.routeHost(serviceCIDR, nw.nodeIP(1)); err != nil {
						o.Logger.Warn("no route from the host to Service IPs", "err", err)
					}
				}
				return nil
			}
		} else {
			seen = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d nodes not ready after 3m (seen: %s); see the node agents' logs in %s", o.Nodes, seen, filepath.Join(o.DataDir, "logs"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-errc:
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// warnPressure says which nodes start under resource pressure: their taints keep pods off
// them, which is otherwise a puzzle.
func warnPressure(o Options, nodes []core.Node) {
	for _, n := range nodes {
		for _, c := range n.Status.Conditions {
			switch c.Type {
			case core.NodeMemoryPressure, core.NodeDiskPressure, core.NodePIDPressure:
				if c.Status == core.ConditionTrue {
					fmt.Fprintf(o.Out, "warning: node %s reports %s (%s); it is tainted and new pods will not be scheduled to it\n", n.Name, c.Type, c.Message)
				}
			}
		}
	}
}

// NodeEvictionHard is the --eviction-hard skiff up gives its nodes: memory as the kubelet,
// but no disk thresholds. A local cluster shares the laptop's (or CI machine's) disk, and a
// disk 85% full would otherwise taint every node with disk-pressure and stop scheduling;
// kind runs its nodes with nodefs/imagefs at 0% for the same reason. A node agent started
// on its own keeps the kubelet's defaults.
const NodeEvictionHard = "memory.available<100Mi,nodefs.available<0%,nodefs.inodesFree<0%,imagefs.available<0%,imagefs.inodesFree<0%"

// serviceCIDR is the API server's default Service range.
const serviceCIDR = "10.96.0.0/12"

// cleanupNodes removes the containers and network of every containerd node once its agent
// has stopped: the Pods stay in the API and are recreated by the next skiff up.
func cleanupNodes(o Options, nw *nodeNetwork) {
	bin, err := FindBinary(o.BinDir, "skiff-nodeagent")
	if err != nil {
		o.Logger.Error("cannot clean up nodes", "err", err)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i <= o.Nodes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exe, args := nw.enter(i, bin, "cleanup", "--data-dir", nodeDataDir(o, i))
			out, err := exec.Command(exe, args...).CombinedOutput()
			if err != nil {
				o.Logger.Warn("node cleanup failed", "node", nodeName(i), "err", err, "out", string(out))
			}
			// Cleanup stops the containerd it finds through the node's recorded runtime; one
			// started by an agent stopped before it recorded that is stopped here.
			stopContainerd(filepath.Join(nodeDataDir(o, i), "containerd"), o)
		}()
	}
	wg.Wait()
}

// claimPidFile refuses a second cluster on the same data dir while the first still runs.
func claimPidFile(dir string) error {
	path := filepath.Join(dir, "skiff.pid")
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && processAlive(pid) {
			return fmt.Errorf("a cluster is already running from %s (pid %d); run `skiff down --data-dir %s` first", dir, pid, dir)
		}
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// Down stops the cluster started from dataDir and waits until it is gone.
func Down(dataDir string, timeout time.Duration) error {
	o := Options{DataDir: dataDir}
	if err := o.setDefaults(); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(o.DataDir, "skiff.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no cluster is running from %s", o.DataDir)
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad pid file: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d still running after %s", pid, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// FindBinary finds a skiff program: in binDir, next to the running executable, then in $PATH.
func FindBinary(binDir, name string) (string, error) {
	dirs := []string{binDir}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("cannot find %s next to skiff or in $PATH (build all binaries with `go build -o bin/ ./cmd/...`)", name)
	}
	return p, nil
}

func waitReady(ctx context.Context, c *http.Client, url string, timeout time.Duration, p *process) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if p.exited() {
			return fmt.Errorf("%s exited during start-up; last lines of %s:\n%s", p.name, p.logPath, tail(p.logPath, 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s (%s); see %s", p.name, timeout, last, p.logPath)
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ImportImages loads image archives into the containerd of every node of the cluster
// started from dataDir (what `skiff image import` does; like `kind load image-archive`).
func ImportImages(dataDir, binDir string, files []string, out io.Writer) error {
	o := Options{DataDir: dataDir, BinDir: binDir}
	if err := o.setDefaults(); err != nil {
		return err
	}
	if len(files) == 0 {
		return errors.New("no image archive given")
	}
	for i, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		files[i] = abs
	}
	bin, err := FindBinary(o.BinDir, "skiff-nodeagent")
	if err != nil {
		return err
	}
	nodes, err := startedNodes(o.DataDir, importWait, out)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		dir := filepath.Dir(n)
		res, err := exec.Command(bin, append([]string{"import", "--data-dir", dir}, files...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("node %s: %v: %s", filepath.Base(dir), err, strings.TrimSpace(string(res)))
		}
		for _, name := range strings.Fields(string(res)) {
			fmt.Fprintf(out, "%s: %s\n", filepath.Base(dir), name)
		}
	}
	return nil
}
