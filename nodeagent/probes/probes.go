// Package probes runs containers' startup, liveness and readiness probes, one goroutine
// per probe of a running container, with Kubernetes' semantics: initialDelaySeconds,
// periodSeconds, timeoutSeconds, successThreshold and failureThreshold; the startup probe
// holds the other two back until it succeeds; readiness starts false and liveness true.
//
// The Manager only records results and tells the pod worker (OnChange) when one flips:
// the worker decides what a failed liveness probe means (a restart).
package probes

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// Kind of probe.
type Kind string

const (
	Startup   Kind = "Startup"
	Liveness  Kind = "Liveness"
	Readiness Kind = "Readiness"
)

// Runner performs one probe and says whether it passed, with its output for events.
type Runner interface {
	Run(ctx context.Context, kind Kind, pod *core.Pod, c *core.Container, containerID string, handler *core.ProbeHandler) (bool, string)
}

// Recorder emits events (Unhealthy).
type Recorder interface {
	Eventf(obj meta.Object, eventType, reason, format string, args ...any)
}

// Manager runs the probes of a node's containers.
type Manager struct {
	runner   Runner
	onChange func(podUID string)
	recorder Recorder
	log      *slog.Logger

	mu      sync.Mutex
	workers map[workerKey]*worker
	results map[string]*Result // by container ID
	pods    map[string]*core.Pod
}

type workerKey struct {
	containerID string
	kind        Kind
}

// Result is what the probes of one container say.
type Result struct {
	Ready   bool // readiness passed (true without a readiness probe)
	Started bool // startup passed (true without a startup probe)
	// Unhealthy is set when liveness or startup failed failureThreshold times in a row:
	// the container must be restarted. Message says why.
	Unhealthy bool
	Message   string
	// Kind that failed (for the grace period of its restart).
	FailedKind Kind
}

// New returns a Manager; onChange is called (from probe goroutines) when a result changes.
func New(runner Runner, onChange func(podUID string), recorder Recorder, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{
		runner: runner, onChange: onChange, recorder: recorder, log: log,
		workers: map[workerKey]*worker{}, results: map[string]*Result{}, pods: map[string]*core.Pod{},
	}
}

// Update makes the probes of pod match its running containers (container name → ID):
// new containers get workers, gone ones lose theirs. The pod given is the one the next
// probes see (the sim runner reads its annotations).
func (m *Manager) Update(pod *core.Pod, running map[string]string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pods[pod.UID] = pod
	want := map[workerKey]bool{}
	// App containers and sidecars (init containers with restartPolicy Always) are probed.
	var probed []*core.Container
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.RestartPolicy != nil && *c.RestartPolicy == core.ContainerRestartPolicyAlways {
			probed = append(probed, c)
		}
	}
	for i := range pod.Spec.Containers {
		probed = append(probed, &pod.Spec.Containers[i])
	}
	for _, c := range probed {
		id, ok := running[c.Name]
		if !ok {
			continue
		}
		if _, ok := m.results[id]; !ok {
			m.results[id] = &Result{Ready: c.ReadinessProbe == nil, Started: c.StartupProbe == nil}
		}
		for kind, p := range map[Kind]*core.Probe{Startup: c.StartupProbe, Liveness: c.LivenessProbe, Readiness: c.ReadinessProbe} {
			if p == nil {
				continue
			}
			k := workerKey{id, kind}
			want[k] = true
			if _, ok := m.workers[k]; !ok {
				w := &worker{m: m, key: k, podUID: pod.UID, container: c, probe: p, stop: make(chan struct{})}
				m.workers[k] = w
				go w.run()
			}
		}
	}
	for k, w := range m.workers {
		if w.podUID == pod.UID && !want[k] {
			close(w.stop)
			delete(m.workers, k)
			delete(m.results, k.containerID)
		}
	}
}

// Forget stops every probe of a pod.
func (m *Manager) Forget(podUID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, w := range m.workers {
		if w.podUID == podUID {
			close(w.stop)
			delete(m.workers, k)
			delete(m.results, k.containerID)
		}
	}
	delete(m.pods, podUID)
}

// Result returns the probe results of a container; ok is false for an unknown one.
func (m *Manager) Result(containerID string) (Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[containerID]
	if !ok {
		return Result{}, false
	}
	return *r, true
}

// worker runs one probe of one container.
type worker struct {
	m         *Manager
	key       workerKey
	podUID    string
	container *core.Container
	probe     *core.Probe
	stop      chan struct{}

	successes, failures int
}

func (w *worker) run() {
	p := w.probe
	period := time.Duration(max(1, p.PeriodSeconds)) * time.Second
	if d := time.Duration(p.InitialDelaySeconds) * time.Second; d > 0 {
		if !w.sleep(d) {
			return
		}
	}
	for {
		w.once()
		if !w.sleep(period) {
			return
		}
	}
}

func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-w.stop:
		return false
	case <-t.C:
		return true
	}
}

// once runs the probe and applies the thresholds.
func (w *worker) once() {
	m := w.m
	m.mu.Lock()
	res, ok := m.results[w.key.containerID]
	pod := m.pods[w.podUID]
	var started bool
	if ok {
		started = res.Started
	}
	m.mu.Unlock()
	if !ok || pod == nil {
		return
	}
	if w.key.kind != Startup && !started {
		return // the startup probe holds liveness and readiness back
	}
	if w.key.kind == Startup && started {
		return
	}
	timeout := time.Duration(max(1, w.probe.TimeoutSeconds)) * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	passed, out := m.runner.Run(ctx, w.key.kind, pod, w.container, w.key.containerID, &w.probe.ProbeHandler)
	cancel()
	select {
	case <-w.stop:
		return
	default:
	}
	if passed {
		w.successes, w.failures = w.successes+1, 0
	} else {
		w.successes, w.failures = 0, w.failures+1
		if m.recorder != nil {
			m.recorder.Eventf(pod, "Warning", "Unhealthy", "%s probe failed: %s", w.key.kind, strings.TrimSpace(out))
		}
	}
	success := max(1, int(w.probe.SuccessThreshold))
	failure := max(1, int(w.probe.FailureThreshold))
	if w.probe.FailureThreshold == 0 {
		failure = 3
	}
	changed := false
	m.mu.Lock()
	res, ok = m.results[w.key.containerID]
	if ok {
		switch w.key.kind {
		case Readiness:
			if passed && w.successes >= success && !res.Ready {
				res.Ready, changed = true, true
			}
			if !passed && w.failures >= failure && res.Ready {
				res.Ready, changed = false, true
			}
		case Startup:
			if passed && !res.Started {
				res.Started, changed = true, true
			}
			if !passed && w.failures >= failure && !res.Unhealthy {
				res.Unhealthy, res.FailedKind, changed = true, Startup, true
				res.Message = "Container " + w.container.Name + " failed startup probe, will be restarted"
			}
		case Liveness:
			if !passed && w.failures >= failure && !res.Unhealthy {
				res.Unhealthy, res.FailedKind, changed = true, Liveness, true
				res.Message = "Container " + w.container.Name + " failed liveness probe, will be restarted"
			}
		}
	}
	m.mu.Unlock()
	if changed && m.onChange != nil {
		m.onChange(w.podUID)
	}
}
