// Package podworker makes a node's containers match its pods: one sync per pod at a time
// (a workqueue keyed by pod UID), level-triggered — each sync reads the pod and what the
// runtime runs for it, acts, and reports the status. Syncs are triggered by pod changes,
// by the runtime (a container exited), by probes (a result flipped) and periodically.
//
// What a sync does, in order (the kubelet's SyncPod, simplified):
//
//  1. a pod gone from the API: stop and remove everything the runtime has for it;
//  2. a pod being deleted: run preStop hooks, stop its containers within the grace
//     period, then write the final status and delete the pod with grace 0;
//  3. a pod in a terminal phase: make sure nothing runs;
//  4. otherwise: a ready sandbox (a new one, with every container stopped, when the old
//     one died), volumes, init containers one at a time to success, then every app
//     container — started, restarted by restartPolicy with crash-loop back-off, or
//     restarted when its liveness probe fails — and the status.
package podworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/workqueue"
	"github.com/skiff-sh/skiff/internal/wait"
	"github.com/skiff-sh/skiff/nodeagent/probes"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Recorder emits events about pods (client/record's recorder is one).
type Recorder interface {
	Eventf(obj meta.Object, eventType, reason, format string, args ...any)
}

// Volumes prepares a pod's volumes on the node.
type Volumes interface {
	// Setup makes (or refreshes) every volume of pod and returns, by volume name, what
	// containers mount: a host path, or a tmpfs.
	Setup(ctx context.Context, pod *core.Pod) (map[string]runtime.Mount, error)
	// Teardown removes what Setup made for the pod.
	Teardown(ctx context.Context, podUID string) error
}

// Probes is the probe manager (probes.Manager).
type Probes interface {
	Update(pod *core.Pod, running map[string]string)
	Forget(podUID string)
	Result(containerID string) (probes.Result, bool)
}

// Config of a Manager.
type Config struct {
	NodeName    string
	NodeIP      func() string
	Allocatable func() core.ResourceList
	Runtime     runtime.Runtime
	Pods        *client.Typed[core.Pod, *core.Pod]
	Objects     Objects
	// RuntimeHandler resolves a pod's spec.runtimeClassName to its RuntimeClass's handler, as
	// the kubelet's RuntimeClass manager does (nil: every class runs on the default runtime).
	RuntimeHandler func(ctx context.Context, runtimeClassName string) (string, error)
	// AllowedUnsafeSysctls are the sysctls beyond the safe ones pods may set (names, or
	// prefixes ending in '*'), as the kubelet's --allowed-unsafe-sysctls.
	AllowedUnsafeSysctls []string
	Services             func() []*core.Service // nil: no service environment variables
	Volumes              Volumes                // nil: volumes are not mounted (sim)
	Probes               Probes                 // nil: probes always pass
	Recorder             Recorder               // nil: no events
	DNS                  DNSConfig
	// RootDir holds each pod's files (hosts, resolv.conf, termination logs) under
	// pods/<uid>; "" writes no files (sim).
	RootDir string
	// LogDir holds container logs; "" means RootDir/logs.
	LogDir string
	// CgroupParent is where pods' cgroups go ("" lets the runtime choose).
	CgroupParent string
	// OOMScoreAdjFloor is the agent's own oom_score_adj: containers' are never set lower.
	OOMScoreAdjFloor int
	Workers          int // default 8
	// Slots, when set, bounds the syncs in flight across every Manager sharing it: the
	// simulated nodes of one process would otherwise put thousands of requests in flight.
	Slots       chan struct{}
	Resync      time.Duration // default 10s
	BackoffBase time.Duration // default 10s
	BackoffMax  time.Duration // default 5m
	Log         *slog.Logger
}

// Manager runs the pods of one node.
type Manager struct {
	cfg     Config
	rt      runtime.Runtime
	queue   *workqueue.Queue[string]
	backoff *backoff
	log     *slog.Logger

	mu     sync.Mutex
	pods   map[string]*core.Pod // by UID: the latest state the informer delivered
	podIPs map[string]string    // by UID: the sandbox's IP, known before the status says it
	states map[string]*podState
	synced func() bool
	// pulls cancels the image pull a pod's sync is waiting for (by UID), so that deleting
	// the pod ends a pull that would otherwise hold its worker for minutes.
	pulls map[string]context.CancelFunc
}

// podState is what the agent remembers about a pod between syncs (lost on restart: it
// is all recomputed or harmless to forget).
type podState struct {
	mu         sync.Mutex
	startTime  time.Time
	lastSent   []byte
	lastSentAt time.Time
	// apiRV and apiStatus are the resourceVersion of the pod last seen and its status
	// encoded: every sync compares the status it computes with the API's, and most syncs
	// see a pod they have seen before.
	apiRV       string
	apiStatus   []byte
	waiting     map[string]core.ContainerStateWaiting
	stopping    map[string]bool // container IDs being stopped in the background
	terminating bool            // the pod's containers are being stopped for its deletion
	terminated  bool            // ... and are stopped
	// sidecarsStopping: the app containers of a pod that does not restart are done, and
	// its sidecars are being stopped.
	sidecarsStopping bool
	messages         map[string]string
	// admitted: the node took the pod (its sandbox exists or it passed admission); it
	// holds its host ports against pods admitted after it.
	admitted atomic.Bool
	// evict is an eviction by the node to carry out (evict.go).
	evict *evictRequest
}

// New returns a Manager; call Run.
func New(cfg Config) *Manager {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 10 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 10 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Minute
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.LogDir == "" && cfg.RootDir != "" {
		cfg.LogDir = filepath.Join(cfg.RootDir, "logs")
	}
	if cfg.DNS.ClusterDomain == "" {
		cfg.DNS.ClusterDomain = "cluster.local"
	}
	if cfg.DNS.ClusterDNS == nil {
		cfg.DNS.ClusterDNS = []string{"10.96.0.10"}
	}
	if cfg.NodeIP == nil {
		cfg.NodeIP = func() string { return "" }
	}
	if cfg.Allocatable == nil {
		cfg.Allocatable = func() core.ResourceList { return nil }
	}
	return &Manager{
		cfg:     cfg,
		rt:      cfg.Runtime,
		queue:   workqueue.NewWithRateLimiter(workqueue.ExponentialBackoff[string](200*time.Millisecond, 30*time.Second)),
		backoff: newBackoff(cfg.BackoffBase, cfg.BackoffMax),
		log:     cfg.Log,
		pods:    map[string]*core.Pod{},
		podIPs:  map[string]string{},
		states:  map[string]*podState{},
		pulls:   map[string]context.CancelFunc{},
		synced:  func() bool { return true },
	}
}

// Upsert is called for every added or changed pod bound to the node.
func (m *Manager) Upsert(pod *core.Pod) {
	m.mu.Lock()
	m.pods[pod.UID] = pod
	if pod.DeletionTimestamp != nil {
		m.cancelPullLocked(pod.UID)
	}
	m.mu.Unlock()
	m.queue.Add(pod.UID)
}

// Delete is called when a pod is gone from the API.
func (m *Manager) Delete(pod *core.Pod) {
	m.mu.Lock()
	delete(m.pods, pod.UID)
	m.cancelPullLocked(pod.UID)
	m.mu.Unlock()
	m.queue.Add(pod.UID)
}

// cancelPullLocked ends the pull pod uid's sync waits for, if any (m.mu held).
func (m *Manager) cancelPullLocked(uid string) {
	if cancel, ok := m.pulls[uid]; ok {
		cancel()
		delete(m.pulls, uid)
	}
}

// Enqueue asks for a sync of a pod (by UID) soon.
func (m *Manager) Enqueue(uid string) { m.queue.Add(uid) }

// SetSynced tells the manager how to know that it has heard of every pod, so that it does
// not take the runtime's pods for orphans before.
func (m *Manager) SetSynced(f func() bool) { m.synced = f }

// Pod returns the latest known state of a pod.
func (m *Manager) Pod(uid string) *core.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pods[uid]
}

// Pods returns the latest known state of every pod of the node.
func (m *Manager) Pods() []*core.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*core.Pod, 0, len(m.pods))
	for _, p := range m.pods {
		out = append(out, p)
	}
	return out
}

// Find returns the pod of this node with that namespace and name, nil if none.
func (m *Manager) Find(namespace, name string) *core.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.pods {
		if p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

// PodIP is the IP of a pod's current sandbox ("" if none is known).
func (m *Manager) PodIP(uid string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.podIPs[uid]
}

// Runtime is the runtime the manager drives.
func (m *Manager) Runtime() runtime.Runtime { return m.rt }

// Run runs the workers until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range m.cfg.Workers {
		wg.Go(func() { m.worker(ctx) })
	}
	wg.Go(func() { m.watchRuntime(ctx) })
	wg.Go(func() { m.housekeeping(ctx) })
	<-ctx.Done()
	m.queue.ShutDown()
	wg.Wait()
}

func (m *Manager) worker(ctx context.Context) {
	for {
		uid, shutdown := m.queue.Get()
		if shutdown {
			return
		}
		if m.cfg.Slots != nil {
			select {
			case m.cfg.Slots <- struct{}{}:
			case <-ctx.Done():
				m.queue.Done(uid)
				continue // the queue is shutting down
			}
		}
		after, err := m.sync(ctx, uid)
		if m.cfg.Slots != nil {
			<-m.cfg.Slots
		}
		switch {
		case err != nil && ctx.Err() == nil:
			m.log.Warn("pod sync failed", "uid", uid, "err", err)
			m.queue.AddRateLimited(uid)
		case after > 0:
			m.queue.Forget(uid)
			m.queue.AddAfter(uid, after)
		default:
			m.queue.Forget(uid)
		}
		m.queue.Done(uid)
	}
}

// watchRuntime syncs pods whose containers changed on their own.
func (m *Manager) watchRuntime(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case uid := <-m.rt.Changes():
			m.queue.Add(uid)
		}
	}
}

// housekeeping resyncs every pod periodically (a safety net for missed triggers, and how
// configMap and secret volumes pick up changes) and finds the runtime's orphans: pods it
// runs that the API no longer has.
func (m *Manager) housekeeping(ctx context.Context) {
	// The first round comes at a random point of the period, so that the managers of many
	// simulated nodes started together do not all resync at once.
	if !wait.Sleep(ctx, time.Duration(rand.Int64N(int64(m.cfg.Resync)))) {
		return
	}
	t := time.NewTicker(m.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.resyncAll(ctx)
	}
}

// resyncAll queues every known pod, and the runtime's orphans.
func (m *Manager) resyncAll(ctx context.Context) {
	m.mu.Lock()
	known := make(map[string]bool, len(m.pods))
	for uid := range m.pods {
		known[uid] = true
	}
	m.mu.Unlock()
	for uid := range known {
		m.queue.Add(uid)
	}
	if !m.synced() {
		return
	}
	sbs, err := m.rt.ListPodSandboxes(ctx, "")
	if err != nil {
		m.log.Warn("list sandboxes", "err", err)
		return
	}
	cs, err := m.rt.ListContainers(ctx, "")
	if err != nil {
		m.log.Warn("list containers", "err", err)
		return
	}
	for _, sb := range sbs {
		if !known[sb.Pod.UID] {
			m.queue.Add(sb.Pod.UID)
		}
	}
	for _, c := range cs {
		if !known[c.Pod.UID] {
			m.queue.Add(c.Pod.UID)
		}
	}
}

func (m *Manager) state(uid string) *podState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[uid]
	if !ok {
		st = &podState{stopping: map[string]bool{}, messages: map[string]string{}}
		m.states[uid] = st
	}
	return st
}

func (m *Manager) event(obj meta.Object, eventType, reason, format string, args ...any) {
	if m.cfg.Recorder != nil && obj != nil {
		m.cfg.Recorder.Eventf(obj, eventType, reason, format, args...)
	}
}

// sync brings one pod's runtime state in line with its spec and reports its status. It
// returns how soon the pod wants another sync (0: only when something changes).
func (m *Manager) sync(ctx context.Context, uid string) (time.Duration, error) {
	pod := m.Pod(uid)
	if pod == nil {
		if !m.synced() {
			return time.Second, nil // it may just not be listed yet
		}
		return 0, m.removePod(ctx, uid)
	}
	st := m.state(uid)
	if pod.DeletionTimestamp != nil {
		return m.terminate(ctx, pod, st)
	}
	if pod.Status.Phase == core.PodSucceeded || pod.Status.Phase == core.PodFailed {
		return 0, m.finished(ctx, pod, st)
	}
	if ev := st.evictRequest(); ev != nil {
		return m.evicted(ctx, pod, st, ev)
	}
	if st.startTime.IsZero() {
		st.startTime = time.Now()
		if pod.Status.StartTime != nil {
			st.startTime = pod.Status.StartTime.Time
		}
	}
	st.waiting = map[string]core.ContainerStateWaiting{}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && time.Since(st.startTime) > time.Duration(*d)*time.Second {
		return m.deadlineExceeded(ctx, pod, st)
	}
	after, err := m.syncRunning(ctx, pod, st)
	if serr := m.reportStatus(ctx, pod, st); serr != nil && err == nil {
		err = serr
	}
	return after, err
}

// syncRunning does step 4 of the package comment.
func (m *Manager) syncRunning(ctx context.Context, pod *core.Pod, st *podState) (time.Duration, error) {
	sandboxes, containers, err := m.list(ctx, pod.UID)
	if err != nil {
		return 0, err
	}
	byName := group(containers)
	sb := newestReady(sandboxes)
	if sb == nil {
		if podDone(pod, byName) {
			return 0, nil // ran to completion: nothing to restart
		}
		if len(sandboxes) == 0 && !st.admitted.Load() {
			// Admission, as the kubelet's: refused before anything of the pod runs.
			if msg := forbiddenSysctl(pod, m.cfg.AllowedUnsafeSysctls); msg != "" {
				return 0, m.reject(ctx, pod, st, "SysctlForbidden", msg)
			}
			if m.hostPortConflict(pod) {
				return 0, m.reject(ctx, pod, st, "NodePorts", nodePortsMessage)
			}
		}
		st.admitted.Store(true)
		if sb, err = m.newSandbox(ctx, pod, st, sandboxes, containers); err != nil {
			return 0, err
		}
	}
	st.admitted.Store(true) // running already (an agent restart): it holds what it has
	mounts := map[string]runtime.Mount{}
	if m.cfg.Volumes != nil {
		if mounts, err = m.cfg.Volumes.Setup(ctx, pod); err != nil {
			m.event(pod, "Warning", "FailedMount", "%v", err)
			return 0, err
		}
	}
	ac := &actionContext{pod: pod, st: st, sandbox: sb, byName: byName, mounts: mounts}

	var after time.Duration
	if appsDone(pod, byName) {
		// The app containers finished and will not restart: the sidecars stop, last first,
		// and the pod finishes once they are down (sidecar.go).
		m.stopSidecars(pod, st, containers)
		return 0, nil
	}
	// Init containers and sidecars, in order (sidecar.go).
	plan := planInit(pod, byName, m.sidecarStarted)
	var errs []error
	for _, s := range plan.steps {
		var d time.Duration
		var err error
		switch s.kind {
		case stepStart:
			err = m.startContainer(ctx, ac, s.c, 0, true)
		case stepStartCreated:
			err = m.startCreated(ctx, ac, s.c, s.cur)
		case stepRestart:
			d, err = m.restart(ctx, ac, s.c, s.cur, true)
		case stepCheck:
			m.checkRunning(ctx, pod, st, s.c, s.cur)
		}
		if d > 0 && (after == 0 || d < after) {
			after = d
		}
		errs = append(errs, err)
	}
	// Ephemeral containers run whether or not the pod has initialized (ephemeral.go).
	errs = append(errs, m.syncEphemeral(ctx, ac))
	if !plan.done {
		ac.requeue(after)
		return ac.after, errors.Join(errs...)
	}
	// App containers.
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur := latest(byName[c.Name])
		var d time.Duration
		var err error
		switch {
		case cur == nil:
			err = m.startContainer(ctx, ac, c, 0, false)
		case cur.State == runtime.ContainerRunning:
			m.checkRunning(ctx, pod, st, c, cur)
		case cur.State == runtime.ContainerCreated:
			err = m.startCreated(ctx, ac, c, cur)
		case shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode):
			d, err = m.restart(ctx, ac, c, cur, false)
		}
		if d > 0 && (after == 0 || d < after) {
			after = d
		}
		errs = append(errs, err)
	}
	ac.requeue(after)
	return ac.after, errors.Join(errs...)
}

type actionContext struct {
	pod     *core.Pod
	st      *podState
	sandbox *runtime.Sandbox
	byName  map[string][]*runtime.Container
	mounts  map[string]runtime.Mount
	after   time.Duration // the soonest a step asked to be synced again (0: none)
}

// requeue asks for the pod to be synced again after d (the soonest of all asks wins).
func (ac *actionContext) requeue(d time.Duration) {
	if d > 0 && (ac.after == 0 || d < ac.after) {
		ac.after = d
	}
}

func latest(l []*runtime.Container) *runtime.Container {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

func newestReady(sbs []*runtime.Sandbox) *runtime.Sandbox {
	var best *runtime.Sandbox
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady && (best == nil || sb.Attempt > best.Attempt) {
			best = sb
		}
	}
	return best
}

func newest(sbs []*runtime.Sandbox) *runtime.Sandbox {
	var best *runtime.Sandbox
	for _, sb := range sbs {
		if best == nil || sb.Attempt > best.Attempt || (sb.Attempt == best.Attempt && sb.CreatedAt.After(best.CreatedAt)) {
			best = sb
		}
	}
	return best
}

// shouldRestart applies restartPolicy to a container that exited with code.
func shouldRestart(p core.RestartPolicy, code int) bool {
	switch p {
	case core.RestartPolicyNever:
		return false
	case core.RestartPolicyOnFailure:
		return code != 0
	}
	return true
}

// podDone reports whether every app container has run and exited for good, so a dead
// sandbox is not replaced.
func podDone(pod *core.Pod, byName map[string][]*runtime.Container) bool {
	if pod.Spec.RestartPolicy == core.RestartPolicyAlways {
		return false
	}
	for _, c := range pod.Spec.Containers {
		cur := latest(byName[c.Name])
		if cur == nil || cur.State != runtime.ContainerExited || shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
			return false
		}
	}
	return true
}

func (m *Manager) list(ctx context.Context, uid string) ([]*runtime.Sandbox, []*runtime.Container, error) {
	sbs, err := m.rt.ListPodSandboxes(ctx, uid)
	if err != nil {
		return nil, nil, fmt.Errorf("list sandboxes: %w", err)
	}
	cs, err := m.rt.ListContainers(ctx, uid)
	if err != nil {
		return nil, nil, fmt.Errorf("list containers: %w", err)
	}
	return sbs, cs, nil
}
