// Command skiff-nodeagent runs a node: it registers the Node, heartbeats its Lease and runs
// the pods bound to it through containerd (started for it unless --containerd-address is
// given) or, with --runtime sim, through the simulated runtime (--sim-nodes N runs N
// simulated nodes in this one process).
//
// `skiff-nodeagent import --data-dir DIR FILE...` loads image archives into a node's
// containerd; `skiff-nodeagent cleanup --data-dir DIR` removes a stopped node's containers,
// network and containerd (what `skiff down` does).
//
// `skiff-nodeagent container-logger PATH` is the containerd binary logger the agent
// configures for its containers, and `container-logger PATH STDOUT STDERR` the logger it
// starts for containers with stdin and no terminal (not for people to run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/internal/cli"
	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/certificate"
	"github.com/skiff-sh/skiff/nodeagent/logs"
	"github.com/skiff-sh/skiff/nodeagent/network"
	"github.com/skiff-sh/skiff/nodeagent/podworker"
	"github.com/skiff-sh/skiff/nodeagent/runtime/containerd"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
	agentserver "github.com/skiff-sh/skiff/nodeagent/server"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "container-logger" {
		if err := logs.RunLogger(os.Args[2]); err != nil {
			cli.Fatal("skiff-nodeagent container-logger", err)
		}
		return
	}
	if len(os.Args) == 5 && os.Args[1] == "container-logger" {
		// PATH STDOUT-FIFO STDERR-FIFO: a container with stdin and no terminal (the agent
		// starts this logger itself; runtime/containerd/attach.go).
		if err := logs.RunFIFOLogger(os.Args[2], os.Args[3], os.Args[4]); err != nil {
			cli.Fatal("skiff-nodeagent container-logger", err)
		}
		return
	}
	if len(os.Args) >= 2 && os.Args[1] == "import" {
		importImages(os.Args[2:])
		return
	}
	if len(os.Args) >= 2 && os.Args[1] == "cleanup" {
		cleanup(os.Args[2:])
		return
	}
	host, _ := os.Hostname()
	var (
		kubeconfig, server, nodeName, rt, nodeIP, labels, taints, reserved string
		bootstrapKubeconfig, certDir                                       string
		serving                                                            servingOptions
		podCIDR, dataDir, listen, ctrdAddr, clusterDNS, clusterDomain      string
		simCPU, simMemory, level, format, cgroupParent                     string
		podManifestPath, runtimeHandlers, unsafeSysctls                    string
		simNodes, maxPods, workers, port                                   int
		maxImageBytes                                                      int64
		events, routes                                                     bool
		backoff, simExit, heartbeat, statsInterval                         time.Duration
	)
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the API server (default $KUBECONFIG, ~/.kube/config)")
	flag.StringVar(&server, "server", "", cli.ServerFlagUsage)
	flag.StringVar(&bootstrapKubeconfig, "bootstrap-kubeconfig", "", "kubeconfig with a bootstrap token: without a valid client certificate in --cert-dir, ask for one (CertificateSigningRequest), write --kubeconfig, and renew it before it expires")
	flag.StringVar(&serving.certFile, "tls-cert-file", "", "serving certificate of the node agent's port (PEM); with --client-ca-file only the API server may use logs/exec/attach/port-forward")
	flag.StringVar(&serving.keyFile, "tls-private-key-file", "", "its key")
	flag.StringVar(&serving.clientCAFile, "client-ca-file", "", "CA client certificates are verified against (the cluster CA; default with --bootstrap-kubeconfig: the kubeconfig's)")
	flag.StringVar(&certDir, "cert-dir", "", "where the node's client certificate is kept with --bootstrap-kubeconfig (default DATA-DIR/pki)")
	flag.StringVar(&nodeName, "node-name", strings.ToLower(host), "the Node's name (the prefix of simulated nodes' names)")
	flag.StringVar(&rt, "runtime", "containerd", "containerd or sim")
	flag.IntVar(&simNodes, "sim-nodes", 1, "with --runtime sim: how many nodes this process simulates (named NAME-0 ... when more than one)")
	flag.StringVar(&simCPU, "sim-cpu", "32", "with --runtime sim: each node's cpu capacity")
	flag.StringVar(&simMemory, "sim-memory", "256Gi", "with --runtime sim: each node's memory capacity")
	flag.DurationVar(&simExit, "sim-exit-delay", time.Second, "with --runtime sim: how long a container whose command ends in `exit N` runs")
	flag.StringVar(&nodeIP, "node-ip", "", "the node's InternalIP (default: the address of the default route's interface)")
	flag.StringVar(&labels, "node-labels", "", "extra node labels: k=v,k2=v2")
	flag.StringVar(&taints, "register-with-taints", "", "taints to register with: key=value:Effect,key:Effect")
	flag.StringVar(&reserved, "system-reserved", "", "resources kept from pods: cpu=100m,memory=100Mi")
	flag.IntVar(&maxPods, "max-pods", 110, "the node's pods capacity")
	flag.StringVar(&podCIDR, "pod-cidr", "", "the node's pod CIDR, set on its Node if the control plane has not (until node IPAM does it)")
	flag.StringVar(&dataDir, "data-dir", "", "pods' files, volumes, logs and the containerd started for the node (default /var/lib/skiff/nodes/NAME)")
	flag.StringVar(&listen, "listen", "", "where the node agent's server (logs, streams, stats) listens (default NODE-IP:PORT; with --runtime sim a port per node on NODE-IP or on this address's host; \"-\" disables it)")
	flag.DurationVar(&statsInterval, "stats-interval", 10*time.Second, "how often pods' and the node's CPU and memory are sampled (the window of their CPU rates)")
	flag.Int64Var(&maxImageBytes, "max-image-archive-bytes", agentserver.DefaultMaxImageBytes, "the largest image archive `skiff image import` may upload to this node (through the API server)")
	flag.IntVar(&port, "port", 10250, "the port the Node advertises for its log server")
	flag.StringVar(&ctrdAddr, "containerd-address", "", "socket of a running containerd to use; empty starts one under --data-dir")
	flag.StringVar(&unsafeSysctls, "allowed-unsafe-sysctls", "", "sysctls pods may set beyond the safe ones, comma-separated names or prefixes ending in '*' (kernel.msg*,net.core.somaxconn); only namespaced ones (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)")
	flag.StringVar(&runtimeHandlers, "runtime-handlers", "", "RuntimeClass handlers besides runc, as containerd runtimes: name=io.containerd.NAME.v2,...")
	flag.StringVar(&clusterDNS, "cluster-dns", "10.96.0.10", "nameserver of pods with dnsPolicy ClusterFirst (comma-separated)")
	flag.StringVar(&clusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	flag.StringVar(&podManifestPath, "pod-manifest-path", "", "directory of pod manifests (*.yaml, *.yml, *.json) run as static pods, shown in the API as mirror pods named NAME-NODE; read every 5s (containerd nodes)")
	flag.StringVar(&cgroupParent, "cgroup-root", "/skiff", "cgroup under which pods' cgroups go (cgroupfs)")
	flag.BoolVar(&routes, "routes", true, "program routes to other nodes' pod CIDRs via their InternalIPs")
	flag.BoolVar(&events, "events", true, "emit events for pods")
	flag.IntVar(&workers, "workers", 0, "concurrent pod syncs per node (default 8; 2 per node with --sim-nodes > 1)")
	flag.DurationVar(&backoff, "crashloop-backoff", 10*time.Second, "first crash-loop back-off delay (doubles up to 5m)")
	flag.DurationVar(&heartbeat, "heartbeat-interval", 10*time.Second, "how often the Lease is renewed and status checked")
	gcCfg := gcFlags()
	evictionCfg := evictionFlags()
	flag.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&format, "log-format", "text", "text or json")
	flag.Parse()

	log, err := cli.Logger(level, format)
	if err != nil {
		cli.Fatal("skiff-nodeagent", err)
	}
	ctx, stop := cli.SignalContext()
	defer stop()
	var (
		cfg     *client.Config
		rotator *certificate.Manager
	)
	if bootstrapKubeconfig != "" {
		if kubeconfig == "" {
			cli.Fatal("skiff-nodeagent", errors.New("--bootstrap-kubeconfig needs --kubeconfig (the file to write)"))
		}
		if certDir == "" {
			certDir = filepath.Join(nodeDataDir(dataDir, nodeName), "pki")
		}
		cfg, rotator, err = bootstrapClient(ctx, bootstrapKubeconfig, kubeconfig, certDir, nodeName, log)
		if err == nil {
			cli.ApplyServers(cfg, server) // the API servers of an HA control plane
		}
	} else {
		cfg, err = cli.ClientConfig(kubeconfig, server)
	}
	if err != nil {
		cli.Fatal("skiff-nodeagent", err)
	}
	cfg.UserAgent = "skiff-nodeagent/" + nodeName
	if rt == "sim" && simNodes > 1 {
		cfg.QPS, cfg.Burst = 0, 0 // one client carries many nodes
	}
	c, err := client.New(cfg)
	if err != nil {
		cli.Fatal("skiff-nodeagent", err)
	}
	base := nodeagent.Config{
		NodeName: nodeName, Client: c, NodeIP: nodeIP, PodCIDR: podCIDR, MaxPods: maxPods,
		Workers: workers, BackoffBase: backoff, HeartbeatInterval: heartbeat, Log: log, Port: port, StatsInterval: statsInterval,
		DNS: podworkerDNS(clusterDNS, clusterDomain), MaxImageBytes: maxImageBytes,
	}
	if base.Labels, err = parseMap(labels); err != nil {
		cli.Fatal("skiff-nodeagent", fmt.Errorf("--node-labels: %w", err))
	}
	if base.Taints, err = parseTaints(taints); err != nil {
		cli.Fatal("skiff-nodeagent", fmt.Errorf("--register-with-taints: %w", err))
	}
	if base.SystemReserved, err = parseResources(reserved); err != nil {
		cli.Fatal("skiff-nodeagent", fmt.Errorf("--system-reserved: %w", err))
	}
	if base.GC, err = gcCfg(); err != nil {
		cli.Fatal("skiff-nodeagent", err)
	}
	if base.AllowedUnsafeSysctls, err = parseUnsafeSysctls(unsafeSysctls); err != nil {
		cli.Fatal("skiff-nodeagent", fmt.Errorf("--allowed-unsafe-sysctls: %w", err))
	}
	if base.Eviction, err = evictionCfg(); err != nil {
		cli.Fatal("skiff-nodeagent", err)
	}
	if rotator != nil {
		go rotator.Run(ctx, c)
	}
	switch rt {
	case "sim":
		if base.Capacity, err = parseResources("cpu=" + simCPU + ",memory=" + simMemory + ",ephemeral-storage=1Ti"); err != nil {
			cli.Fatal("skiff-nodeagent", err)
		}
		if events {
			base.Recorder = record.NewRecorder(c, "kubelet", "")
		}
		if workers == 0 && simNodes > 1 {
			base.Workers = 2
		}
		if base.NodeIP == "" {
			base.NodeIP = nodeagent.DefaultNodeIP()
		}
		if listen != "-" {
			// Each simulated node serves its stats on a port of its own on this host
			// (--listen's host, default the node IP), with --tls-cert-file's certificate.
			host := base.NodeIP
			if listen != "" {
				if host, _, err = net.SplitHostPort(listen); err != nil {
					cli.Fatal("skiff-nodeagent", fmt.Errorf("--listen: %w", err))
				}
			}
			base.Addr = net.JoinHostPort(host, "0")
			serving.nodeName, serving.log, serving.clientCAData = nodeName, log, cfg.TLS.CAData
			if base.TLS, err = servingTLS(ctx, serving, c, base.NodeIP); err != nil {
				cli.Fatal("skiff-nodeagent", err)
			}
		}
		err = nodeagent.RunSimNodes(ctx, base, nodeagent.SimNodeNames(nodeName, simNodes), sim.Options{ExitDelay: simExit})
	case "containerd":
		base.StaticPodPath = podManifestPath
		serving.nodeName, serving.log, serving.clientCAData = nodeName, log, cfg.TLS.CAData
		// Without a serving certificate on the command line the agent asks the cluster for
		// one (kubelet-serving CSR) whenever it knows the cluster CA, so a node agent started
		// by hand is as locked down as one under skiff up; plain HTTP only against a server
		// without TLS (development).
		if serving.certFile == "" && (bootstrapKubeconfig != "" || len(cfg.TLS.CAData) > 0) {
			if certDir == "" {
				certDir = filepath.Join(nodeDataDir(dataDir, nodeName), "pki")
			}
			serving.requestServing, serving.certDir = true, certDir
		}
		var handlers map[string]string
		if handlers, err = parseMap(runtimeHandlers); err != nil {
			err = fmt.Errorf("--runtime-handlers: %w", err)
			break
		}
		err = runContainerd(ctx, base, c, dataDir, ctrdAddr, listen, cgroupParent, events, routes, serving, handlers)
	default:
		err = fmt.Errorf("--runtime: want containerd or sim, got %q", rt)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		cli.Fatal("skiff-nodeagent", err)
	}
}

func runContainerd(ctx context.Context, base nodeagent.Config, c *client.Client, dataDir, addr, listen, cgroupParent string, events, routes bool, serving servingOptions, handlers map[string]string) error {
	if dataDir == "" {
		dataDir = filepath.Join("/var/lib/skiff/nodes", base.NodeName)
	}
	dataDir, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	if base.NodeIP == "" {
		base.NodeIP = nodeagent.DefaultNodeIP()
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	rt, err := containerd.Start(ctx, containerd.Options{
		DataDir: dataDir, Address: addr, Namespace: "skiff-" + base.NodeName,
		LoggerBinary: self, PauseBinary: filepath.Join(filepath.Dir(self), "skiff-pause"), Log: base.Log,
		RuntimeHandlers: handlers,
	})
	if err != nil {
		return err
	}
	defer rt.Close()
	base.Runtime, base.RootDir, base.CgroupParent = rt, dataDir, cgroupParent
	base.OOMScoreAdjFloor = ownOOMScoreAdj()
	if events {
		base.Recorder = record.NewRecorder(c, "kubelet", base.NodeName)
	}
	switch listen {
	case "":
		base.Addr = fmt.Sprintf("%s:%d", base.NodeIP, base.Port)
	case "-":
	default:
		base.Addr = listen
	}
	if base.Addr != "" {
		if base.TLS, err = servingTLS(ctx, serving, c, base.NodeIP); err != nil {
			return err
		}
	}
	if routes {
		r := &network.Routes{Self: base.NodeName, Log: base.Log}
		base.OnNodes = r.Sync
	}
	a, err := nodeagent.New(base)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// ownOOMScoreAdj is this process's oom_score_adj: containers are never given less (it
// would need CAP_SYS_RESOURCE).
func ownOOMScoreAdj() int {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// importImages is `skiff-nodeagent import --data-dir DIR [--containerd-address A] [--namespace N] FILE...`:
// it loads image archives into a node's containerd.
func importImages(args []string) {
	fs := flag.NewFlagSet("import", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "the node's data dir (its containerd socket is DIR/containerd/containerd.sock)")
	addr := fs.String("containerd-address", "", "containerd socket (overrides --data-dir)")
	ns := fs.String("namespace", "", "containerd namespace (default: the node's, from --data-dir)")
	fs.Parse(args)
	ctx, stop := cli.SignalContext()
	defer stop()
	names, err := containerd.ImportFiles(ctx, *dataDir, *addr, *ns, fs.Args())
	if err != nil {
		cli.Fatal("skiff-nodeagent import", err)
	}
	for _, n := range names {
		fmt.Println(n)
	}
}

// cleanup is `skiff-nodeagent cleanup --data-dir DIR`: run after the node's agent stopped.
func cleanup(args []string) {
	fs := flag.NewFlagSet("cleanup", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "the node's data dir")
	cgroupRoot := fs.String("cgroup-root", "/skiff", "the agent's --cgroup-root: pods' empty cgroups under it are removed")
	fs.Parse(args)
	if *dataDir == "" {
		cli.Fatal("skiff-nodeagent cleanup", errors.New("--data-dir is required"))
	}
	log, _ := cli.Logger("info", "text")
	ctx, stop := cli.SignalContext()
	defer stop()
	uids, err := containerd.Cleanup(ctx, *dataDir, log)
	// The containers are gone (or some failed to go: their cgroups are not empty and stay).
	for _, uid := range uids {
		podworker.RemovePodCgroup(*cgroupRoot, uid)
	}
	if err != nil {
		cli.Fatal("skiff-nodeagent cleanup", err)
	}
}

func podworkerDNS(servers, domain string) (d nodeagent.DNSConfig) {
	d.ClusterDomain = domain
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			d.ClusterDNS = append(d.ClusterDNS, s)
		}
	}
	return d
}

func parseMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

func parseTaints(s string) ([]core.Taint, error) {
	var out []core.Taint
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		kv, effect, ok := strings.Cut(t, ":")
		if !ok {
			return nil, fmt.Errorf("%q has no :Effect", t)
		}
		switch core.TaintEffect(effect) {
		case core.TaintEffectNoSchedule, core.TaintEffectPreferNoSchedule, core.TaintEffectNoExecute:
		default:
			return nil, fmt.Errorf("%q: unknown effect %q", t, effect)
		}
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, core.Taint{Key: k, Value: v, Effect: core.TaintEffect(effect)})
	}
	return out, nil
}

func parseResources(s string) (core.ResourceList, error) {
	m, err := parseMap(s)
	if err != nil {
		return nil, err
	}
	out := core.ResourceList{}
	for k, v := range m {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[core.ResourceName(k)] = q
	}
	return out, nil
}

// parseUnsafeSysctls reads --allowed-unsafe-sysctls; as the kubelet, it refuses a sysctl
// that is not namespaced (setting it for a pod would set it for the whole node).
func parseUnsafeSysctls(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if core.NamespaceOfSysctl(strings.TrimSuffix(name, "*")) == core.SysctlNodeWide {
			return nil, fmt.Errorf("%q is not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)", name)
		}
		out = append(out, name)
	}
	return out, nil
}
