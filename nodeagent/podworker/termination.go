package podworker

// Stopping containers and pods: grace periods, preStop hooks, activeDeadlineSeconds, and
// removing a pod's sandbox, containers and files once it is gone from the API.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

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
			// App containers first, then sidecars, the last one first (sidecar.go).
			m.stopGroups(sctx, pod, stopOrder(pod, containers), grace)
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

// stopGroups stops groups of containers one group after the other (the containers of a
// group together), all within one grace period: each group gets what is left of it.
func (m *Manager) stopGroups(ctx context.Context, pod *core.Pod, groups [][]*runtime.Container, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for _, g := range groups {
		left := max(time.Until(deadline), 0)
		var wg sync.WaitGroup
		for _, cur := range g {
			spec := findContainer(pod, cur.Name)
			m.event(pod, "Normal", "Killing", "Stopping container %s", cur.Name)
			wg.Go(func() { m.stopContainer(ctx, pod, spec, cur, left) })
		}
		wg.Wait()
	}
}

// stopSidecars stops a finished pod's running sidecars in the background, last first, and
// syncs the pod when they are down (it then reports its terminal phase).
func (m *Manager) stopSidecars(pod *core.Pod, st *podState, cs []*runtime.Container) {
	groups := stopOrder(pod, cs)
	if len(groups) == 0 {
		return
	}
	st.mu.Lock()
	if st.sidecarsStopping {
		st.mu.Unlock()
		return
	}
	st.sidecarsStopping = true
	st.mu.Unlock()
	grace := m.graceFor(pod, nil)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), grace+time.Minute)
		defer cancel()
		m.stopGroups(ctx, pod, groups, grace)
		st.mu.Lock()
		st.sidecarsStopping = false
		st.mu.Unlock()
		m.queue.Add(pod.UID)
	}()
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

// reject fails a pod the node does not admit, as the kubelet's rejectPod: a Warning event
// and the Failed phase with the reason, before any of its containers run.
func (m *Manager) reject(ctx context.Context, pod *core.Pod, st *podState, reason, msg string) error {
	m.event(pod, "Warning", reason, "%s", msg)
	st.apiStatusJSON(pod)
	failed := *pod
	failed.Status.Phase = core.PodFailed
	failed.Status.Reason = reason
	failed.Status.Message = "Pod was rejected: " + msg
	return m.reportStatus(ctx, &failed, st)
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

// finished makes sure nothing of a pod in a terminal phase runs, then tears its volumes
// down, as the kubelet does for terminated pods: the pod object stays (a Failed/Evicted pod
// until the pod garbage collector), but its emptyDirs give their space back at once — an
// evicted pod's disk was what the node needed, and a node kept its DiskPressure for as long
// as the evicted pod existed. Container logs are kept (kubectl logs).
func (m *Manager) finished(ctx context.Context, pod *core.Pod, st *podState) error {
	if err := m.stopAll(ctx, pod, st, 0, false); err != nil {
		return err
	}
	if m.cfg.Volumes == nil {
		return nil
	}
	_, cs, err := m.list(ctx, pod.UID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if c.State == runtime.ContainerRunning {
			return fmt.Errorf("pod %s/%s finished but its container %s still runs", pod.Namespace, pod.Name, c.Name)
		}
	}
	return m.cfg.Volumes.Teardown(ctx, pod.UID)
}

// Reclaimed reports whether a stopped pod's resources are back: none of its containers
// runs and its volumes (RootDir/pods/UID/volumes, the volumes package's layout) are torn
// down — the kubelet's PodResourcesAreReclaimed, which its eviction manager waits for.
func (m *Manager) Reclaimed(ctx context.Context, uid string) bool {
	_, cs, err := m.list(ctx, uid)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.State == runtime.ContainerRunning {
			return false
		}
	}
	if m.cfg.RootDir == "" || m.cfg.Volumes == nil {
		return true
	}
	_, err = os.Stat(filepath.Join(m.podDir(uid), "volumes"))
	return errors.Is(err, fs.ErrNotExist)
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
