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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/workqueue"
	"github.com/skiff-sh/skiff/internal/wait"
	"github.com/skiff-sh/skiff/nodeagent/logs"
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
	Services    func() []*core.Service // nil: no service environment variables
	Volumes     Volumes                // nil: volumes are not mounted (sim)
	Probes      Probes                 // nil: probes always pass
	Recorder    Recorder               // nil: no events
	DNS         DNSConfig
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
	messages    map[string]string
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
		synced:  func() bool { return true },
	}
}

// Upsert is called for every added or changed pod bound to the node.
func (m *Manager) Upsert(pod *core.Pod) {
	m.mu.Lock()
	m.pods[pod.UID] = pod
	m.mu.Unlock()
	m.queue.Add(pod.UID)
}

// Delete is called when a pod is gone from the API.
func (m *Manager) Delete(pod *core.Pod) {
	m.mu.Lock()
	delete(m.pods, pod.UID)
	m.mu.Unlock()
	m.queue.Add(pod.UID)
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
		return 0, m.stopAll(ctx, pod, st, 0, false)
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
		if sb, err = m.newSandbox(ctx, pod, st, sandboxes, containers); err != nil {
			return 0, err
		}
	}
	mounts := map[string]runtime.Mount{}
	if m.cfg.Volumes != nil {
		if mounts, err = m.cfg.Volumes.Setup(ctx, pod); err != nil {
			m.event(pod, "Warning", "FailedMount", "%v", err)
			return 0, err
		}
	}
	ac := &actionContext{pod: pod, st: st, sandbox: sb, byName: byName, mounts: mounts}

	var after time.Duration
	// Init containers, one at a time, each to success.
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := latest(byName[c.Name])
		switch {
		case cur == nil:
			return 0, m.startContainer(ctx, ac, c, 0, true)
		case cur.State == runtime.ContainerRunning:
			return 0, nil
		case cur.State == runtime.ContainerCreated:
			return 0, m.startCreated(ctx, ac, c, cur)
		case cur.ExitCode == 0:
			continue
		case pod.Spec.RestartPolicy == core.RestartPolicyNever:
			return 0, nil // the pod has failed
		default:
			return m.restart(ctx, ac, c, cur, true)
		}
	}
	// App containers.
	var errs []error
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
	return after, errors.Join(errs...)
}

type actionContext struct {
	pod     *core.Pod
	st      *podState
	sandbox *runtime.Sandbox
	byName  map[string][]*runtime.Container
	mounts  map[string]runtime.Mount
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

// newSandbox (re)creates the pod's sandbox; the containers of a dead one are stopped
// first, as they lost their namespaces.
func (m *Manager) newSandbox(ctx context.Context, pod *core.Pod, st *podState, old []*runtime.Sandbox, containers []*runtime.Container) (*runtime.Sandbox, error) {
	attempt := 0
	if prev := newest(old); prev != nil {
		attempt = prev.Attempt + 1
		m.event(pod, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")
		for _, c := range containers {
			if c.State == runtime.ContainerRunning {
				if err := m.rt.StopContainer(ctx, c.ID, 0, "SIGKILL"); err != nil {
					return nil, err
				}
			}
		}
		for _, sb := range old {
			_ = m.rt.StopPodSandbox(ctx, sb.ID)
		}
	}
	if !pod.Spec.HostNetwork {
		if err := m.rt.NetworkReady(); err != nil {
			st.waiting["*"] = core.ContainerStateWaiting{Reason: "ContainerCreating"}
			return nil, fmt.Errorf("network not ready: %w", err)
		}
	}
	ref := podRef(pod)
	cfg := &runtime.SandboxConfig{
		Pod: ref, Attempt: attempt, Hostname: podHostname(pod),
		HostNetwork: pod.Spec.HostNetwork, HostIPC: pod.Spec.HostIPC, HostPID: pod.Spec.HostPID,
		CgroupParent: m.cgroupParent(pod), Labels: podLabels(pod, m.cfg.NodeName),
	}
	if m.cfg.LogDir != "" {
		cfg.LogDir = PodLogDir(m.cfg.LogDir, ref)
	}
	for _, c := range pod.Spec.Containers {
		cfg.Ports = append(cfg.Ports, c.Ports...)
	}
	sb, err := m.rt.RunPodSandbox(ctx, cfg)
	if err != nil {
		m.event(pod, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		return nil, err
	}
	if err := m.writePodFiles(pod, sb); err != nil {
		return nil, err
	}
	if sb.IP != "" {
		m.mu.Lock()
		m.podIPs[pod.UID] = sb.IP
		m.mu.Unlock()
	}
	return sb, nil
}

func (m *Manager) cgroupParent(pod *core.Pod) string {
	if m.cfg.CgroupParent == "" {
		return ""
	}
	qos := strings.ToLower(string(core.GetPodQOS(pod)))
	if qos == "guaranteed" {
		return filepath.Join(m.cfg.CgroupParent, "pod"+pod.UID)
	}
	return filepath.Join(m.cfg.CgroupParent, qos, "pod"+pod.UID)
}

func (m *Manager) podDir(uid string) string { return filepath.Join(m.cfg.RootDir, "pods", uid) }

// writePodFiles writes the pod's managed /etc/hosts and /etc/resolv.conf.
func (m *Manager) writePodFiles(pod *core.Pod, sb *runtime.Sandbox) error {
	if m.cfg.RootDir == "" {
		return nil
	}
	dir := m.podDir(pod.UID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rc, err := resolvConf(pod, m.cfg.DNS)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "resolv.conf"), rc, 0o644); err != nil {
		return err
	}
	if pod.Spec.HostNetwork {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "etc-hosts"), hostsFile(pod, sb.IP, m.cfg.DNS.ClusterDomain), 0o644)
}

// restart starts the next attempt of an exited container, unless it is backing off.
func (m *Manager) restart(ctx context.Context, ac *actionContext, c *core.Container, cur *runtime.Container, init bool) (time.Duration, error) {
	key := ac.pod.UID + "/" + c.Name
	now := time.Now()
	if wait, delay := m.backoff.wait(key, cur.FinishedAt, now); wait > 0 {
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay.Round(time.Second), c.Name, ac.pod.Name, ac.pod.Namespace, ac.pod.UID)
		ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: msg}
		m.event(ac.pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, ac.pod.Name, ac.pod.Namespace, ac.pod.UID)
		return wait, nil
	}
	m.backoff.next(key, now)
	return 0, m.startContainer(ctx, ac, c, cur.Attempt+1, init)
}

// startCreated deals with a container created but never started (the agent died in
// between): it is replaced by the same attempt.
func (m *Manager) startCreated(ctx context.Context, ac *actionContext, c *core.Container, cur *runtime.Container) error {
	if err := m.rt.RemoveContainer(ctx, cur.ID); err != nil {
		return err
	}
	return m.startContainer(ctx, ac, c, cur.Attempt, cur.Init)
}

// startContainer pulls the image, resolves the container's config, and creates and
// starts attempt n. Failures become the container's waiting reason.
func (m *Manager) startContainer(ctx context.Context, ac *actionContext, c *core.Container, attempt int, init bool) error {
	pod := ac.pod
	fail := func(reason string, err error) error {
		ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: reason, Message: err.Error()}
		m.event(pod, "Warning", "Failed", "Error: %s", reason)
		return err
	}
	img, err := m.ensureImage(ctx, pod, c)
	if err != nil {
		reason := "ErrImagePull"
		if errors.Is(err, runtime.ErrImageNeverPull) {
			reason = "ErrImageNeverPull"
		} else if m.pullFailures(pod.UID+"/"+c.Name) > 1 {
			reason = "ImagePullBackOff"
		}
		ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: reason, Message: err.Error()}
		return err
	}
	cfg, err := m.containerConfig(ctx, ac, c, attempt, init, img)
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			return fail("CreateContainerConfigError", err)
		}
		return err
	}
	id, err := m.rt.CreateContainer(ctx, ac.sandbox.ID, cfg)
	if err != nil {
		return fail("CreateContainerError", err)
	}
	m.event(pod, "Normal", "Created", "Created container: %s", c.Name)
	if err := m.rt.StartContainer(ctx, id); err != nil {
		// The failed attempt is an exited container (StartError, 128): shown waiting while it
		// is to be restarted (with back-off, by the next syncs), terminated otherwise.
		m.event(pod, "Warning", "Failed", "Error: %v", err)
		if shouldRestart(pod.Spec.RestartPolicy, 128) || init && pod.Spec.RestartPolicy != core.RestartPolicyNever {
			ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}
		}
		return nil
	}
	m.event(pod, "Normal", "Started", "Started container %s", c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if out, err := m.runHook(ctx, pod, c, id, ac.sandbox.IP, c.Lifecycle.PostStart); err != nil {
			m.event(pod, "Warning", "FailedPostStartHook", "PostStartHook failed: %v %s", err, out)
			_ = m.rt.StopContainer(ctx, id, 2*time.Second, "")
		}
	}
	// Older attempts stay until the garbage collector (nodeagent/gc) removes all but the
	// newest dead one of each container (kubectl logs --previous).
	return nil
}

// pullFailures counts consecutive failed pulls of a container's image (for ImagePullBackOff).
func (m *Manager) pullFailures(key string) int {
	m.backoff.mu.Lock()
	defer m.backoff.mu.Unlock()
	if e, ok := m.backoff.entries["pull/"+key]; ok {
		return int(e.delay/m.backoff.base) + 1
	}
	return 0
}

func (m *Manager) ensureImage(ctx context.Context, pod *core.Pod, c *core.Container) (*runtime.Image, error) {
	key := "pull/" + pod.UID + "/" + c.Name
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = core.PullIfNotPresent
	}
	img, err := m.rt.EnsureImage(ctx, c.Image, policy, nil)
	if err != nil {
		m.backoff.next(key, time.Now())
		m.event(pod, "Warning", "Failed", "Failed to pull image %q: %v", c.Image, err)
		return nil, err
	}
	m.backoff.forget(key)
	if m.rt.Type() != "sim" {
		m.event(pod, "Normal", "Pulled", "Container image %q already present on machine", c.Image)
	}
	return img, nil
}

// containerConfig resolves a container's spec for the runtime.
func (m *Manager) containerConfig(ctx context.Context, ac *actionContext, c *core.Container, attempt int, init bool, img *runtime.Image) (*runtime.ContainerConfig, error) {
	pod := ac.pod
	podIP := ac.sandbox.IP
	if pod.Spec.HostNetwork {
		podIP = m.cfg.NodeIP()
	}
	var services []*core.Service
	if m.cfg.Services != nil {
		services = m.cfg.Services()
	}
	env, err := makeEnv(ctx, &envContext{
		pod: pod, podIP: podIP, hostIP: m.cfg.NodeIP(), services: services,
		objects: m.cfg.Objects, allocatable: m.cfg.Allocatable(),
	}, c)
	if err != nil {
		return nil, err
	}
	sec, err := security(pod, c, img.User)
	if err != nil {
		return nil, err
	}
	lookup := envLookup(env)
	expand := func(l []string) []string {
		if l == nil {
			return nil
		}
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = Expand(s, lookup)
		}
		return out
	}
	ref := podRef(pod)
	labels := podLabels(pod, m.cfg.NodeName)
	labels[runtime.LabelContainerName] = c.Name
	labels[runtime.LabelSpecHash] = specHash(c)
	if init {
		labels[runtime.LabelInit] = "true"
	}
	res := resources(c)
	res.OOMScoreAdj = oomScoreAdj(core.GetPodQOS(pod), memoryRequest(pod), m.nodeMemory(), m.cfg.OOMScoreAdjFloor)
	cfg := &runtime.ContainerConfig{
		Pod: ref, Name: c.Name, Attempt: attempt, Image: img.Ref,
		Command: expand(c.Command), Args: expand(c.Args), Env: env, WorkingDir: c.WorkingDir,
		Resources: res, Security: sec, TTY: c.TTY, Stdin: c.Stdin, Labels: labels,
		TerminationMessagePath: c.TerminationMessagePath,
	}
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		cfg.StopSignal = string(*c.Lifecycle.StopSignal)
	}
	if m.cfg.LogDir != "" {
		cfg.LogPath = LogPath(m.cfg.LogDir, ref, c.Name, attempt)
	}
	mounts, err := m.mounts(ac, c, attempt)
	if err != nil {
		return nil, err
	}
	cfg.Mounts = mounts
	return cfg, nil
}

func (m *Manager) nodeMemory() int64 {
	q := m.cfg.Allocatable()[core.ResourceMemory]
	return q.Value()
}

// mounts are a container's volume mounts plus the files the agent manages for it.
func (m *Manager) mounts(ac *actionContext, c *core.Container, attempt int) ([]runtime.Mount, error) {
	var out []runtime.Mount
	if m.cfg.RootDir == "" {
		return nil, nil
	}
	for _, vm := range c.VolumeMounts {
		src, ok := ac.mounts[vm.Name]
		if !ok {
			return nil, configErrorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		mt := src
		mt.ContainerPath = vm.MountPath
		mt.ReadOnly = src.ReadOnly || vm.ReadOnly
		if vm.SubPath != "" || vm.SubPathExpr != "" {
			sub := vm.SubPath
			if vm.SubPathExpr != "" {
				sub = Expand(vm.SubPathExpr, func(string) (string, bool) { return "", false })
			}
			if filepath.IsAbs(sub) || strings.Contains(filepath.Clean(sub), "..") {
				return nil, configErrorf("subPath %q must be a relative path without '..'", sub)
			}
			mt.HostPath = filepath.Join(src.HostPath, sub)
			if _, err := os.Stat(mt.HostPath); os.IsNotExist(err) {
				if err := os.MkdirAll(mt.HostPath, 0o777); err != nil {
					return nil, err
				}
			}
		}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case core.MountPropagationHostToContainer:
				mt.Propagation = "rslave"
			case core.MountPropagationBidirectional:
				mt.Propagation = "rshared"
			}
		}
		out = append(out, mt)
	}
	dir := m.podDir(ac.pod.UID)
	has := func(p string) bool {
		for _, mt := range out {
			if mt.ContainerPath == p {
				return true
			}
		}
		return false
	}
	if !ac.pod.Spec.HostNetwork && !has("/etc/hosts") {
		out = append(out, runtime.Mount{HostPath: filepath.Join(dir, "etc-hosts"), ContainerPath: "/etc/hosts"})
	}
	if !has("/etc/resolv.conf") {
		out = append(out, runtime.Mount{HostPath: filepath.Join(dir, "resolv.conf"), ContainerPath: "/etc/resolv.conf"})
	}
	tmp := c.TerminationMessagePath
	if tmp == "" {
		tmp = "/dev/termination-log"
	}
	tf := m.terminationFile(ac.pod.UID, c.Name, attempt)
	if err := os.MkdirAll(filepath.Dir(tf), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(tf, nil, 0o666); err != nil {
		return nil, err
	}
	out = append(out, runtime.Mount{HostPath: tf, ContainerPath: tmp})
	return out, nil
}

func (m *Manager) terminationFile(uid, name string, attempt int) string {
	return filepath.Join(m.podDir(uid), "containers", name, fmt.Sprintf("%d.termination-log", attempt))
}

// checkRunning restarts a running container whose liveness (or startup) probe failed, or
// whose spec changed.
func (m *Manager) checkRunning(ctx context.Context, pod *core.Pod, st *podState, c *core.Container, cur *runtime.Container) {
	reason := ""
	if cur.SpecHash != "" && cur.SpecHash != specHash(c) {
		reason = fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)
	}
	if m.cfg.Probes != nil {
		if r, ok := m.cfg.Probes.Result(cur.ID); ok && r.Unhealthy {
			reason = r.Message
		}
	}
	if reason == "" {
		return
	}
	m.stopAsync(pod, st, c, cur, m.graceFor(pod, nil), reason)
}

// graceFor is how long a container may take to stop: the deletion's grace period, else
// the pod's terminationGracePeriodSeconds (default 30 s).
func (m *Manager) graceFor(pod *core.Pod, override *int64) time.Duration {
	g := int64(30)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		g = *pod.Spec.TerminationGracePeriodSeconds
	}
	if pod.DeletionGracePeriodSeconds != nil {
		g = *pod.DeletionGracePeriodSeconds
	}
	if override != nil {
		g = *override
	}
	return time.Duration(g) * time.Second
}

// stopAsync stops one container in the background (preStop, then its stop signal, then
// SIGKILL after grace) and syncs the pod when it is down.
func (m *Manager) stopAsync(pod *core.Pod, st *podState, c *core.Container, cur *runtime.Container, grace time.Duration, reason string) {
	st.mu.Lock()
	if st.stopping[cur.ID] {
		st.mu.Unlock()
		return
	}
	st.stopping[cur.ID] = true
	st.mu.Unlock()
	m.event(pod, "Normal", "Killing", "%s", reason)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
		defer cancel()
		m.stopContainer(ctx, pod, c, cur, grace)
		st.mu.Lock()
		delete(st.stopping, cur.ID)
		st.mu.Unlock()
		m.queue.Add(pod.UID)
	}()
}

// stopContainer runs the preStop hook within the grace period, then stops the container
// with what is left of it (at least 2 s, as the kubelet allows).
func (m *Manager) stopContainer(ctx context.Context, pod *core.Pod, c *core.Container, cur *runtime.Container, grace time.Duration) {
	start := time.Now()
	signal := ""
	if c != nil && c.Lifecycle != nil {
		if c.Lifecycle.StopSignal != nil {
			signal = string(*c.Lifecycle.StopSignal)
		}
		if c.Lifecycle.PreStop != nil && cur.State == runtime.ContainerRunning {
			hctx, cancel := context.WithTimeout(ctx, grace)
			podIP := ""
			if p := m.Pod(pod.UID); p != nil {
				podIP = p.Status.PodIP
			}
			if out, err := m.runHook(hctx, pod, c, cur.ID, podIP, c.Lifecycle.PreStop); err != nil {
				m.event(pod, "Warning", "FailedPreStopHook", "PreStopHook failed: %v %s", err, out)
			}
			cancel()
		}
	}
	left := max(grace-time.Since(start), 2*time.Second)
	if err := m.rt.StopContainer(ctx, cur.ID, left, signal); err != nil {
		m.log.Warn("stop container", "pod", pod.Namespace+"/"+pod.Name, "container", cur.Name, "err", err)
	}
}

// runHook runs a lifecycle handler (postStart, preStop).
func (m *Manager) runHook(ctx context.Context, pod *core.Pod, c *core.Container, id, podIP string, h *core.LifecycleHandler) (string, error) {
	switch {
	case h.Exec != nil:
		ok, out := probes.Exec(ctx, m.rt, id, h.Exec.Command)
		if !ok {
			return out, fmt.Errorf("command %q failed", strings.Join(h.Exec.Command, " "))
		}
		return out, nil
	case h.HTTPGet != nil:
		ok, out := probes.HTTPGet(ctx, h.HTTPGet, podIP, c)
		if !ok {
			return out, errors.New("HTTP lifecycle hook failed")
		}
		return out, nil
	case h.Sleep != nil:
		t := time.NewTimer(time.Duration(h.Sleep.Seconds) * time.Second)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return "", nil
	}
	return "", nil
}

// terminate stops a pod being deleted, then reports its final status and deletes it.
func (m *Manager) terminate(ctx context.Context, pod *core.Pod, st *podState) (time.Duration, error) {
	st.mu.Lock()
	started, done := st.terminating, st.terminated
	st.terminating = true
	st.mu.Unlock()
	if !started {
		grace := m.graceFor(pod, nil)
		_, containers, err := m.list(ctx, pod.UID)
		if err != nil {
			return 0, err
		}
		go func() {
			sctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			for _, cur := range containers {
				if cur.State != runtime.ContainerRunning && cur.State != runtime.ContainerCreated {
					continue
				}
				spec := findContainer(pod, cur.Name)
				m.event(pod, "Normal", "Killing", "Stopping container %s", cur.Name)
				wg.Go(func() { m.stopContainer(sctx, pod, spec, cur, grace) })
			}
			wg.Wait()
			st.mu.Lock()
			st.terminated = true
			st.mu.Unlock()
			m.queue.Add(pod.UID)
		}()
		return 0, nil
	}
	if !done {
		return 0, nil // the stopping goroutine requeues the pod
	}
	if err := m.stopAll(ctx, pod, st, 0, true); err != nil {
		return 0, err
	}
	st.waiting = map[string]core.ContainerStateWaiting{}
	if err := m.reportStatus(ctx, pod, st); err != nil && !client.IsNotFound(err) {
		return 0, err
	}
	zero := int64(0)
	uid := pod.UID
	err := m.cfg.Pods.Delete(ctx, pod.Namespace, pod.Name, &meta.DeleteOptions{
		GracePeriodSeconds: &zero, Preconditions: &meta.Preconditions{UID: &uid},
	})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		return 0, fmt.Errorf("confirm deletion: %w", err)
	}
	return 0, nil
}

// deadlineExceeded fails a pod that outlived activeDeadlineSeconds.
func (m *Manager) deadlineExceeded(ctx context.Context, pod *core.Pod, st *podState) (time.Duration, error) {
	m.event(pod, "Normal", "DeadlineExceeded", "Pod was active on the node longer than the specified deadline")
	if err := m.stopAll(ctx, pod, st, m.graceFor(pod, nil), false); err != nil {
		return 0, err
	}
	st.apiStatusJSON(pod) // the API's status, before the copy's is changed
	failed := *pod        // a shallow copy: only the status's top-level fields change
	failed.Status.Phase = core.PodFailed
	failed.Status.Reason = "DeadlineExceeded"
	failed.Status.Message = "Pod was active on the node longer than the specified deadline"
	return 0, m.reportStatus(ctx, &failed, st)
}

// stopAll stops every container of a pod (synchronously) and its sandbox; with remove it
// removes them too.
func (m *Manager) stopAll(ctx context.Context, pod *core.Pod, st *podState, grace time.Duration, remove bool) error {
	sbs, cs, err := m.list(ctx, pod.UID)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, c := range cs {
		if c.State == runtime.ContainerRunning {
			spec := findContainer(pod, c.Name)
			wg.Go(func() { m.stopContainer(ctx, pod, spec, c, grace) })
		}
	}
	wg.Wait()
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady {
			if err := m.rt.StopPodSandbox(ctx, sb.ID); err != nil {
				return err
			}
		}
	}
	if m.cfg.Probes != nil {
		m.cfg.Probes.Forget(pod.UID)
	}
	return nil
}

// removePod removes everything of a pod the API no longer has.
func (m *Manager) removePod(ctx context.Context, uid string) error {
	sbs, cs, err := m.list(ctx, uid)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if c.State == runtime.ContainerRunning {
			errs = append(errs, m.rt.StopContainer(ctx, c.ID, 2*time.Second, ""))
		}
		errs = append(errs, m.rt.RemoveContainer(ctx, c.ID))
	}
	for _, sb := range sbs {
		errs = append(errs, m.rt.StopPodSandbox(ctx, sb.ID), m.rt.RemovePodSandbox(ctx, sb.ID))
	}
	if m.cfg.Volumes != nil {
		errs = append(errs, m.cfg.Volumes.Teardown(ctx, uid))
	}
	if m.cfg.Probes != nil {
		m.cfg.Probes.Forget(uid)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if m.cfg.RootDir != "" {
		_ = os.RemoveAll(m.podDir(uid))
	}
	m.removePodCgroup(uid)
	if m.cfg.LogDir != "" {
		dirs, _ := filepath.Glob(filepath.Join(m.cfg.LogDir, "*_"+uid))
		for _, d := range dirs {
			_ = os.RemoveAll(d)
		}
	}
	m.backoff.forget(uid + "/")
	m.backoff.forget("pull/" + uid + "/")
	m.mu.Lock()
	delete(m.states, uid)
	delete(m.podIPs, uid)
	m.mu.Unlock()
	return nil
}

// reportStatus computes the pod's status from the runtime and writes it if it changed.
func (m *Manager) reportStatus(ctx context.Context, pod *core.Pod, st *podState) error {
	sbs, cs, err := m.list(ctx, pod.UID)
	if err != nil {
		return err
	}
	o := newObserved()
	o.sandbox = newest(sbs)
	o.containers = group(cs)
	o.startTime = st.startTime
	o.nodeIP = m.cfg.NodeIP()
	o.runtimeType = m.rt.Type()
	for k, v := range st.waiting {
		o.waiting[k] = v
	}
	running := map[string]string{}
	for _, c := range cs {
		if c.State == runtime.ContainerRunning && !c.Init {
			if l := o.containers[c.Name]; len(l) > 0 && l[0].ID == c.ID {
				running[c.Name] = c.ID
			}
		}
		if c.State == runtime.ContainerExited && c.Message == "" {
			c.Message = m.terminationMessage(pod, st, c)
		}
	}
	if m.cfg.Probes != nil && pod.DeletionTimestamp == nil {
		m.cfg.Probes.Update(pod, running)
	}
	for _, id := range running {
		r, ok := probes.Result{Ready: true, Started: true}, true
		if m.cfg.Probes != nil {
			r, ok = m.cfg.Probes.Result(id)
		}
		o.ready[id], o.started[id] = ok && r.Ready, ok && r.Started
	}
	status := o.podStatus(pod)
	m.mu.Lock()
	m.podIPs[pod.UID] = status.PodIP
	m.mu.Unlock()
	if pod.DeletionTimestamp != nil && status.Phase != core.PodSucceeded && status.Phase != core.PodFailed {
		// A deleted pod whose containers are all down ends Failed (Succeeded if all exited 0).
		status.Phase = core.PodFailed
		if allSucceeded(status.ContainerStatuses) {
			status.Phase = core.PodSucceeded
		}
	}
	return m.writeStatus(ctx, pod, st, status)
}

func allSucceeded(l []core.ContainerStatus) bool {
	for _, s := range l {
		if s.State.Terminated == nil || s.State.Terminated.ExitCode != 0 {
			return false
		}
	}
	return len(l) > 0
}

// terminationMessage reads an exited container's termination message file, or with
// FallbackToLogsOnError the end of its log.
func (m *Manager) terminationMessage(pod *core.Pod, st *podState, c *runtime.Container) string {
	if m.cfg.RootDir == "" {
		return ""
	}
	st.mu.Lock()
	msg, ok := st.messages[c.ID]
	st.mu.Unlock()
	if ok {
		return msg
	}
	data, _ := os.ReadFile(m.terminationFile(pod.UID, c.Name, c.Attempt))
	data = data[:min(len(data), 4096)]
	msg = string(data)
	if spec := findContainer(pod, c.Name); msg == "" && c.ExitCode != 0 && spec != nil &&
		spec.TerminationMessagePolicy == core.TerminationMessageFallbackToLogsOnError && c.LogPath != "" {
		msg = logs.Tail(c.LogPath, 80, 2048)
	}
	st.mu.Lock()
	st.messages[c.ID] = msg
	st.mu.Unlock()
	return msg
}

// writeStatus writes status through pods/status when it differs from what the API has.
func (m *Manager) writeStatus(ctx context.Context, pod *core.Pod, st *podState, status core.PodStatus) error {
	newJSON, err := json.Marshal(status)
	if err != nil {
		return err
	}
	oldJSON := st.apiStatusJSON(pod)
	if string(newJSON) == string(oldJSON) {
		return nil
	}
	if string(newJSON) == string(st.lastSent) && time.Since(st.lastSentAt) < 5*time.Second {
		return nil // sent already; the informer has not caught up
	}
	patch, err := statusPatch(oldJSON, newJSON)
	if err != nil {
		return err
	}
	if err := m.cfg.Pods.PatchDiscard(ctx, pod.Namespace, pod.Name, client.MergePatchType, patch, "status"); err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("update status of %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	st.lastSent, st.lastSentAt = newJSON, time.Now()
	return nil
}

// apiStatusJSON is pod.Status encoded, remembered for the pod's resourceVersion (a
// pod's status is the same wherever its resourceVersion is).
func (st *podState) apiStatusJSON(pod *core.Pod) []byte {
	st.mu.Lock()
	defer st.mu.Unlock()
	if pod.ResourceVersion != "" && pod.ResourceVersion == st.apiRV {
		return st.apiStatus
	}
	b, _ := json.Marshal(pod.Status)
	if bytes.Equal(b, st.lastSent) {
		b = st.lastSent // usually: what was written came back; keep one copy
	}
	st.apiRV, st.apiStatus = pod.ResourceVersion, b
	return b
}

// statusPatch is a JSON merge patch {"metadata":{"uid":...},"status":...} that turns the
// old status into the new one (fields that disappeared are nulled).
func statusPatch(oldJSON, newJSON []byte) ([]byte, error) {
	var oldM, newM map[string]any
	if err := json.Unmarshal(oldJSON, &oldM); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(newJSON, &newM); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"status": mergeDiff(oldM, newM)})
}

// mergeDiff is the RFC 7386 merge patch from a to b.
func mergeDiff(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, bv := range b {
		av, ok := a[k]
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		switch {
		case ok && aIsMap && bIsMap:
			if d := mergeDiff(am, bm); len(d) > 0 {
				out[k] = d
			}
		case !ok || !reflect.DeepEqual(av, bv): // decoded JSON: maps, slices, float64, string, bool, nil
			out[k] = bv
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out[k] = nil
		}
	}
	return out
}
