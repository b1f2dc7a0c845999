package eviction

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// EvictFunc stops a pod for eviction — its containers killed within grace seconds — and
// reports it Failed with reason Evicted, msg and, if given, the condition. It returns once
// the pod is stopped (or ctx ends).
type EvictFunc func(ctx context.Context, pod *core.Pod, grace int64, msg string, cond *core.PodCondition) error

// Config of a Manager.
type Config struct {
	Thresholds []Threshold
	// MaxPodGracePeriodSeconds is the most a pod evicted for a soft threshold gets to stop
	// (--eviction-max-pod-grace-period; never more than its terminationGracePeriodSeconds).
	MaxPodGracePeriodSeconds int64
	// PressureTransitionPeriod is how long a pressure condition stays after the signal
	// recovered (--eviction-pressure-transition-period, default 5m), so the node does not
	// flap in and out of pressure.
	PressureTransitionPeriod time.Duration
	// Interval between rounds (default 10s); a round acts only on a sample newer than the
	// last round's.
	Interval time.Duration
	// Summary is the latest stats sample (nil before the first); Refresh takes one now.
	Summary func() *statsapi.Summary
	Refresh func(ctx context.Context) *statsapi.Summary
	// Pods are the node's pods.
	Pods func() []*core.Pod
	// AllocatableMemory is the pods' memory, capacity less reserved, in bytes (0: no
	// allocatableMemory.available signal).
	AllocatableMemory func() int64
	// DiskReclaim frees node-level disk before pods are evicted for a disk signal (dead
	// containers, unused images), in order.
	DiskReclaim []func(ctx context.Context) error
	Evict       EvictFunc
	// PodCleanedUp reports whether an evicted pod's resources are back (nothing of it runs,
	// its volumes are torn down); nil: rounds go on at once. After an eviction the manager
	// waits for that, up to CleanupTimeout (default 30s), before its next round — the
	// kubelet's waitForPodsCleanup: a round on a sample taken before the space came back
	// would evict a second pod for the pressure the first one's eviction already ended.
	PodCleanedUp   func(ctx context.Context, pod *core.Pod) bool
	CleanupTimeout time.Duration
	// NodeEvent and PodEvent emit events; nil emits none.
	NodeEvent func(eventType, reason, msg string)
	PodEvent  func(pod *core.Pod, eventType, reason, msg string)
	Now       func() time.Time
	Log       *slog.Logger
}

// Manager is one node's eviction manager.
type Manager struct {
	cfg Config

	mu sync.Mutex
	// conditions are the pressure conditions the node reports now.
	conditions []core.NodeConditionType
	// firstObserved is when each threshold met was first seen met (for grace periods).
	firstObserved map[Threshold]time.Time
	// conditionObserved is when each condition was last seen (for the transition period).
	conditionObserved map[core.NodeConditionType]time.Time
	// thresholdsMet are the thresholds met last round: they stay met until the node is past
	// them by their minimum reclaim.
	thresholdsMet []Threshold
	lastObs       observations
}

// New returns a manager; Run runs it.
func New(cfg Config) *Manager {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.PressureTransitionPeriod == 0 {
		cfg.PressureTransitionPeriod = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.AllocatableMemory == nil {
		cfg.AllocatableMemory = func() int64 { return 0 }
	}
	return &Manager{cfg: cfg, firstObserved: map[Threshold]time.Time{}, conditionObserved: map[core.NodeConditionType]time.Time{}}
}

// Run runs a round every Interval until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if evicted := m.Synchronize(ctx); len(evicted) > 0 {
			m.waitForCleanup(ctx, evicted)
		}
	}
}

// waitForCleanup waits until every evicted pod is cleaned up, or CleanupTimeout passes.
func (m *Manager) waitForCleanup(ctx context.Context, pods []*core.Pod) {
	if m.cfg.PodCleanedUp == nil {
		return
	}
	timeout := m.cfg.CleanupTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		pending := 0
		for _, p := range pods {
			if !m.cfg.PodCleanedUp(ctx, p) {
				pending++
			}
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			m.cfg.Log.Warn("eviction: timed out waiting for evicted pods to be cleaned up", "pods", pending)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Under reports whether the node has the pressure condition t.
func (m *Manager) Under(t core.NodeConditionType) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.conditions, t)
}

// Synchronize is one round (the kubelet's synchronize): observe, update the conditions,
// enforce local storage limits, and for the most pressing threshold met past its grace
// period reclaim node-level resources or evict one pod. It returns the pods it evicted.
func (m *Manager) Synchronize(ctx context.Context) []*core.Pod {
	summary := m.cfg.Summary()
	if summary == nil {
		return nil
	}
	obs := observe(summary, m.cfg.AllocatableMemory())
	stats := podStatsFunc(summary)
	now := m.cfg.Now()

	m.mu.Lock()
	thresholds := met(m.cfg.Thresholds, obs, false)
	if len(m.thresholdsMet) > 0 {
		thresholds = merge(thresholds, met(m.thresholdsMet, obs, true)) // not reclaimed enough yet
	}
	first := map[Threshold]time.Time{}
	for _, t := range thresholds {
		at, ok := m.firstObserved[t]
		if !ok {
			at = now
		}
		first[t] = at
	}
	seen := map[core.NodeConditionType]time.Time{}
	for _, t := range thresholds {
		seen[signalCondition[t.Signal]] = now
	}
	for c, at := range m.conditionObserved {
		if _, ok := seen[c]; !ok {
			seen[c] = at
		}
	}
	var conds []core.NodeConditionType
	for c, at := range seen {
		if now.Sub(at) < m.cfg.PressureTransitionPeriod {
			conds = append(conds, c)
		}
	}
	slices.Sort(conds)
	var due []Threshold
	for _, t := range thresholds {
		if now.Sub(first[t]) >= t.GracePeriod {
			due = append(due, t)
		}
	}
	if !slices.Equal(conds, m.conditions) {
		m.cfg.Log.Info("eviction: node conditions", "conditions", conds)
	}
	m.conditions, m.firstObserved, m.conditionObserved, m.thresholdsMet = conds, first, seen, due
	// Act only on signals observed since the last round: stale numbers would evict a
	// second pod for the pressure the first one's eviction already relieved.
	var fresh []Threshold
	for _, t := range due {
		last, ok := m.lastObs[t.Signal]
		if o := obs[t.Signal]; !ok || o.time.IsZero() || o.time.After(last.time) {
			fresh = append(fresh, t)
		}
	}
	m.lastObs = obs
	m.mu.Unlock()

	active := activePods(m.cfg.Pods())
	if evicted := m.localStorage(ctx, active, stats); len(evicted) > 0 {
		return evicted
	}
	if len(fresh) == 0 {
		return nil
	}
	// Memory first, as the kubelet.
	slices.SortStableFunc(fresh, func(a, b Threshold) int {
		return cmpBool(signalResource[a.Signal] == core.ResourceMemory, signalResource[b.Signal] == core.ResourceMemory)
	})
	target := fresh[0]
	res := signalResource[target.Signal]
	m.cfg.Log.Info("eviction: attempting to reclaim", "resource", res, "threshold", target.String())
	m.nodeEvent("Warning", "EvictionThresholdMet", fmt.Sprintf("Attempting to reclaim %s", res))
	if m.reclaimNodeLevel(ctx, target) {
		m.cfg.Log.Info("eviction: reduced resource pressure without evicting pods", "resource", res)
		return nil
	}
	if len(active) == 0 {
		m.cfg.Log.Warn("eviction: thresholds met, but no pods are active to evict", "resource", res)
		return nil
	}
	rankFor(target.Signal)(active, stats)
	for _, pod := range active {
		grace := int64(1) // the kubelet's immediate eviction
		if !target.Hard() {
			grace = m.cfg.MaxPodGracePeriodSeconds
			if p := pod.Spec.TerminationGracePeriodSeconds; p != nil {
				grace = min(grace, *p)
			}
		}
		msg, annotations := message(res, pod, stats, fresh, obs)
		cond := &core.PodCondition{Type: core.DisruptionTarget, Status: core.ConditionTrue,
			Reason: core.PodReasonTerminationByKubelet, Message: msg, ObservedGeneration: pod.Generation}
		if m.evict(ctx, pod, grace, msg, cond, annotations) {
			return []*core.Pod{pod}
		}
	}
	m.cfg.Log.Warn("eviction: unable to evict any pods from the node", "resource", res)
	return nil
}

// reclaimNodeLevel frees what the node itself holds for a disk signal, and reports whether
// that ended the pressure (every threshold clear by its minimum reclaim).
func (m *Manager) reclaimNodeLevel(ctx context.Context, t Threshold) bool {
	if signalResource[t.Signal] == core.ResourceMemory || signalResource[t.Signal] == resourcePids || len(m.cfg.DiskReclaim) == 0 {
		return false
	}
	for _, f := range m.cfg.DiskReclaim {
		if err := f(ctx); err != nil {
			m.cfg.Log.Info("eviction: reclaiming node-level resources", "err", err)
		}
	}
	if m.cfg.Refresh == nil {
		return false
	}
	s := m.cfg.Refresh(ctx)
	if s == nil {
		return false
	}
	return len(met(m.cfg.Thresholds, observe(s, m.cfg.AllocatableMemory()), true)) == 0
}

// evict evicts one pod; false for a critical pod, which is never evicted.
func (m *Manager) evict(ctx context.Context, pod *core.Pod, grace int64, msg string, cond *core.PodCondition, annotations map[string]string) bool {
	if critical(pod) {
		m.cfg.Log.Warn("eviction: cannot evict a critical pod", "pod", pod.Namespace+"/"+pod.Name)
		return false
	}
	if m.cfg.PodEvent != nil {
		m.cfg.PodEvent(pod, "Warning", Reason, msg)
	}
	m.cfg.Log.Info("eviction: evicting pod", "pod", pod.Namespace+"/"+pod.Name, "message", msg, "annotations", annotations)
	ectx, cancel := context.WithTimeout(ctx, time.Duration(grace)*time.Second+30*time.Second)
	defer cancel()
	if err := m.cfg.Evict(ectx, pod, grace, msg, cond); err != nil {
		m.cfg.Log.Error("eviction: pod failed to evict", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
	return true
}

func (m *Manager) nodeEvent(eventType, reason, msg string) {
	if m.cfg.NodeEvent != nil {
		m.cfg.NodeEvent(eventType, reason, msg)
	}
}

// activePods are the pods eviction may choose from: not finished, not being deleted.
func activePods(pods []*core.Pod) []*core.Pod {
	var out []*core.Pod
	for _, p := range pods {
		if p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed || p.DeletionTimestamp != nil {
			continue
		}
		out = append(out, p)
	}
	// A steady order before ranking: the stable sort keeps it among equals.
	slices.SortFunc(out, func(a, b *core.Pod) int {
		if a.Namespace != b.Namespace {
			if a.Namespace < b.Namespace {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// ConditionText is the reason and message of the node condition t (the kubelet's).
func ConditionText(t core.NodeConditionType, under bool) (reason, msg string) {
	switch t {
	case core.NodeMemoryPressure:
		if under {
			return "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"
		}
		return "KubeletHasSufficientMemory", "kubelet has sufficient memory available"
	case core.NodeDiskPressure:
		if under {
			return "KubeletHasDiskPressure", "kubelet has disk pressure"
		}
		return "KubeletHasNoDiskPressure", "kubelet has no disk pressure"
	case core.NodePIDPressure:
		if under {
			return "KubeletHasInsufficientPID", "kubelet has insufficient PID available"
		}
		return "KubeletHasSufficientPID", "kubelet has sufficient PID available"
	}
	return "", ""
}
