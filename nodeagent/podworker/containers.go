package podworker

// Starting a pod's sandbox and containers: the sandbox with its cgroup and pod files, images,
// container configuration and mounts, restarts with backoff, and lifecycle hooks.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/probes"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

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
	handler, err := m.runtimeHandler(ctx, pod)
	if err != nil {
		m.event(pod, "Warning", "FailedCreatePodSandBox", "Failed to create pod sandbox: %v", err)
		return nil, err
	}
	ref := podRef(pod)
	cfg := &runtime.SandboxConfig{RuntimeHandler: handler, Sysctls: podSysctls(pod),
		Pod: ref, Attempt: attempt, Hostname: podHostname(pod),
		HostNetwork: pod.Spec.HostNetwork, HostIPC: pod.Spec.HostIPC, HostPID: pod.Spec.HostPID,
		ShareProcessNamespace: pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace,
		CgroupParent:          m.cgroupParent(pod), Labels: podLabels(pod, m.cfg.NodeName),
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

// runtimeHandler is the handler of the pod's RuntimeClass, "" for the default runtime.
func (m *Manager) runtimeHandler(ctx context.Context, pod *core.Pod) (string, error) {
	name := pod.Spec.RuntimeClassName
	if name == nil || *name == "" || m.cfg.RuntimeHandler == nil {
		return "", nil
	}
	h, err := m.cfg.RuntimeHandler(ctx, *name)
	if err != nil {
		return "", fmt.Errorf("failed to lookup RuntimeClass %s: %w", *name, err)
	}
	return h, nil
}

func (m *Manager) cgroupParent(pod *core.Pod) string { return PodCgroup(m.cfg.CgroupParent, pod) }

// PodCgroup is the cgroup of pod under parent, as the kubelet lays them out with cgroupfs:
// parent/pod<uid> for Guaranteed pods, parent/<qos>/pod<uid> for the others; "" without a
// parent. Each container's cgroup is the pod's joined with the container's ID.
func PodCgroup(parent string, pod *core.Pod) string {
	if parent == "" {
		return ""
	}
	qos := strings.ToLower(string(core.GetPodQOS(pod)))
	if qos == "guaranteed" {
		return filepath.Join(parent, "pod"+pod.UID)
	}
	return filepath.Join(parent, qos, "pod"+pod.UID)
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
	if err := writeAtomic(filepath.Join(dir, "resolv.conf"), rc); err != nil {
		return err
	}
	hosts := hostsFile(pod, sb.IP, m.cfg.DNS.ClusterDomain)
	if pod.Spec.HostNetwork {
		path := m.cfg.DNS.HostHosts
		if path == "" {
			path = "/etc/hosts"
		}
		node, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read the node's hosts file: %w", err)
		}
		hosts = hostNetworkHostsFile(pod, node)
	}
	return writeAtomic(filepath.Join(dir, "etc-hosts"), hosts)
}

// writeAtomic replaces path with data in one rename: an agent killed mid-write leaves the
// old file or none, never a truncated one.
func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ensurePodFiles writes the pod's files unless both are there, as the kubelet's
// ensureHostsFile does at each container start: an agent killed between creating a sandbox
// and writing them finds the sandbox ready after its restart, and every container of the
// pod would otherwise fail to start (runc cannot mount a missing /etc/hosts) for ever.
func (m *Manager) ensurePodFiles(pod *core.Pod, sb *runtime.Sandbox) error {
	dir := m.podDir(pod.UID)
	for _, f := range []string{"etc-hosts", "resolv.conf"} {
		if _, err := os.Stat(filepath.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
			if sb == nil {
				sb = &runtime.Sandbox{}
			}
			return m.writePodFiles(pod, sb)
		}
	}
	return nil
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
		// The kubelet's event names the problem (`Error: configmap "x" not found`).
		m.event(pod, "Warning", "Failed", "Error: %v", err)
		return err
	}
	// A pull can take minutes: the pod's status (its sandbox's IP, the containers waiting
	// in ContainerCreating) is published before it rather than after.
	img, err := m.ensureImage(ctx, pod, c, func() {
		if m.cfg.Pods != nil { // nil: no API (unit tests)
			_ = m.reportStatus(ctx, pod, ac.st)
		}
	})
	if err != nil {
		var bo *pullBackOffError
		switch {
		case errors.As(err, &bo):
			// Waiting out the back-off is not a failed sync: come back when it ends.
			ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: bo.Error()}
			m.event(pod, "Warning", "Failed", "Error: ImagePullBackOff")
			ac.requeue(bo.wait)
			return nil
		case errors.Is(err, runtime.ErrImageNeverPull):
			ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: err.Error()}
			m.event(pod, "Warning", "Failed", "Error: ErrImageNeverPull")
		case errors.Is(err, errPullCanceled):
		default:
			ac.st.waiting[c.Name] = core.ContainerStateWaiting{Reason: "ErrImagePull", Message: err.Error()}
			m.event(pod, "Warning", "Failed", "Error: ErrImagePull")
		}
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
		if shouldRestart(pod.Spec.RestartPolicy, 128) || init && (pod.Spec.RestartPolicy != core.RestartPolicyNever || isSidecar(c)) {
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

// pullBackOffError is a container's image waiting out the back-off after failed pulls.
type pullBackOffError struct {
	image string
	wait  time.Duration // until the next pull
	last  string        // the last pull's failure
}

func (e *pullBackOffError) Error() string {
	// The runtime's pull errors may already name the reason: say it once.
	return fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", e.image, strings.TrimPrefix(e.last, "ErrImagePull: "))
}

// errPullCanceled is a pull ended because its pod is being deleted.
var errPullCanceled = errors.New("image pull canceled: the pod is being deleted")

// ensureImage makes c's image present, as its pull policy says. As the kubelet does, a
// failed pull is retried with back-off (10 s doubling to 5 min, m.backoff's steps):
// until the next try the container waits in ImagePullBackOff without pulling. Deleting
// the pod cancels the pull (Manager.Delete). beforePull (if any) runs before a pull.
func (m *Manager) ensureImage(ctx context.Context, pod *core.Pod, c *core.Container, beforePull func()) (*runtime.Image, error) {
	key := "pull/" + pod.UID + "/" + c.Name
	if wait, last := m.pullBackOff(key, time.Now()); wait > 0 {
		m.event(pod, "Normal", "BackOff", "Back-off pulling image %q", c.Image)
		return nil, &pullBackOffError{image: c.Image, wait: wait, last: last}
	}
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = core.PullIfNotPresent
	}
	// Whether a pull is coming is known first, so that "Pulling" is seen while it runs
	// (a pull can take minutes), as the kubelet records it.
	pull := policy == core.PullAlways
	if policy == core.PullIfNotPresent {
		_, err := m.rt.EnsureImage(ctx, c.Image, core.PullNever, nil)
		pull = errors.Is(err, runtime.ErrImageNeverPull)
	}
	events := m.rt.Type() != "sim"
	if pull && events {
		m.event(pod, "Normal", "Pulling", "Pulling image %q", c.Image)
	}
	if pull && beforePull != nil {
		beforePull()
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	if p := m.pods[pod.UID]; pod.DeletionTimestamp != nil || p != nil && p.DeletionTimestamp != nil {
		cancel() // deleted while its sync got here
	}
	m.pulls[pod.UID] = cancel
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.pulls, pod.UID)
		m.mu.Unlock()
	}()
	start := time.Now()
	img, err := m.rt.EnsureImage(pctx, c.Image, policy, nil)
	if err != nil {
		if pctx.Err() != nil && ctx.Err() == nil {
			m.log.Info("image pull canceled", "pod", pod.Namespace+"/"+pod.Name, "image", c.Image)
			return nil, errPullCanceled
		}
		if errors.Is(err, runtime.ErrImageNeverPull) {
			m.event(pod, "Warning", "ErrImageNeverPull", "%v", err)
			return nil, err
		}
		m.backoff.next(key, time.Now())
		m.recordPullFailure(key, err)
		m.event(pod, "Warning", "Failed", "Failed to pull image %q: %v", c.Image, err)
		return nil, err
	}
	m.backoff.forget(key)
	switch {
	case !events:
	case pull:
		m.event(pod, "Normal", "Pulled", "Successfully pulled image %q in %v. Image size: %d bytes.", c.Image, time.Since(start).Round(time.Millisecond), img.SizeBytes)
	default:
		m.event(pod, "Normal", "Pulled", "Container image %q already present on machine", c.Image)
	}
	return img, nil
}

// pullBackOff is how long key's image must still wait before its next pull, and the
// last pull's failure.
func (m *Manager) pullBackOff(key string, now time.Time) (time.Duration, string) {
	m.backoff.mu.Lock()
	defer m.backoff.mu.Unlock()
	e, ok := m.backoff.entries[key]
	if !ok {
		return 0, ""
	}
	return max(0, e.delay-now.Sub(e.last)), e.note
}

func (m *Manager) recordPullFailure(key string, err error) {
	m.backoff.mu.Lock()
	defer m.backoff.mu.Unlock()
	if e, ok := m.backoff.entries[key]; ok {
		e.note = err.Error()
	}
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
		Resources: res, Security: sec, TTY: c.TTY, Stdin: c.Stdin, StdinOnce: c.StdinOnce, Labels: labels,
		TerminationMessagePath: c.TerminationMessagePath,
	}
	if cfg.PIDNamespaceOf, err = pidTarget(ac, c.Name); err != nil {
		return nil, err
	}
	if c.Lifecycle != nil && c.Lifecycle.StopSignal != nil {
		cfg.StopSignal = string(*c.Lifecycle.StopSignal)
	}
	if m.cfg.LogDir != "" {
		cfg.LogPath = LogPath(m.cfg.LogDir, ref, c.Name, attempt)
	}
	mounts, err := m.mounts(ac, c, attempt, lookup)
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

// mounts are a container's volume mounts plus the files the agent manages for it; env
// looks up the container's environment, which subPathExpr expands.
func (m *Manager) mounts(ac *actionContext, c *core.Container, attempt int, env func(string) (string, bool)) ([]runtime.Mount, error) {
	var out []runtime.Mount
	if m.cfg.RootDir == "" {
		return nil, nil
	}
	if err := m.ensurePodFiles(ac.pod, ac.sandbox); err != nil {
		return nil, err
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
			sub, err := subPath(vm, env)
			if err != nil {
				return nil, err
			}
			mt.HostPath = filepath.Join(src.HostPath, sub)
			if err := makeSubPath(src.HostPath, mt.HostPath); err != nil {
				return nil, fmt.Errorf("create subPath %q of volume %q: %w", sub, vm.Name, err)
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
	if !has("/etc/hosts") {
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
	// Writable by whatever user the container runs as (the kubelet's 0666, past the umask).
	if err := os.WriteFile(tf, nil, 0o666); err != nil {
		return nil, err
	}
	if err := os.Chmod(tf, 0o666); err != nil {
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

// subPath is a mount's subPath, or its subPathExpr expanded with the container's
// environment, checked as the kubelet checks it (Kubernetes' errors, which the container's
// CreateContainerConfigError shows).
func subPath(vm core.VolumeMount, env func(string) (string, bool)) (string, error) {
	sub := vm.SubPath
	if vm.SubPathExpr != "" {
		var missing []string
		sub = Expand(vm.SubPathExpr, func(k string) (string, bool) {
			v, ok := env(k)
			if !ok || v == "" {
				missing = append(missing, k)
			}
			return v, true
		})
		if len(missing) > 0 {
			slices.Sort(missing)
			return "", configErrorf("missing value for %s", strings.Join(slices.Compact(missing), ", "))
		}
	}
	if filepath.IsAbs(sub) {
		return "", configErrorf("error SubPath `%s` must not be an absolute path", sub)
	}
	for _, part := range strings.Split(filepath.ToSlash(sub), "/") {
		if part == ".." {
			return "", configErrorf("unable to provision SubPath `%s`: must not contain '..'", sub)
		}
	}
	return sub, nil
}

// makeSubPath creates a missing subPath directory with the volume's own mode (as the kubelet
// does, so that an emptyDir's 0777 or an fsGroup's g+rwx carries on to it, past the umask),
// setgid included: the directory inherits an fsGroup volume's group, and so must what is
// made in it.
func makeSubPath(volume, path string) error {
	if _, err := os.Lstat(path); err == nil || !os.IsNotExist(err) {
		return err
	}
	fi, err := os.Stat(volume)
	if err != nil {
		return err
	}
	perm := fi.Mode() & (os.ModePerm | os.ModeSetgid)
	if err := os.MkdirAll(path, perm.Perm()); err != nil {
		return err
	}
	for p := path; p != volume && strings.HasPrefix(p, volume); p = filepath.Dir(p) {
		if err := os.Chmod(p, perm); err != nil {
			return err
		}
	}
	return nil
}
