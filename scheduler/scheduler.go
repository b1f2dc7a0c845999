// Package scheduler assigns pending pods to nodes, as kube-scheduler does: it watches pods
// without a node whose spec.schedulerName is one of its profiles, runs each through its
// profile's filter and score plugins against a snapshot of the cluster, and binds it to the
// best node through the pods/binding subresource. When no node fits it can preempt lower
// priority pods, and it records why with events and the PodScheduled condition.
//
// Performance, by design: everything is read from informer caches (no API list per pod); a
// cheap per-cycle snapshot copies only nodes that changed; only a share of the nodes is
// searched in large clusters (percentageOfNodesToScore); filtering and scoring run in parallel;
// and bindings are sent asynchronously while the pod is assumed in the cache, so the next pod is
// scheduled without waiting for the API.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/client/leaderelection"
	"github.com/skiff-sh/skiff/client/record"
	"github.com/skiff-sh/skiff/scheduler/cache"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
	"github.com/skiff-sh/skiff/scheduler/queue"
)

// Config of a scheduler.
type Config struct {
	// Client talks to the API server. The scheduler issues a binding (and events) per pod: give
	// it an unthrottled client (client.Config QPS 0), or the client's rate limit is the
	// scheduler's throughput.
	Client *client.Client
	// Configuration is the KubeSchedulerConfiguration (nil: the defaults, one
	// default-scheduler profile). LoadConfigFile reads one.
	Configuration *Configuration
	// LeaderElection makes replicas compete for a Lease so that one schedules at a time.
	LeaderElection LeaderElection
	// MetricsAddr serves /metrics, /healthz, /livez and /readyz ("" to not serve).
	MetricsAddr string
	Logger      *slog.Logger
}

// LeaderElection configures the leader lease.
type LeaderElection struct {
	Enabled bool
	// Namespace and Name of the Lease (defaults kube-system, kube-scheduler).
	Namespace, Name string
	// Identity of this replica (default hostname_random).
	Identity string
	// Zero durations take the defaults (15s, 10s, 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// ErrLostLeadership is returned by Run when another replica took over the lease: the process
// should exit and start over (as kube-scheduler does), so that no stale state schedules.
var ErrLostLeadership = errors.New("scheduler: lost the leader lease")

var (
	podsResource       = client.Resource{Version: "v1", Resource: "pods", Namespaced: true}
	nodesResource      = client.Resource{Version: "v1", Resource: "nodes"}
	namespacesResource = client.Resource{Version: "v1", Resource: "namespaces"}
	servicesResource   = client.Resource{Version: "v1", Resource: "services", Namespaced: true}
	replicaSets        = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "replicasets", Namespaced: true}
	statefulSets       = client.Resource{Group: apps.GroupName, Version: apps.Version, Resource: "statefulsets", Namespaced: true}
)

// maxBindsInFlight bounds the API writes (bindings, status updates) the scheduler has in
// flight; when they are all taken the scheduling loop waits, so a slow API server slows the
// scheduler rather than piling up goroutines.
const maxBindsInFlight = 256

// Scheduler is one scheduler process's state. Make it with New; Run it once.
type Scheduler struct {
	cfg        Config
	log        *slog.Logger
	pods       *client.Typed[core.Pod, *core.Pod]
	profiles   map[string]*profile
	cache      *cache.Cache
	queue      *queue.Queue
	snapshot   *fw.Snapshot
	percentage int32
	parallel   fw.Parallelizer
	recorders  map[string]record.Recorder // by profile (the event source is the profile name)
	// nodeRecorder records events about nodes: default-scheduler's, else the first profile's.
	nodeRecorder record.Recorder
	metrics      *metrics

	podInformer  *informer.Informer[core.Pod, *core.Pod]
	nodeInformer *informer.Informer[core.Node, *core.Node]
	nsInformer   *informer.Informer[core.Namespace, *core.Namespace]
	// The objects that select pods, for PodTopologySpread's default constraints.
	workloads *workloadInformers
	volumes   *volumeInformers

	// Owned by the scheduling goroutine.
	nextStartNodeIndex int
	rng                *mrand.Rand

	// bindSlots bounds the bindings (and status writes) in flight.
	bindSlots chan struct{}
	inflight  sync.WaitGroup
	synced    atomic.Bool
	leading   atomic.Bool
}

// Run is New followed by Scheduler.Run.
func Run(ctx context.Context, cfg Config) error {
	s, err := New(cfg)
	if err != nil {
		return err
	}
	return s.Run(ctx)
}

// New checks cfg and builds a scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("scheduler: Config.Client is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Configuration == nil {
		cfg.Configuration = defaultConfiguration()
	}
	c := cfg.Configuration
	if len(c.Profiles) == 0 {
		c.Profiles = defaultConfiguration().Profiles
	}
	if errs := c.validate(); len(errs) > 0 {
		return nil, fmt.Errorf("scheduler config: %w", errs.ToAggregate())
	}
	h := pluginsHandle(c)
	workloads := newWorkloadInformers(cfg.Client)
	h.Workloads = workloads
	volumes := newVolumeInformers(cfg.Client)
	h.Volumes = volumes
	profiles, err := buildProfiles(c, h)
	if err != nil {
		return nil, fmt.Errorf("scheduler config: %w", err)
	}
	le := &cfg.LeaderElection
	if le.Namespace == "" {
		le.Namespace = "kube-system"
	}
	if le.Name == "" {
		le.Name = "kube-scheduler"
	}
	if le.Identity == "" {
		le.Identity = leaderelection.DefaultIdentity()
	}
	qo := queue.Options{Events: events(profiles)}
	if c.PodInitialBackoffSeconds != nil {
		qo.InitialBackoff = time.Duration(*c.PodInitialBackoffSeconds) * time.Second
	}
	if c.PodMaxBackoffSeconds != nil {
		qo.MaxBackoff = time.Duration(*c.PodMaxBackoffSeconds) * time.Second
	}
	s := &Scheduler{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "scheduler"),
		pods:      client.For[core.Pod](cfg.Client, podsResource),
		profiles:  profiles,
		cache:     cache.New(),
		queue:     queue.New(qo),
		snapshot:  fw.NewEmptySnapshot(),
		parallel:  h.Parallelizer,
		recorders: map[string]record.Recorder{},
		rng:       mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64())),
		bindSlots: make(chan struct{}, maxBindsInFlight),
		workloads: workloads,
		volumes:   volumes,
	}
	if c.PercentageOfNodesToScore != nil {
		s.percentage = *c.PercentageOfNodesToScore
	}
	for _, p := range c.Profiles {
		s.recorders[p.SchedulerName] = record.NewRecorder(cfg.Client, p.SchedulerName, "")
	}
	s.nodeRecorder = s.recorders[c.Profiles[0].SchedulerName]
	if r, ok := s.recorders[core.DefaultSchedulerName]; ok {
		s.nodeRecorder = r
	}
	s.metrics = newMetrics(s)
	s.podInformer = informer.NewInformer(client.For[core.Pod](cfg.Client, podsResource), "",
		// Finished pods hold no resources: leave them out (they arrive as deletions).
		client.ListOptions{FieldSelector: "status.phase!=" + string(core.PodSucceeded) + ",status.phase!=" + string(core.PodFailed)}, 0)
	s.nodeInformer = informer.NewInformer(client.For[core.Node](cfg.Client, nodesResource), "", client.ListOptions{}, 0)
	s.nsInformer = informer.NewInformer(client.For[core.Namespace](cfg.Client, namespacesResource), "", client.ListOptions{}, 0)
	s.addEventHandlers()
	volumes.addEventHandlers(s.queue)
	return s, nil
}

func (s *Scheduler) leaseName() string { return s.cfg.LeaderElection.Name }

// workloadInformers serve plugins.WorkloadLister from watches of Services, ReplicaSets and
// StatefulSets. (skiff serves no ReplicationControllers, the fourth kind Kubernetes looks at.)
type workloadInformers struct {
	services     *informer.Informer[core.Service, *core.Service]
	replicaSets  *informer.Informer[apps.ReplicaSet, *apps.ReplicaSet]
	statefulSets *informer.Informer[apps.StatefulSet, *apps.StatefulSet]
}

func newWorkloadInformers(c *client.Client) *workloadInformers {
	return &workloadInformers{
		services:     informer.NewInformer(client.For[core.Service](c, servicesResource), "", client.ListOptions{}, 0),
		replicaSets:  informer.NewInformer(client.For[apps.ReplicaSet](c, replicaSets), "", client.ListOptions{}, 0),
		statefulSets: informer.NewInformer(client.For[apps.StatefulSet](c, statefulSets), "", client.ListOptions{}, 0),
	}
}

func (w *workloadInformers) run(ctx context.Context) {
	go w.services.Run(ctx)
	go w.replicaSets.Run(ctx)
	go w.statefulSets.Run(ctx)
}

func (w *workloadInformers) hasSynced() bool {
	return w.services.HasSynced() && w.replicaSets.HasSynced() && w.statefulSets.HasSynced()
}

func (w *workloadInformers) Services(namespace string) []*core.Service {
	return w.services.Indexer().ListNamespace(namespace)
}

func (w *workloadInformers) ReplicaSet(namespace, name string) (*apps.ReplicaSet, bool) {
	return w.replicaSets.Indexer().GetByName(namespace, name)
}

func (w *workloadInformers) StatefulSet(namespace, name string) (*apps.StatefulSet, bool) {
	return w.statefulSets.Indexer().GetByName(namespace, name)
}

// Cache and Queue expose the scheduler's state to tests and tools (read only).
func (s *Scheduler) Cache() *cache.Cache { return s.cache }
func (s *Scheduler) Queue() *queue.Queue { return s.queue }

// MetricsHandler serves the Prometheus metrics (also served on Config.MetricsAddr).
func (s *Scheduler) MetricsHandler() http.Handler { return s.metrics.handler() }

// Ready reports whether the informers have synced.
func (s *Scheduler) Ready() bool { return s.synced.Load() }

// Leading reports whether this scheduler is scheduling (holds the lease, or runs without one).
func (s *Scheduler) Leading() bool { return s.leading.Load() }

// Run watches the cluster and schedules until ctx ends (nil), or until leadership is lost
// (ErrLostLeadership). It starts the informers at once, so a standby replica keeps a warm cache.
func (s *Scheduler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.cfg.MetricsAddr != "" {
		srv, err := s.serveHTTP(ctx)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	go s.podInformer.Run(ctx)
	go s.nodeInformer.Run(ctx)
	go s.nsInformer.Run(ctx)
	s.workloads.run(ctx)
	s.volumes.run(ctx)
	go s.queue.Run(ctx)
	defer s.inflight.Wait()
	if !informer.WaitForCacheSync(ctx, s.podInformer.HasSynced, s.nodeInformer.HasSynced, s.nsInformer.HasSynced, s.workloads.hasSynced, s.volumes.hasSynced) {
		return nil
	}
	s.synced.Store(true)
	s.log.Info("caches synced", "profiles", len(s.profiles))
	if !s.cfg.LeaderElection.Enabled {
		s.schedule(ctx)
		return nil
	}
	le := s.cfg.LeaderElection
	err := leaderelection.Run(ctx, s.cfg.Client, leaderelection.Config{
		Lock:          leaderelection.LeaseLock{Namespace: le.Namespace, Name: le.Name, Identity: le.Identity},
		LeaseDuration: le.LeaseDuration, RenewDeadline: le.RenewDeadline, RetryPeriod: le.RetryPeriod,
		ReleaseOnCancel: true,
		Callbacks: leaderelection.Callbacks{
			OnStartedLeading: s.schedule,
			OnNewLeader:      func(id string) { s.log.Info("leader", "identity", id, "self", id == le.Identity) },
		},
	})
	if err != nil {
		return err
	}
	if ctx.Err() == nil {
		return ErrLostLeadership
	}
	return nil
}

// schedule runs scheduling cycles, one pod at a time, until ctx ends.
func (s *Scheduler) schedule(ctx context.Context) {
	s.leading.Store(true)
	s.metrics.leader.Set(1)
	defer func() {
		s.leading.Store(false)
		s.metrics.leader.Set(0)
	}()
	s.log.Info("scheduling")
	for ctx.Err() == nil {
		s.scheduleOne(ctx)
	}
}

func (s *Scheduler) serveHTTP(ctx context.Context) (*http.Server, error) {
	ln, err := net.Listen("tcp", s.cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("scheduler: metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", s.metrics.handler())
	ok := func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") }
	mux.HandleFunc("/healthz", ok)
	mux.HandleFunc("/livez", ok)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "informers not synced", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { srv.Close() })
	s.log.Info("serving metrics and health", "addr", ln.Addr().String())
	return srv, nil
}

// namespaceLabels returns a namespace's labels from the informer cache.
func (s *Scheduler) namespaceLabels(ns string) labels.Set {
	if n, ok := s.nsInformer.Indexer().GetByName("", ns); ok {
		return labels.Set(n.Labels)
	}
	return nil
}

func (s *Scheduler) eventsDropped() uint64 {
	_, _, d := s.EventStats()
	return d
}

// EventStats sums the event recorders' counters: events written, refused by the API, and
// dropped because the recorder's queue was full.
func (s *Scheduler) EventStats() (written, failed, dropped uint64) {
	for _, r := range s.recorders {
		if er, ok := r.(*record.EventRecorder); ok {
			w, f, d := er.Stats()
			written, failed, dropped = written+w, failed+f, dropped+d
		}
	}
	return written, failed, dropped
}

// recorder returns the event recorder of a pod's profile.
func (s *Scheduler) recorder(pod *core.Pod) record.Recorder {
	if r, ok := s.recorders[pod.Spec.SchedulerName]; ok {
		return r
	}
	return s.nodeRecorder
}
