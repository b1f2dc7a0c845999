// Package controllermanager runs skiff's control loops in one process, as
// kube-controller-manager does: every controller (one package each under this directory)
// shares one client and one set of informers, and with leader election only the replica
// holding the Lease runs them. It serves /metrics (queue depth, reconcile latency and
// errors per controller), /healthz and /debug/pprof.
//
// The controllers: namespace, garbagecollector, serviceaccount, serviceaccount-token,
// root-ca-cert-publisher, replicaset, deployment, endpointslice, endpoint,
// endpointslicemirroring, nodelifecycle (with taint-based eviction), nodeipam, podgc, job
// (with ttl-after-finished), cronjob, statefulset, daemonset, persistentvolume-binder (with the
// skiff.dev/local provisioner), pvc-protection, pv-protection, ephemeral-volume, loadbalancer, disruption, resourcequota, horizontalpodautoscaling, tokencleaner
// (expired bootstrap tokens), clusterrole-aggregation, csrapproving and csrsigning.
package controllermanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/client/leaderelection"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/controllermanager/clusterroleaggregation"
	"github.com/skiff-sh/skiff/controllermanager/cronjob"
	"github.com/skiff-sh/skiff/controllermanager/csrapproving"
	"github.com/skiff-sh/skiff/controllermanager/csrsigning"
	"github.com/skiff-sh/skiff/controllermanager/daemonset"
	"github.com/skiff-sh/skiff/controllermanager/deployment"
	"github.com/skiff-sh/skiff/controllermanager/disruption"
	"github.com/skiff-sh/skiff/controllermanager/endpointslice"
	"github.com/skiff-sh/skiff/controllermanager/ephemeral"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/job"
	"github.com/skiff-sh/skiff/controllermanager/loadbalancer"
	"github.com/skiff-sh/skiff/controllermanager/namespace"
	"github.com/skiff-sh/skiff/controllermanager/nodelifecycle"
	"github.com/skiff-sh/skiff/controllermanager/persistentvolume"
	"github.com/skiff-sh/skiff/controllermanager/podautoscaler"
	"github.com/skiff-sh/skiff/controllermanager/podgc"
	"github.com/skiff-sh/skiff/controllermanager/replicaset"
	"github.com/skiff-sh/skiff/controllermanager/resourcequota"
	"github.com/skiff-sh/skiff/controllermanager/rootcacertpublisher"
	"github.com/skiff-sh/skiff/controllermanager/serviceaccount"
	"github.com/skiff-sh/skiff/controllermanager/serviceaccounttoken"
	"github.com/skiff-sh/skiff/controllermanager/statefulset"
	"github.com/skiff-sh/skiff/controllermanager/storagecapacity"
	"github.com/skiff-sh/skiff/controllermanager/tokencleaner"
	"github.com/skiff-sh/skiff/controllermanager/volumeprotection"
)

// Config configures a controller manager.
type Config struct {
	// Client talks to the API server. Give it no QPS limit (or a high one): the controllers
	// write a lot during a rollout and their queues already pace them.
	Client *client.Client
	// LeaderElect runs the controllers only while holding the Lease
	// LeaseNamespace/LeaseName (default kube-system/kube-controller-manager).
	LeaderElect    bool
	LeaseNamespace string
	LeaseName      string
	// Identity in the Lease (default hostname plus a random suffix).
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod tune the election (0: 15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// MetricsAddr serves /metrics, /healthz and, with Profiling, /debug/pprof (default
	// 127.0.0.1:10257; "-" turns it off; port 0 picks a free port, logged at start).
	MetricsAddr string
	// Profiling serves /debug/pprof on MetricsAddr (off by default: that port has no
	// authentication).
	Profiling bool
	// Controllers selects controllers as kube-controller-manager's --controllers does: "*"
	// is every controller, "name" adds one, "-name" removes one. Default ["*"].
	Controllers []string
	// Workers is how many keys each controller reconciles at once (default 5).
	Workers int
	Logger  *slog.Logger
	// Options tune single controllers (tests shorten their timings).
	Options Options
	// Registry receives the metrics (default: a new registry served on MetricsAddr).
	Registry *prometheus.Registry
}

// Options are per-controller settings.
type Options struct {
	NodeLifecycle nodelifecycle.Options
	IPAM          nodelifecycle.IPAMOptions
	PodGC         podgc.Options
	Job           job.Options
	CSRSigning    csrsigning.Options
	// ServiceAccountToken: without a signing key the controller does not run.
	ServiceAccountToken serviceaccounttoken.Options
	RootCA              rootcacertpublisher.Options
	ResourceQuota       resourcequota.Options
	HPA                 podautoscaler.Options
}

// ErrLostLeadership is returned by Run when another replica took the Lease: the process
// should exit and start over (kube-controller-manager exits too), so that no work of this
// term can overlap the next leader's.
var ErrLostLeadership = errors.New("controller manager: leader election lost")

// starter builds one controller; its Run is started once the informers run.
type starter func(cc *controller.Context, o *Options) (runner, error)

type runner interface{ Run(ctx context.Context) }

// controllers are all the controllers, by --controllers name, in start order.
var controllers = []struct {
	name  string
	start starter
}{
	{namespace.Name, func(cc *controller.Context, _ *Options) (runner, error) { return namespace.New(cc), nil }},
	{garbagecollector.Name, func(cc *controller.Context, _ *Options) (runner, error) { return garbagecollector.New(cc), nil }},
	{serviceaccount.Name, func(cc *controller.Context, _ *Options) (runner, error) { return serviceaccount.New(cc), nil }},
	{serviceaccounttoken.Name, func(cc *controller.Context, o *Options) (runner, error) {
		if o.ServiceAccountToken.SigningKey == nil {
			// As kube-controller-manager: no key, no token controller (token secrets stay empty).
			cc.Logger(serviceaccounttoken.Name).Warn("skipping the service account token controller: no --service-account-private-key-file")
			return idle{}, nil
		}
		return serviceaccounttoken.New(cc, o.ServiceAccountToken)
	}},
	{rootcacertpublisher.Name, func(cc *controller.Context, o *Options) (runner, error) {
		return rootcacertpublisher.New(cc, o.RootCA), nil
	}},
	{replicaset.Name, func(cc *controller.Context, _ *Options) (runner, error) { return replicaset.New(cc), nil }},
	{replicaset.ReplicationManagerName, func(cc *controller.Context, _ *Options) (runner, error) {
		return replicaset.NewReplicationManager(cc), nil
	}},
	{deployment.Name, func(cc *controller.Context, _ *Options) (runner, error) { return deployment.New(cc), nil }},
	{endpointslice.Name, func(cc *controller.Context, _ *Options) (runner, error) { return endpointslice.New(cc), nil }},
	{endpointslice.EndpointsName, func(cc *controller.Context, _ *Options) (runner, error) { return endpointslice.NewEndpoints(cc), nil }},
	{endpointslice.MirroringName, func(cc *controller.Context, _ *Options) (runner, error) { return endpointslice.NewMirroring(cc), nil }},
	{nodelifecycle.Name, func(cc *controller.Context, o *Options) (runner, error) {
		return nodelifecycle.New(cc, o.NodeLifecycle), nil
	}},
	{nodelifecycle.IPAMName, func(cc *controller.Context, o *Options) (runner, error) { return nodelifecycle.NewIPAM(cc, o.IPAM) }},
	{podgc.Name, func(cc *controller.Context, o *Options) (runner, error) { return podgc.New(cc, o.PodGC), nil }},
	{job.Name, func(cc *controller.Context, o *Options) (runner, error) { return job.New(cc, o.Job), nil }},
	{cronjob.Name, func(cc *controller.Context, _ *Options) (runner, error) { return cronjob.New(cc), nil }},
	{statefulset.Name, func(cc *controller.Context, _ *Options) (runner, error) { return statefulset.New(cc), nil }},
	{daemonset.Name, func(cc *controller.Context, _ *Options) (runner, error) { return daemonset.New(cc), nil }},
	{persistentvolume.Name, func(cc *controller.Context, _ *Options) (runner, error) { return persistentvolume.New(cc), nil }},
	{volumeprotection.PVCName, func(cc *controller.Context, _ *Options) (runner, error) { return volumeprotection.NewPVC(cc), nil }},
	{volumeprotection.PVName, func(cc *controller.Context, _ *Options) (runner, error) { return volumeprotection.NewPV(cc), nil }},
	{ephemeral.Name, func(cc *controller.Context, _ *Options) (runner, error) { return ephemeral.New(cc), nil }},
	{storagecapacity.Name, func(cc *controller.Context, _ *Options) (runner, error) { return storagecapacity.New(cc), nil }},
	{loadbalancer.Name, func(cc *controller.Context, _ *Options) (runner, error) { return loadbalancer.New(cc), nil }},
	{disruption.Name, func(cc *controller.Context, _ *Options) (runner, error) { return disruption.New(cc), nil }},
	{resourcequota.Name, func(cc *controller.Context, o *Options) (runner, error) {
		return resourcequota.New(cc, o.ResourceQuota), nil
	}},
	{podautoscaler.Name, func(cc *controller.Context, o *Options) (runner, error) { return podautoscaler.New(cc, o.HPA), nil }},
	{tokencleaner.Name, func(cc *controller.Context, _ *Options) (runner, error) { return tokencleaner.New(cc), nil }},
	{clusterroleaggregation.Name, func(cc *controller.Context, _ *Options) (runner, error) { return clusterroleaggregation.New(cc), nil }},
	{csrapproving.Name, func(cc *controller.Context, _ *Options) (runner, error) { return csrapproving.New(cc, nil), nil }},
	{csrsigning.Name, func(cc *controller.Context, o *Options) (runner, error) {
		if o.CSRSigning.CertFile == "" {
			// As kube-controller-manager: no signing CA, no signer (requests stay unissued).
			cc.Logger(csrsigning.Name).Warn("skipping the CSR signer: no --cluster-signing-cert-file")
			return idle{}, nil
		}
		return csrsigning.New(cc, o.CSRSigning)
	}},
}

// idle is a controller that has nothing to do.
type idle struct{}

func (idle) Run(context.Context) {}

// Names lists every controller name, for --controllers help.
func Names() []string {
	out := make([]string, len(controllers))
	for i, c := range controllers {
		out[i] = c.name
	}
	return out
}

// enabled resolves the --controllers list.
func enabled(selection []string) (map[string]bool, error) {
	if len(selection) == 0 {
		selection = []string{"*"}
	}
	known := map[string]bool{}
	for _, c := range controllers {
		known[c.name] = true
	}
	on := map[string]bool{}
	for _, s := range selection {
		s = strings.TrimSpace(s)
		switch {
		case s == "*":
			for n := range known {
				if _, set := on[n]; !set {
					on[n] = true
				}
			}
		case strings.HasPrefix(s, "-") && known[s[1:]]:
			on[s[1:]] = false
		case known[s]:
			on[s] = true
		default:
			return nil, fmt.Errorf("unknown controller %q (known: %s)", s, strings.Join(Names(), ", "))
		}
	}
	return on, nil
}

func (c *Config) setDefaults() error {
	if c.Client == nil {
		return errors.New("controller manager: Config.Client is required")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.LeaseNamespace == "" {
		c.LeaseNamespace = "kube-system"
	}
	if c.LeaseName == "" {
		c.LeaseName = "kube-controller-manager"
	}
	if c.Identity == "" {
		c.Identity = leaderelection.DefaultIdentity()
	}
	if c.MetricsAddr == "" {
		c.MetricsAddr = "127.0.0.1:10257"
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
		c.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return nil
}

// Run runs the controller manager until ctx ends (nil) or leadership is lost
// (ErrLostLeadership).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	on, err := enabled(cfg.Controllers)
	if err != nil {
		return err
	}
	log := cfg.Logger
	leader := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "leader_election_master_status", Help: "1 while this replica holds the leader Lease.",
		ConstLabels: prometheus.Labels{"name": cfg.LeaseName},
	})
	cfg.Registry.MustRegister(leader)
	metrics := controller.NewMetrics(cfg.Registry)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.MetricsAddr != "-" {
		stop, err := serve(ctx, cfg.MetricsAddr, cfg.Profiling, cfg.Registry, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	var workErr error
	work := func(ctx context.Context) {
		leader.Set(1)
		defer leader.Set(0)
		if err := runControllers(ctx, &cfg, on, metrics); err != nil {
			workErr = err
			cancel() // a controller that cannot be built is a configuration error: stop
		}
	}
	if !cfg.LeaderElect {
		work(ctx)
		return workErr
	}
	lost := false
	err = leaderelection.Run(ctx, cfg.Client, leaderelection.Config{
		Lock:          leaderelection.LeaseLock{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName, Identity: cfg.Identity},
		LeaseDuration: cfg.LeaseDuration, RenewDeadline: cfg.RenewDeadline, RetryPeriod: cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: work,
			OnStoppedLeading: func() { lost = ctx.Err() == nil },
			OnNewLeader: func(id string) {
				if id != cfg.Identity {
					log.Info("another replica leads", "leader", id)
				}
			},
		},
	})
	if err != nil {
		return err
	}
	if workErr != nil {
		return workErr
	}
	if lost {
		return ErrLostLeadership
	}
	return nil
}

// runControllers builds the enabled controllers over shared informers and runs them until
// ctx ends.
func runControllers(ctx context.Context, cfg *Config, on map[string]bool, metrics *controller.Metrics) error {
	log := cfg.Logger
	var recMu sync.Mutex
	recorders := map[string]controller.EventRecorder{}
	cc := &controller.Context{
		Client:    cfg.Client,
		Informers: informer.NewFactory(cfg.Client, "", 0),
		Recorder: func(component string) controller.EventRecorder {
			recMu.Lock()
			defer recMu.Unlock()
			r, ok := recorders[component]
			if !ok {
				r = record.NewRecorder(cfg.Client, component, "")
				recorders[component] = r
			}
			return r
		},
		Metrics: metrics,
		Log:     log,
		Workers: cfg.Workers,
	}
	var names []string
	var runners []runner
	for _, c := range controllers {
		if !on[c.name] {
			continue
		}
		r, err := c.start(cc, &cfg.Options)
		if err != nil {
			return fmt.Errorf("controller %s: %w", c.name, err)
		}
		names = append(names, c.name)
		runners = append(runners, r)
	}
	log.Info("starting controllers", "controllers", strings.Join(names, ","))
	cc.Informers.Start(ctx)
	var wg sync.WaitGroup
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx)
		}()
	}
	wg.Wait()
	log.Info("controllers stopped")
	return nil
}

// serve runs the /metrics and /healthz endpoint; stop shuts it down.
func serve(ctx context.Context, addr string, profiling bool, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ok := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}
	for _, p := range []string{"/healthz", "/livez", "/readyz"} {
		mux.HandleFunc(p, ok)
	}
	// Profiling only when asked for (--profiling). kube-controller-manager has it on by
	// default behind its authentication and authorization; this port has neither, and a
	// profile shows memory contents (secrets in flight) to any local user.
	if profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "err", err)
		}
	}()
	log.Info("serving metrics and health", "address", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, nil
}
