// Package proxy is skiff's service proxy, one per node, leaderless: it watches Services and
// EndpointSlices through informers, plans the node's ruleset (package plan) and applies it
// whole and atomically with one of the backends (iptables, the default; nftables; ipvs
// where the kernel has it), and it serves the cluster DNS (package dns).
//
// Guarantees: a sync rewrites every rule skiff owns from the informer caches, so it is
// level-triggered and a missed event cannot leave a stale rule past the next sync. A burst
// of changes costs one sync (at most one per MinSyncPeriod) and a full resync runs every
// SyncPeriod. A failed sync changes nothing in the kernel (iptables-restore and nft -f are
// transactions): the previous rules stay, the error is logged and counted, and the sync is
// retried with backoff. Starting over rules of a previous run replaces them (its stale
// chains are deleted); conntrack is never flushed, so established connections survive a
// restart.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/proxy/dns"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/iptables"
	"github.com/skiff-sh/skiff/proxy/ipvs"
	"github.com/skiff-sh/skiff/proxy/netpol"
	"github.com/skiff-sh/skiff/proxy/nftables"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// Modes.
const (
	ModeIPTables = "iptables"
	ModeNFTables = "nftables"
	ModeIPVS     = "ipvs"
)

// Config of a proxy.
type Config struct {
	// Client talks to the API server (required).
	Client *client.Client
	// NodeName is this node: its endpoints are the local ones (traffic policy Local).
	NodeName string
	// Mode is iptables (default), nftables or ipvs.
	Mode string
	// IPTablesCommand is the iptables flavour of mode iptables: "iptables" (default, the
	// system's) or "iptables-legacy" (x_tables: far faster with thousands of Services where
	// the system's iptables is the nf_tables flavour).
	IPTablesCommand string
	// ClusterCIDR is the pod network (default 10.244.0.0/16); Service traffic from outside
	// it is masqueraded.
	ClusterCIDR string
	// DNSAddr is where cluster DNS is served, UDP and TCP ("" disables it). An address that
	// is not local is put on VIPInterface.
	DNSAddr string
	// ClusterDomain is the DNS domain (default cluster.local).
	ClusterDomain string
	// DNSUpstreams are "ip:port" resolvers for names outside the cluster; nil reads them
	// from ResolvConf, an empty non-nil slice forwards nothing (SERVFAIL).
	DNSUpstreams []string
	// ResolvConf is the node's resolver configuration (default /etc/resolv.conf).
	ResolvConf string
	// VIPInterface holds the DNS address (default DefaultVIPInterface).
	VIPInterface string
	// EnsureDNSService creates Service kube-system/kube-dns at the DNS address if missing,
	// which reserves the address (no other Service can be given it) and shows it in kubectl.
	EnsureDNSService bool
	// MetricsAddr serves /metrics and /healthz ("" disables); HealthzAddr serves /healthz
	// and /livez ("" disables; may equal MetricsAddr).
	MetricsAddr, HealthzAddr string
	// MinSyncPeriod bounds how often the rules are rewritten (default 1s); SyncPeriod is the
	// full resync interval (default 30s).
	MinSyncPeriod, SyncPeriod time.Duration
	// HealthTimeout: /healthz fails when a change waited longer than this for a sync, or no
	// sync succeeded for SyncPeriod + this (default 2 × SyncPeriod, at least 10s).
	HealthTimeout time.Duration
	// Exec runs the backends' programs (nil: on this host). Tests run them in a namespace.
	Exec execer.Func
	// NetworkPolicies turns on NetworkPolicy enforcement for this node's pods (nftables,
	// table ip skiff-netpol; see package netpol and policy.go). PolicyMinSyncPeriod bounds
	// its syncs (default 250ms: a policy change reaches the kernel well within a second).
	NetworkPolicies     bool
	PolicyMinSyncPeriod time.Duration
	// Backend, if set, is used instead of Mode's (tests).
	Backend Backend
	// SkipVIP leaves the DNS address alone (tests listening on an address they own).
	SkipVIP bool
	Log     *slog.Logger
	// Ready, if set, is called with the proxy once it serves (tests).
	Ready func(*Proxy)
}

// Backend programs the kernel.
type Backend interface {
	Name() string
	// Sync makes the kernel's rules exactly the plan, atomically; full re-reads the
	// kernel's state first. It returns the number of rules written.
	Sync(ctx context.Context, p *plan.Plan, full bool) (int, error)
	// Cleanup removes everything the backend owns.
	Cleanup(ctx context.Context) error
}

// Proxy is a running proxy.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	tracker *Tracker
	backend Backend
	syncer  *syncer
	metrics *metrics
	dns     *dns.Server
	dnsIP   netip.Addr
	dnsPort int32

	mu       sync.Mutex
	lastPlan *plan.Plan
	synced   bool
}

func (c *Config) defaults() error {
	if c.Client == nil {
		return errors.New("proxy: Config.Client is required")
	}
	if c.Mode == "" {
		c.Mode = ModeIPTables
	}
	if c.ClusterCIDR == "" {
		c.ClusterCIDR = "10.244.0.0/16"
	}
	if _, err := netip.ParsePrefix(c.ClusterCIDR); err != nil {
		return fmt.Errorf("proxy: cluster CIDR: %w", err)
	}
	if c.ClusterDomain == "" {
		c.ClusterDomain = "cluster.local"
	}
	if c.ResolvConf == "" {
		c.ResolvConf = "/etc/resolv.conf"
	}
	if c.VIPInterface == "" {
		c.VIPInterface = DefaultVIPInterface
	}
	if c.MinSyncPeriod <= 0 {
		c.MinSyncPeriod = time.Second
	}
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = 30 * time.Second
	}
	if c.PolicyMinSyncPeriod <= 0 {
		c.PolicyMinSyncPeriod = 250 * time.Millisecond
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = max(2*c.SyncPeriod, 10*time.Second)
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return nil
}

// NewBackend checks that mode can run here and returns its backend (iptablesCmd: the
// iptables flavour, "" for the system's).
func NewBackend(mode, iptablesCmd string, run execer.Func) (Backend, error) {
	switch mode {
	case ModeIPTables:
		if err := iptables.Check(iptablesCmd); err != nil {
			return nil, err
		}
		return iptables.NewCommand(run, iptablesCmd), nil
	case ModeNFTables:
		if err := nftables.Check(); err != nil {
			return nil, err
		}
		return nftables.New(run), nil
	case ModeIPVS:
		if err := ipvs.Check(); err != nil {
			return nil, err
		}
		return ipvs.New(run), nil
	}
	return nil, fmt.Errorf("proxy: unknown mode %q (want iptables, nftables or ipvs)", mode)
}

// Run runs a proxy until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	backend := cfg.Backend
	if backend == nil {
		var err error
		if backend, err = NewBackend(cfg.Mode, cfg.IPTablesCommand, cfg.Exec); err != nil {
			return err
		}
	}
	p := &Proxy{cfg: cfg, log: cfg.Log.With("component", "proxy", "mode", backend.Name()), backend: backend, metrics: newMetrics(backend.Name())}
	if cfg.DNSAddr != "" {
		host, port, err := net.SplitHostPort(cfg.DNSAddr)
		if err != nil {
			return fmt.Errorf("proxy: DNS address: %w", err)
		}
		if p.dnsIP, err = netip.ParseAddr(host); err != nil {
			return fmt.Errorf("proxy: DNS address: %w", err)
		}
		n, _ := strconv.Atoi(port)
		p.dnsPort = int32(n)
	}
	p.syncer = newSyncer(cfg.MinSyncPeriod, cfg.SyncPeriod, p.sync)
	p.tracker = NewTracker(cfg.Client, func() {
		p.metrics.lastQueued.SetToCurrentTime()
		p.syncer.Request()
	})

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() { defer wg.Done(); p.tracker.Run(ctx) }()

	// Rules of the other modes, left by an earlier run in another mode, would fight ours.
	if cfg.Backend == nil {
		p.removeOtherModes(ctx)
	}

	if cfg.DNSAddr != "" {
		if err := p.startDNS(ctx); err != nil {
			return err
		}
		if cfg.EnsureDNSService && !p.dnsIP.IsLoopback() && !p.dnsIP.IsUnspecified() {
			wg.Add(1)
			go func() { defer wg.Done(); p.ensureDNSService(ctx) }()
		}
	}
	if cfg.NetworkPolicies && netpol.Check() != nil {
		// Failing the proxy would take Services down with it; policies are the smaller loss,
		// and the log says so loudly.
		p.log.Error("NetworkPolicies will NOT be enforced on this node", "err", netpol.Check())
	} else if cfg.NetworkPolicies {
		pe := newPolicyEnforcer(cfg.Client, cfg.NodeName, netpol.New(cfg.Exec), cfg.PolicyMinSyncPeriod, cfg.SyncPeriod,
			p.dnsEndpoints, p.metrics.reg, cfg.Log.With("component", "network-policy"))
		wg.Add(1)
		go func() { defer wg.Done(); pe.run(ctx) }()
	}
	if err := p.serveHTTP(ctx); err != nil {
		return err
	}
	p.log.Info("waiting for the Service and EndpointSlice caches")
	for !p.tracker.HasSynced() {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
	if cfg.Ready != nil {
		cfg.Ready(p)
	}
	p.syncer.run(ctx)
	return nil
}

// sync plans from the caches and applies the plan.
func (p *Proxy) sync(ctx context.Context, full bool) error {
	start := time.Now()
	pl := plan.Build(plan.Input{
		NodeName: p.cfg.NodeName, ClusterCIDR: p.cfg.ClusterCIDR,
		Services: p.tracker.Services(), Slices: p.tracker.AllEndpointSlices(),
		Skip: p.servedLocally,
	})
	rules, err := p.backend.Sync(ctx, pl, full)
	d := time.Since(start)
	kind := "partial"
	if full {
		kind = "full"
	}
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		p.metrics.syncErrors.Inc()
		p.metrics.syncs.WithLabelValues(kind, "error").Inc()
		p.log.Error("sync failed; the previous rules stay in force, retrying", "full", full, "err", err)
		return err
	}
	p.metrics.syncDuration.Observe(d.Seconds())
	p.metrics.lastSync.SetToCurrentTime()
	p.metrics.syncs.WithLabelValues(kind, "success").Inc()
	p.metrics.rules.Set(float64(rules))
	st := pl.Stats()
	p.metrics.services.Set(float64(st.Services))
	p.metrics.endpoints.Set(float64(st.Endpoints))
	p.metrics.noEndpoints.Set(float64(st.NoEndpoints))
	p.mu.Lock()
	first := !p.synced
	p.synced, p.lastPlan = true, pl
	p.mu.Unlock()
	lvl := slog.LevelDebug
	if first {
		lvl = slog.LevelInfo
	}
	p.log.Log(ctx, lvl, "synced", "full", full, "servicePorts", st.Services, "endpoints", st.Endpoints,
		"withoutEndpoints", st.NoEndpoints, "rules", rules, "took", d.Round(time.Microsecond))
	return nil
}

// servedLocally: the proxy answers the DNS address itself; a Service there without
// endpoints (kube-dns) must not reject it.
func (p *Proxy) servedLocally(ip string, port int32, _ core.Protocol) bool {
	return p.dnsIP.IsValid() && ip == p.dnsIP.String() && port == p.dnsPort
}

// dnsEndpoints: the cluster DNS this proxy serves stands in, for policies, for the
// kube-dns pods of kube-system that a Kubernetes cluster would run (same labels and named
// ports), so the usual "allow DNS" egress rule allows it and a default deny blocks it.
func (p *Proxy) dnsEndpoints() []netpol.Endpoint {
	if !p.dnsIP.IsValid() || p.dnsIP.IsLoopback() || p.dnsIP.IsUnspecified() {
		return nil
	}
	return []netpol.Endpoint{{IP: p.dnsIP.String(), Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"},
		Ports: []netpol.NamedPort{{Name: "dns", Protocol: core.ProtocolUDP, Port: p.dnsPort}, {Name: "dns-tcp", Protocol: core.ProtocolTCP, Port: p.dnsPort}}}}
}

// Plan is the last plan applied (nil before the first sync).
func (p *Proxy) Plan() *plan.Plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastPlan
}

// DNSAddr is where DNS is served ("" when off).
func (p *Proxy) DNSAddr() string {
	if p.dns == nil {
		return ""
	}
	return p.dns.Addr()
}

// Tracker is the proxy's cache of Services and EndpointSlices.
func (p *Proxy) Tracker() *Tracker { return p.tracker }

func (p *Proxy) removeOtherModes(ctx context.Context) {
	ours, _ := p.backend.(*iptables.Backend)
	for _, b := range others(p.cfg.Exec) {
		if b.name == p.cfg.Mode {
			continue
		}
		if ib, ok := b.Backend.(*iptables.Backend); ok && ours != nil {
			// Another name for our own tables (iptables may be the legacy flavour).
			if ib.Command() == ours.Command() || ib.Flavour(ctx) == ours.Flavour(ctx) {
				continue
			}
		}
		if err := b.Cleanup(ctx); err != nil {
			p.log.Debug("removing the rules of another mode", "mode", b.name, "err", err)
		}
	}
}

// legacyTablesInUse says whether this network namespace has x_tables (legacy iptables)
// tables.
func legacyTablesInUse() bool {
	b, err := os.ReadFile("/proc/net/ip_tables_names")
	return err == nil && len(strings.TrimSpace(string(b))) > 0
}

type namedBackend struct {
	name string
	Backend
}

// others are the backends of every mode and flavour installed here (IPVS only where the
// kernel has it).
func others(run execer.Func) []namedBackend {
	var out []namedBackend
	for _, cmd := range []string{"iptables", "iptables-legacy"} {
		// Reading legacy tables loads the x_tables modules: not where none were ever used.
		if cmd == "iptables-legacy" && run == nil && !legacyTablesInUse() {
			continue
		}
		if iptables.Check(cmd) == nil {
			out = append(out, namedBackend{ModeIPTables + "/" + cmd, iptables.NewCommand(run, cmd)})
		}
	}
	if nftables.Check() == nil {
		out = append(out, namedBackend{ModeNFTables, nftables.New(run)})
	}
	if ipvs.Check() == nil {
		out = append(out, namedBackend{ModeIPVS, ipvs.New(run)})
	}
	return out
}

func (p *Proxy) startDNS(ctx context.Context) error {
	if !p.cfg.SkipVIP {
		added, err := ensureVIP(p.cfg.VIPInterface, p.dnsIP)
		if err != nil {
			return fmt.Errorf("proxy: DNS address: %w", err)
		}
		if added {
			p.log.Info("DNS address on a local interface", "addr", p.dnsIP.String(), "interface", p.cfg.VIPInterface)
		}
	}
	ups := p.cfg.DNSUpstreams
	if ups == nil {
		ups = dns.Upstreams(p.cfg.ResolvConf, p.dnsIP.String())
	}
	s, err := dns.Start(ctx, dns.Config{Addr: p.cfg.DNSAddr, Domain: p.cfg.ClusterDomain, Upstreams: ups,
		Lister: p.tracker, Log: p.cfg.Log.With("component", "dns")})
	if err != nil {
		return fmt.Errorf("proxy: DNS: %w", err)
	}
	p.dns = s
	p.metrics.reg.MustRegister(s.Collectors()...)
	return nil
}

// ensureDNSService creates kube-system/kube-dns at the DNS address, retrying until it
// exists (or is refused for good).
func (p *Proxy) ensureDNSService(ctx context.Context) {
	svcs := client.For[core.Service](p.cfg.Client, ServicesResource)
	want := &core.Service{
		TypeMeta: meta.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "kube-system", Name: "kube-dns", Labels: map[string]string{
			"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS", "kubernetes.io/cluster-service": "true",
			"app.kubernetes.io/managed-by": "skiff-proxy"}},
		Spec: core.ServiceSpec{Type: core.ServiceTypeClusterIP, ClusterIP: p.dnsIP.String(), ClusterIPs: []string{p.dnsIP.String()},
			Ports: []core.ServicePort{
				{Name: "dns", Protocol: core.ProtocolUDP, Port: p.dnsPort},
				{Name: "dns-tcp", Protocol: core.ProtocolTCP, Port: p.dnsPort},
			}},
	}
	for delay := time.Second; ctx.Err() == nil; delay = min(2*delay, 30*time.Second) {
		_, err := svcs.Get(ctx, "kube-system", "kube-dns")
		if err == nil {
			return
		}
		if client.IsNotFound(err) {
			_, err = svcs.Create(ctx, want)
			if err == nil {
				p.log.Info("created Service kube-system/kube-dns", "clusterIP", p.dnsIP.String())
				return
			}
			if client.IsAlreadyExists(err) {
				return
			}
			if client.IsInvalid(err) {
				p.log.Warn("cannot create Service kube-system/kube-dns (is the DNS address in the Service CIDR?)", "err", err)
				return
			}
		}
		p.log.Debug("kube-dns Service", "err", err, "retryIn", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
}

func (p *Proxy) serveHTTP(ctx context.Context) error {
	type server struct {
		addr    string
		metrics bool
	}
	var servers []server
	if p.cfg.MetricsAddr != "" {
		servers = append(servers, server{p.cfg.MetricsAddr, true})
	}
	if p.cfg.HealthzAddr != "" && p.cfg.HealthzAddr != p.cfg.MetricsAddr {
		servers = append(servers, server{p.cfg.HealthzAddr, false})
	}
	for _, s := range servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("proxy: listen %s: %w", s.addr, err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", p.healthz)
		mux.HandleFunc("/livez", p.healthz)
		mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
			p.mu.Lock()
			ok := p.synced
			p.mu.Unlock()
			if !ok {
				http.Error(w, "no sync yet", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "ok")
		})
		if s.metrics {
			mux.Handle("/metrics", promhttp.HandlerFor(p.metrics.reg, promhttp.HandlerOpts{}))
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				p.log.Error("http server", "err", err)
			}
		}()
		context.AfterFunc(ctx, func() { srv.Close() })
		p.log.Info("serving", "addr", ln.Addr().String(), "metrics", s.metrics)
	}
	return nil
}

func (p *Proxy) healthz(w http.ResponseWriter, _ *http.Request) {
	ok, why := p.syncer.healthy(p.cfg.HealthTimeout)
	if !ok {
		http.Error(w, "unhealthy: "+why, http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, why)
}

// Cleanup removes everything a proxy of any mode left on this node: the iptables chains,
// the nftables table, IPVS services and the DNS address interface (as kube-proxy
// --cleanup). Conntrack entries are left alone.
func Cleanup(ctx context.Context, run execer.Func, vipInterface string) error {
	var errs []error
	for _, b := range others(run) {
		errs = append(errs, b.Cleanup(ctx))
	}
	if netpol.Check() == nil {
		errs = append(errs, netpol.New(run).Cleanup(ctx))
	}
	if vipInterface == "" {
		vipInterface = DefaultVIPInterface
	}
	if run == nil {
		errs = append(errs, removeVIPInterface(vipInterface))
	} else {
		_, _ = run(ctx, nil, "ip", "link", "del", vipInterface) // "Cannot find device" is fine
	}
	return errors.Join(errs...)
}
