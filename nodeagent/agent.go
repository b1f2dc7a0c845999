// Package nodeagent is skiff's kubelet: it registers a Node, heartbeats its Lease, runs
// the pods bound to it through a Runtime (containerd, or the sim runtime), and reports
// their status. Everything it does goes through the API server.
//
// Subpackages: runtime (the interface) with runtime/containerd and runtime/sim;
// podworker (per-pod sync and status); probes; volumes; network (CNI and routes); logs;
// server (the streaming endpoints the API server proxies to).
package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/internal/wait"
	"github.com/skiff-sh/skiff/nodeagent/eviction"
	"github.com/skiff-sh/skiff/nodeagent/gc"
	"github.com/skiff-sh/skiff/nodeagent/podworker"
	"github.com/skiff-sh/skiff/nodeagent/probes"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/server"
	"github.com/skiff-sh/skiff/nodeagent/staticpod"
	"github.com/skiff-sh/skiff/nodeagent/stats"
	"github.com/skiff-sh/skiff/nodeagent/token"
	"github.com/skiff-sh/skiff/nodeagent/volumes"
)

// Config of one node agent.
type Config struct {
	NodeName string
	Client   *client.Client
	Runtime  runtime.Runtime
	// Sim marks a simulated node: no files, no volumes, probes decided by annotations.
	Sim bool
	// Recorder emits events; nil emits none.
	Recorder podworker.Recorder
	NodeIP   string // default DefaultNodeIP()
	Labels   map[string]string
	Taints   []core.Taint
	// PodCIDR is set on the Node when it has none (until an IPAM controller sets it).
	PodCIDR string
	// Capacity replaces what is read from the machine (sim nodes).
	Capacity       core.ResourceList
	SystemReserved core.ResourceList
	MaxPods        int // default 110
	// RootDir holds pod files, volumes and logs (not used by sim nodes).
	RootDir string
	// Addr is where the node agent's server (logs, streams, stats) listens, "" for none;
	// Port is what the Node advertises as its kubelet endpoint (with Addr's port 0, the
	// port the kernel picked).
	Addr string
	Port int
	// TLS makes the streaming server serve HTTPS to the API server only (server.TLS); nil
	// serves plain HTTP to anyone.
	TLS *server.TLS
	// MaxImageBytes bounds an image archive uploaded through the API server
	// (server.DefaultMaxImageBytes when 0).
	MaxImageBytes int64

	HeartbeatInterval    time.Duration // default 10s
	StatusReportInterval time.Duration // default 1m
	LeaseDuration        time.Duration // default 40s
	Workers              int
	// SyncSlots bounds the pod syncs in flight across the agents sharing it (nil: none).
	SyncSlots    chan struct{}
	Resync       time.Duration
	BackoffBase  time.Duration
	DNS          podworker.DNSConfig
	CgroupParent string
	// AllowedUnsafeSysctls: the sysctls beyond the safe ones pods may set.
	AllowedUnsafeSysctls []string
	OOMScoreAdjFloor     int
	// Sources are shared watches (many sim nodes in one process); nil: the agent's own.
	Sources *Sources
	// OnNetwork is called with every node once it is known, so that routes to other
	// nodes' pod CIDRs can be programmed; nil does nothing.
	OnNodes func(ctx context.Context, nodes []*core.Node)
	// StaticPodPath is a directory of pod manifests the agent runs as static pods, with
	// mirror pods in the API ("": none; see nodeagent/staticpod).
	StaticPodPath string
	// GC tunes garbage collection (Runtime, Log and Event are the agent's).
	GC gc.Config
	// Eviction sets the eviction thresholds (nil Thresholds: the kubelet's defaults; empty:
	// none), --eviction-max-pod-grace-period and --eviction-pressure-transition-period; the
	// rest is the agent's.
	Eviction eviction.Config
	// StatsInterval is how often pods' and the node's usage is sampled (default 10s).
	StatsInterval time.Duration
	Log           *slog.Logger
}

func (c *Config) setDefaults() error {
	if c.NodeName == "" {
		return errors.New("nodeagent: NodeName is empty")
	}
	if c.Client == nil || c.Runtime == nil {
		return errors.New("nodeagent: Client and Runtime are required")
	}
	if c.NodeIP == "" {
		c.NodeIP = DefaultNodeIP()
	}
	if c.MaxPods <= 0 {
		c.MaxPods = 110
	}
	if c.Sim && c.Capacity == nil {
		c.Capacity = SimCapacity
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 10 * time.Second
	}
	if c.StatusReportInterval <= 0 {
		c.StatusReportInterval = time.Minute
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 40 * time.Second
	}
	if c.Port == 0 {
		c.Port = 10250
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	c.Log = c.Log.With("node", c.NodeName)
	return nil
}

// SimCapacity is a simulated node's default capacity (kwok's).
var SimCapacity = core.ResourceList{
	core.ResourceCPU:              resource.MustParse("32"),
	core.ResourceMemory:           resource.MustParse("256Gi"),
	core.ResourceEphemeralStorage: resource.MustParse("1Ti"),
}

// Agent is one node.
type Agent struct {
	cfg      Config
	rt       runtime.Runtime
	log      *slog.Logger
	nodes    *client.Typed[core.Node, *core.Node]
	leases   *client.Typed[coordination.Lease, *coordination.Lease]
	machine  machine
	workers  *podworker.Manager
	prober   *probes.Manager
	gc       *gc.Collector
	stats    *stats.Collector
	eviction *eviction.Manager
	// localVolumes removes the data of deleted skiff.dev/local volumes (nil on sim nodes).
	localVolumes *volumes.Manager

	mu   sync.Mutex
	cidr string
	// adoptMu serializes adoptSpec (the status loop and the Node watch both call it).
	adoptMu sync.Mutex
	// statusNow asks the status loop to report at once (the pod CIDR arrived: the node may
	// be Ready now).
	statusNow chan struct{}
}

// New checks cfg and returns an agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	a := &Agent{
		cfg:       cfg,
		rt:        cfg.Runtime,
		log:       cfg.Log,
		nodes:     client.For[core.Node](cfg.Client, nodesResource),
		leases:    client.For[coordination.Lease](cfg.Client, leasesResource),
		statusNow: make(chan struct{}, 1),
	}
	if !cfg.Sim {
		a.machine = readMachine(cfg.RootDir)
	} else {
		a.machine = machine{info: readMachine("").info}
	}
	return a, nil
}

// Run registers the node and runs it until ctx ends. Containers keep running after Run
// returns: stopping the agent is not stopping its pods.
func (a *Agent) Run(ctx context.Context) error {
	// Listen before registering: an address with port 0 (simulated nodes, each on a port of
	// its own) gets its port now, and the Node advertises it.
	var listener net.Listener
	if a.cfg.Addr != "" {
		l, err := net.Listen("tcp", a.cfg.Addr)
		if err != nil {
			return fmt.Errorf("node agent server: %w", err)
		}
		listener = l
		if _, port, err := net.SplitHostPort(l.Addr().String()); err == nil && strings.HasSuffix(a.cfg.Addr, ":0") {
			a.cfg.Port, _ = strconv.Atoi(port)
		}
	}
	node, err := a.registerUntilDone(ctx)
	if err != nil && listener != nil {
		listener.Close()
	}
	if err != nil {
		return err
	}
	a.log.Info("node registered", "ip", a.cfg.NodeIP)
	if a.cfg.PodCIDR != "" && node.Spec.PodCIDR == "" {
		node.Spec.PodCIDR = a.cfg.PodCIDR
	}

	sources := a.cfg.Sources
	if sources == nil {
		sources = NewSources(a.cfg.Client, a.cfg.NodeName)
	}
	sources.Start(ctx)

	var runner probes.Runner = probes.SimRunner{}
	if !a.cfg.Sim {
		runner = &probes.RuntimeRunner{Runtime: a.rt, PodIP: func(p *core.Pod) string {
			if p.Spec.HostNetwork {
				return a.cfg.NodeIP
			}
			if ip := a.workers.PodIP(p.UID); ip != "" {
				return ip
			}
			return p.Status.PodIP
		}}
	}
	a.prober = probes.New(runner, func(uid string) { a.workers.Enqueue(uid) }, a.cfg.Recorder, a.log)
	wcfg := podworker.Config{
		NodeName:             a.cfg.NodeName,
		NodeIP:               func() string { return a.cfg.NodeIP },
		Allocatable:          func() core.ResourceList { _, al := a.capacity(); return al },
		Runtime:              a.rt,
		Pods:                 client.For[core.Pod](a.cfg.Client, podsResource),
		Objects:              newObjects(a.cfg.Client),
		RuntimeHandler:       newObjects(a.cfg.Client).RuntimeHandler,
		AllowedUnsafeSysctls: a.cfg.AllowedUnsafeSysctls,
		Services:             sources.Services,
		Probes:               a.prober,
		Recorder:             a.cfg.Recorder,
		DNS:                  a.cfg.DNS,
		CgroupParent:         a.cfg.CgroupParent,
		OOMScoreAdjFloor:     a.cfg.OOMScoreAdjFloor,
		Workers:              a.cfg.Workers,
		Slots:                a.cfg.SyncSlots,
		Resync:               a.cfg.Resync,
		BackoffBase:          a.cfg.BackoffBase,
		Log:                  a.log,
	}
	if !a.cfg.Sim {
		wcfg.RootDir = a.cfg.RootDir
		vm := volumes.New(a.cfg.RootDir, newObjects(a.cfg.Client), a.cfg.NodeIP)
		vm.Allocatable = wcfg.Allocatable
		vm.Tokens = token.New(requestToken(a.cfg.Client), nil)
		wcfg.Volumes = vm
		a.localVolumes = vm
	}
	a.workers = podworker.New(wcfg)
	a.gc = a.newCollector(node)
	a.stats = a.newStats()
	a.eviction = a.newEviction(node)
	var handler PodHandler = a.workers
	synced := sources.PodsSynced
	var static *staticpod.Manager
	if a.cfg.StaticPodPath != "" {
		static = staticpod.New(staticpod.Config{
			Dir: a.cfg.StaticPodPath, Node: a.cfg.NodeName, Next: a.workers, Log: a.log,
			API:   mirrorAPI{client.For[core.Pod](a.cfg.Client, podsResource)},
			Owner: &meta.OwnerReference{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: ptrTo(true)},
		})
		handler = static
		synced = func() bool { return sources.PodsSynced() && static.Synced() }
	}
	a.workers.SetSynced(synced)

	var wg sync.WaitGroup
	wg.Go(func() { a.workers.Run(ctx) })
	wg.Go(func() { a.gc.Run(ctx) })
	wg.Go(func() { a.stats.Run(ctx) })
	wg.Go(func() { a.eviction.Run(ctx) })
	wg.Go(func() { a.leaseLoop(ctx, node) })
	wg.Go(func() { a.statusLoop(ctx, node) })
	if a.localVolumes != nil {
		wg.Go(func() { a.localVolumeLoop(ctx) })
	}
	if static != nil {
		wg.Go(func() { static.Run(ctx) })
	}
	sources.Subscribe(a.cfg.NodeName, handler)
	sources.SubscribeNode(a.cfg.NodeName, a.onNode)
	if a.cfg.OnNodes != nil {
		wg.Go(func() { a.watchNodes(ctx) })
	}
	errc := make(chan error, 1)
	if listener != nil {
		// On a simulated node only the stats are of use (logs and streams answer that the
		// sim runtime runs no processes).
		srv := &server.Server{
			Listener: listener, Runtime: a.rt, LogDir: filepath.Join(a.cfg.RootDir, "logs"),
			Pods: a.findPod, Log: a.log, TLS: a.cfg.TLS, Stats: a.stats.Latest,
			MaxImageBytes: a.cfg.MaxImageBytes,
		}
		wg.Go(func() {
			if err := srv.Run(ctx); err != nil {
				errc <- err
			}
		})
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if a.cfg.Sources != nil {
		a.cfg.Sources.Unsubscribe(a.cfg.NodeName)
	}
	wg.Wait()
	return err
}

// findPod finds a pod of this node by namespace and name.
func (a *Agent) findPod(namespace, name string) *core.Pod {
	return a.workers.Find(namespace, name)
}

func (a *Agent) registerUntilDone(ctx context.Context) (*core.Node, error) {
	delay := 200 * time.Millisecond
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		node, err := a.register(rctx)
		cancel()
		if err == nil {
			return node, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		a.log.Warn("node registration failed", "err", err, "retryIn", delay)
		if !wait.Sleep(ctx, delay) {
			return nil, ctx.Err()
		}
		delay = min(2*delay, 7*time.Second)
	}
}

// watchNodes tells OnNodes about every node whenever one changes.
func (a *Agent) watchNodes(ctx context.Context) {
	inf := informer.NewInformer[core.Node, *core.Node](a.nodes, "", client.ListOptions{}, time.Minute)
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	inf.AddEventHandler(informer.Handler[*core.Node]{
		AddFunc:    func(*core.Node) { poke() },
		UpdateFunc: func(*core.Node, *core.Node) { poke() },
		DeleteFunc: func(*core.Node) { poke() },
	})
	go inf.Run(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		a.cfg.OnNodes(ctx, inf.Indexer().List())
	}
}

// String names the agent in logs.
func (a *Agent) String() string { return fmt.Sprintf("node %s", a.cfg.NodeName) }
