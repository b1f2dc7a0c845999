package containerd

// App containers: the OCI spec (mounts, security, cgroup, OOM score), start, stop with a
// grace period, exit recording, removal and listing.

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

func withOOMScoreAdj(v int) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		// Never below our own: lowering it needs CAP_SYS_RESOURCE (runc fails otherwise).
		own := 0
		if b, err := os.ReadFile("/proc/self/oom_score_adj"); err == nil {
			own, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		v = max(v, own)
		s.Process.OOMScoreAdj = &v
		return nil
	}
}

func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	ctx = r.ns(ctx)
	sbc, err := r.client.LoadContainer(ctx, sandboxID)
	if err != nil {
		return "", fmt.Errorf("%w: sandbox: %v", runtime.ErrCreateContainer, err)
	}
	sbLabels, err := sbc.Labels(ctx)
	if err != nil {
		return "", err
	}
	sbTask, err := sbc.Task(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("%w: sandbox not running: %v", runtime.ErrCreateContainer, err)
	}
	img, err := r.client.GetImage(ctx, cfg.Image)
	if err != nil {
		return "", fmt.Errorf("%w: image %s: %v", runtime.ErrCreateContainer, cfg.Image, err)
	}
	ispec, err := img.Spec(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: image config: %v", runtime.ErrCreateContainer, err)
	}
	id := newID()
	pid := sbTask.Pid()
	opts := []oci.SpecOpts{oci.WithImageConfig(img)}
	// Kubernetes' rules: command replaces the entrypoint (and drops the image's cmd),
	// args replace the cmd.
	switch {
	case cfg.Command != nil:
		opts = append(opts, oci.WithProcessArgs(append(append([]string{}, cfg.Command...), cfg.Args...)...))
	case cfg.Args != nil:
		opts = append(opts, oci.WithProcessArgs(append(append([]string{}, ispec.Config.Entrypoint...), cfg.Args...)...))
	}
	if len(cfg.Env) > 0 {
		opts = append(opts, oci.WithEnv(cfg.Env))
	}
	if cfg.WorkingDir != "" {
		opts = append(opts, oci.WithProcessCwd(cfg.WorkingDir))
	}
	if sbLabels[labelHostNetwork] == "true" {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace))
	} else {
		opts = append(opts,
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: fmt.Sprintf("/proc/%d/ns/net", pid)}),
			oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.UTSNamespace, Path: fmt.Sprintf("/proc/%d/ns/uts", pid)}))
	}
	opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.IPCNamespace, Path: fmt.Sprintf("/proc/%d/ns/ipc", pid)}))
	switch {
	case sbLabels[labelPIDMode] == "host":
		// hostPID: every container of the pod, not only the sandbox, sees the node's
		// processes, as with the kubelet.
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	case cfg.PIDNamespaceOf != "":
		// Join the target's process namespace by its path, which runc allows: the debug
		// container sees (and may signal) the target's processes.
		target, err := r.client.LoadContainer(ctx, cfg.PIDNamespaceOf)
		if err != nil {
			return "", fmt.Errorf("%w: target container: %v", runtime.ErrCreateContainer, err)
		}
		tt, err := target.Task(ctx, nil)
		if err != nil {
			return "", fmt.Errorf("%w: target container not running: %v", runtime.ErrCreateContainer, err)
		}
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.PIDNamespace, Path: fmt.Sprintf("/proc/%d/ns/pid", tt.Pid())}))
	case sbLabels[labelPIDMode] == "pod":
		// shareProcessNamespace: the containers share the sandbox's process namespace.
		opts = append(opts, oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.PIDNamespace, Path: fmt.Sprintf("/proc/%d/ns/pid", pid)}))
	}
	opts = append(opts, withShimGroup(sandboxID))
	opts = append(opts, withMounts(cfg.Mounts))
	res := cfg.Resources
	if res.CPUShares > 0 {
		opts = append(opts, oci.WithCPUShares(res.CPUShares))
	}
	if res.CPUQuota > 0 {
		opts = append(opts, oci.WithCPUCFS(res.CPUQuota, res.CPUPeriod))
	}
	if res.MemoryLimit > 0 {
		opts = append(opts, oci.WithMemoryLimit(uint64(res.MemoryLimit)))
	}
	opts = append(opts, withOOMScoreAdj(res.OOMScoreAdj))
	if parent := sbCgroupParent(sbc, ctx); parent != "" {
		opts = append(opts, oci.WithCgroup(filepath.Join(parent, id)))
	}
	opts = append(opts, securityOpts(cfg.Security)...)
	if cfg.TTY {
		opts = append(opts, oci.WithTTY)
	}
	labels := copyLabels(cfg.Labels)
	labels[runtime.LabelKind] = kindContainer
	labels[runtime.LabelAttempt] = strconv.Itoa(cfg.Attempt)
	labels[labelLogPath] = cfg.LogPath
	labels[labelImage] = cfg.Image
	labels[labelImageID] = imageID(img)
	sig := cfg.StopSignal
	if sig == "" {
		sig = ispec.Config.StopSignal
	}
	labels[labelStopSignal] = sig
	for l, on := range map[string]bool{labelStdin: cfg.Stdin, labelStdinOnce: cfg.StdinOnce, labelTTY: cfg.TTY} {
		if on {
			labels[l] = "true"
		}
	}
	_, err = r.client.NewContainer(ctx, id,
		ctrd.WithImage(img), ctrd.WithSnapshotter(r.o.Snapshotter), ctrd.WithNewSnapshot(id, img),
		ctrd.WithRuntime(cmp.Or(sbLabels[labelRuntime], runcRuntime), nil), ctrd.WithNewSpec(opts...), ctrd.WithContainerLabels(labels))
	if err != nil {
		return "", fmt.Errorf("%w: %v", runtime.ErrCreateContainer, err)
	}
	return id, nil
}

// sbCgroupParent is the pod cgroup: the parent of the sandbox's own cgroup.
func sbCgroupParent(c ctrd.Container, ctx context.Context) string {
	spec, err := c.Spec(ctx)
	if err != nil || spec.Linux == nil || spec.Linux.CgroupsPath == "" {
		return ""
	}
	return filepath.Dir(spec.Linux.CgroupsPath)
}

func withMounts(ms []runtime.Mount) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		for _, m := range ms {
			var sm specs.Mount
			if m.Tmpfs {
				sm = specs.Mount{Destination: m.ContainerPath, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}}
				if m.SizeBytes > 0 {
					sm.Options = append(sm.Options, fmt.Sprintf("size=%d", m.SizeBytes))
				}
			} else {
				prop := m.Propagation
				if prop == "" {
					prop = "rprivate"
				}
				sm = specs.Mount{Destination: m.ContainerPath, Type: "bind", Source: m.HostPath, Options: []string{"rbind", prop}}
				if m.ReadOnly {
					sm.Options = append(sm.Options, "ro")
				} else {
					sm.Options = append(sm.Options, "rw")
				}
			}
			// A mount replaces the image's or the default one at the same place.
			kept := s.Mounts[:0]
			for _, old := range s.Mounts {
				if old.Destination != sm.Destination {
					kept = append(kept, old)
				}
			}
			s.Mounts = append(kept, sm)
		}
		return nil
	}
}

func securityOpts(sec runtime.SecurityConfig) []oci.SpecOpts {
	var opts []oci.SpecOpts
	if sec.Privileged {
		opts = append(opts, oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices, oci.WithWriteableSysfs, oci.WithWriteableCgroupfs,
			oci.WithMaskedPaths(nil), oci.WithReadonlyPaths(nil))
	}
	switch {
	case sec.RunAsUser != nil && sec.RunAsGroup != nil:
		opts = append(opts, oci.WithUIDGID(uint32(*sec.RunAsUser), uint32(*sec.RunAsGroup)))
	case sec.RunAsUser != nil:
		opts = append(opts, oci.WithUserID(uint32(*sec.RunAsUser)))
	case sec.RunAsGroup != nil:
		g := uint32(*sec.RunAsGroup)
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			s.Process.User.GID = g
			return nil
		})
	}
	if len(sec.SupplementalGroups) > 0 {
		groups := sec.SupplementalGroups
		opts = append(opts, func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
			for _, g := range groups {
				s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, uint32(g))
			}
			return nil
		})
	}
	if len(sec.CapAdd) > 0 {
		opts = append(opts, oci.WithAddedCapabilities(capNames(sec.CapAdd)))
	}
	if len(sec.CapDrop) > 0 {
		opts = append(opts, oci.WithDroppedCapabilities(capNames(sec.CapDrop)))
	}
	if sec.ReadOnlyRootFilesystem {
		opts = append(opts, oci.WithRootFSReadonly())
	}
	if sec.NoNewPrivileges {
		opts = append(opts, oci.WithNoNewPrivileges)
	}
	return opts
}

// capNames turns Kubernetes' capability names (NET_ADMIN, ALL) into OCI's (CAP_NET_ADMIN).
func capNames(l []string) []string {
	out := make([]string, 0, len(l))
	for _, c := range l {
		c = strings.ToUpper(c)
		if c == "ALL" {
			out = append(out, "ALL")
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		out = append(out, c)
	}
	return out
}

func (r *Runtime) StartContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %v", runtime.ErrRunContainer, err)
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	creator := cio.NullIO
	if p := labels[labelLogPath]; p != "" && r.o.LoggerBinary != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if labels[labelStdin] == "true" && labels[labelTTY] != "true" {
			if creator, err = r.pipeStdio(id, p); err != nil {
				return fmt.Errorf("%w: %v", runtime.ErrRunContainer, err)
			}
		} else {
			creator = cio.BinaryIO(r.o.LoggerBinary, map[string]string{"container-logger": p})
		}
	}
	if creator, err = r.withStdio(creator, id, labels); err != nil {
		return fmt.Errorf("%w: %v", runtime.ErrRunContainer, err)
	}
	fail := func(err error) error {
		r.releaseLogger(id)
		now := time.Now()
		_, _ = c.SetLabels(ctx, map[string]string{
			labelExitCode: "128", labelReason: "StartError", labelMessage: trimMessage(err.Error()),
			labelStartedAt: now.Format(time.RFC3339Nano), labelFinishedAt: now.Format(time.RFC3339Nano),
		})
		if t, terr := c.Task(ctx, nil); terr == nil {
			_, _ = t.Delete(ctx, ctrd.WithProcessKill)
		}
		return fmt.Errorf("%w: %v", runtime.ErrRunContainer, err)
	}
	task, err := c.NewTask(ctx, creator)
	if err != nil {
		return fail(err)
	}
	if err := task.Start(ctx); err != nil {
		return fail(err)
	}
	_, err = c.SetLabels(ctx, map[string]string{labelStartedAt: time.Now().Format(time.RFC3339Nano)})
	return err
}

// trimMessage keeps the useful end of runc's long error chains.
func trimMessage(s string) string {
	if len(s) > 1024 {
		s = s[len(s)-1024:]
	}
	return s
}

func (r *Runtime) StopContainer(ctx context.Context, id string, grace time.Duration, signal string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	wait, err := task.Wait(ctx)
	if err != nil {
		return err
	}
	if signal == "" {
		labels, _ := c.Labels(ctx)
		signal = labels[labelStopSignal]
	}
	sig := syscall.SIGTERM
	if s, ok := signals[strings.TrimPrefix(strings.ToUpper(signal), "SIG")]; ok {
		sig = s
	}
	if st, err := task.Status(ctx); err == nil && st.Status == ctrd.Running {
		if sig != syscall.SIGKILL && grace > 0 {
			if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) {
				return err
			}
			t := time.NewTimer(grace)
			select {
			case <-wait:
				t.Stop()
				return r.recordExit(ctx, c, task)
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if err := task.Kill(ctx, syscall.SIGKILL, ctrd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return r.recordExit(ctx, c, task)
}

var signals = map[string]syscall.Signal{
	"TERM": syscall.SIGTERM, "KILL": syscall.SIGKILL, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH,
	"STOP": syscall.SIGSTOP,
}

// recordExit moves a stopped task's exit status into the container's labels and deletes
// the task (which ends its shim).
func (r *Runtime) recordExit(ctx context.Context, c ctrd.Container, task ctrd.Task) error {
	st, err := task.Status(ctx)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return nil
		}
		return err
	}
	if st.Status != ctrd.Stopped {
		return nil
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	if labels[labelExitCode] == "" {
		set := map[string]string{
			labelExitCode: strconv.Itoa(int(st.ExitStatus)), labelFinishedAt: st.ExitTime.Format(time.RFC3339Nano),
		}
		if labels[labelOOM] == "true" {
			set[labelReason] = "OOMKilled"
		}
		if _, err := c.SetLabels(ctx, set); err != nil {
			return err
		}
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *Runtime) RemoveContainer(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	labels, _ := c.Labels(ctx)
	if task, err := c.Task(ctx, nil); err == nil {
		if st, err := task.Status(ctx); err == nil && st.Status == ctrd.Running {
			return fmt.Errorf("remove %s: %w", id, runtime.ErrContainerRunning)
		}
		if _, err := task.Delete(ctx, ctrd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	if err := c.Delete(ctx, ctrd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	if p := labels[labelLogPath]; p != "" {
		_ = os.Remove(p)
	}
	r.releaseLogger(id)
	stdout, stderr := r.outputFIFOs(id)
	for _, p := range []string{r.stdinPath(id), stdout, stderr} {
		_ = os.Remove(p)
	}
	return nil
}

func (r *Runtime) ListContainers(ctx context.Context, podUID string) ([]*runtime.Container, error) {
	ctx = r.ns(ctx)
	cs, tasks, err := r.listKind(ctx, kindContainer, podUID)
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Container, 0, len(cs))
	for _, c := range cs {
		l := c.Labels
		rc := &runtime.Container{
			ID: c.ID, Pod: podRef(l), Name: l[runtime.LabelContainerName], Attempt: atoi(l[runtime.LabelAttempt]),
			Init: l[runtime.LabelInit] == "true", SpecHash: l[runtime.LabelSpecHash], Image: l[labelImage],
			ImageRef: l[labelImageID], CreatedAt: c.CreatedAt, LogPath: l[labelLogPath], Labels: l,
			StartedAt: parseTime(l[labelStartedAt]),
		}
		t, hasTask := tasks[c.ID]
		switch {
		case l[labelExitCode] != "":
			rc.State, rc.ExitCode, rc.FinishedAt = runtime.ContainerExited, atoi(l[labelExitCode]), parseTime(l[labelFinishedAt])
			rc.Reason, rc.Message = l[labelReason], l[labelMessage]
		case hasTask && t.Status == tasktypes.Status_RUNNING:
			rc.State = runtime.ContainerRunning
		case hasTask && t.Status == tasktypes.Status_STOPPED:
			rc.State, rc.ExitCode = runtime.ContainerExited, int(t.ExitStatus)
			if t.ExitedAt != nil {
				rc.FinishedAt = t.ExitedAt.AsTime()
			}
			if l[labelOOM] == "true" {
				rc.Reason = "OOMKilled"
			}
			if cc, err := r.client.LoadContainer(ctx, c.ID); err == nil {
				if task, err := cc.Task(ctx, nil); err == nil {
					_ = r.recordExit(ctx, cc, task)
				}
			}
		case hasTask && t.Status == tasktypes.Status_CREATED:
			rc.State = runtime.ContainerCreated
		case !hasTask && !rc.StartedAt.IsZero():
			// Started, and its task is gone without a record (containerd lost it).
			rc.State, rc.ExitCode, rc.FinishedAt, rc.Reason = runtime.ContainerExited, 255, rc.StartedAt, "Unknown"
		case !hasTask:
			rc.State = runtime.ContainerCreated
		default:
			rc.State = runtime.ContainerUnknown
		}
		out = append(out, rc)
	}
	return out, nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
