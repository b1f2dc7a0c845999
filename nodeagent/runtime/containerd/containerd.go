// Package containerd runs pods as containerd containers, through containerd's Go client
// (which also works against the containerd 1.6 that Debian ships):
//
//   - a sandbox is a container of the locally built pause image: it owns the pod's
//     network (attached through CNI), IPC and UTS namespaces;
//   - app containers join those namespaces through /proc/<pause pid>/ns/*;
//   - every object carries labels (pod UID, container name, attempt, ...) so that a
//     restarted agent finds what it was running and adopts it;
//   - container output goes to a "binary" logger (`skiff-nodeagent container-logger`)
//     that the containerd shim runs, so logs are written while the agent is down;
//   - an exited task's status is moved into the container's labels and the task
//     deleted, which frees its shim.
//
// Each node uses its own containerd namespace, so several agents can share a daemon.
package containerd

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	eventtypes "github.com/containerd/containerd/api/events"
	tasktypes "github.com/containerd/containerd/api/types/task"
	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/network"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Labels of the runtime's own, on top of runtime.Label*.
const (
	labelIP          = "io.skiff.ip"
	labelHostNetwork = "io.skiff.host-network"
	labelPorts       = "io.skiff.ports"
	labelLogPath     = "io.skiff.log-path"
	labelImage       = "io.skiff.image"
	labelImageID     = "io.skiff.image-id"
	labelStopSignal  = "io.skiff.stop-signal"
	labelStartedAt   = "io.skiff.started-at"
	labelFinishedAt  = "io.skiff.finished-at"
	labelExitCode    = "io.skiff.exit-code"
	labelReason      = "io.skiff.reason"
	labelMessage     = "io.skiff.message"
	labelOOM         = "io.skiff.oom"
	kindSandbox      = "sandbox"
	kindContainer    = "container"
	runcRuntime      = "io.containerd.runc.v2"
)

// Options of the containerd runtime.
type Options struct {
	// DataDir is the node's data dir; containerd (when started here) lives in
	// DataDir/containerd, CNI state in DataDir/cni.
	DataDir string
	// Address of a running containerd; "" starts one.
	Address string
	// Namespace in containerd (one per node).
	Namespace string
	// LoggerBinary is run by the shim as `LoggerBinary container-logger PATH`.
	LoggerBinary string
	// PauseBinary is the static program the pause image is built from.
	PauseBinary string
	// Snapshotter (default overlayfs).
	Snapshotter string
	// CNIPluginDirs (default network.DefaultPluginDirs).
	CNIPluginDirs []string
	Log           *slog.Logger
}

// Runtime is a runtime.Runtime over containerd.
type Runtime struct {
	o       Options
	client  *ctrd.Client
	daemon  *daemon
	cni     *network.CNI
	changes chan string
	log     *slog.Logger
	pause   ctrd.Image
	cancel  context.CancelFunc
	fifoDir string

	mu      sync.Mutex
	version string
	imageFs string // the snapshotter's root (gc.go)
}

var _ runtime.Runtime = (*Runtime)(nil)

// Start connects to containerd (starting it if needed), makes sure the pause image is
// there and follows task events.
func Start(ctx context.Context, o Options) (*Runtime, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Snapshotter == "" {
		o.Snapshotter = "overlayfs"
	}
	if o.Namespace == "" {
		o.Namespace = "skiff"
	}
	r := &Runtime{o: o, changes: make(chan string, 1024), log: o.Log,
		cni: &network.CNI{PluginDirs: o.CNIPluginDirs, DataDir: filepath.Join(o.DataDir, "cni"), Bridge: bridgeName(o.Namespace)}}
	addr := o.Address
	if addr == "" {
		d, err := startDaemon(ctx, filepath.Join(o.DataDir, "containerd"), o.Log)
		if err != nil {
			return nil, err
		}
		r.daemon, addr = d, d.socket()
	}
	c, err := ctrd.New(addr, ctrd.WithDefaultNamespace(o.Namespace), ctrd.WithTimeout(10*time.Second))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("connect to containerd at %s: %w", addr, err)
	}
	r.client = c
	r.fifoDir = filepath.Join(o.DataDir, "fifo")
	_ = os.MkdirAll(r.fifoDir, 0o700)
	if err := writeInfo(o.DataDir, addr, o.Namespace); err != nil {
		r.Close()
		return nil, err
	}
	if r.pause, err = r.ensurePause(r.ns(ctx)); err != nil {
		r.Close()
		return nil, fmt.Errorf("pause image: %w", err)
	}
	ectx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go r.followEvents(ectx)
	return r, nil
}

// Close disconnects, and stops the containerd it started (containers keep running).
func (r *Runtime) Close() {
	if r.cancel != nil {
		r.cancel()
	}
	if r.client != nil {
		r.client.Close()
	}
	if r.daemon != nil {
		r.daemon.stop()
	}
}

func (r *Runtime) ns(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.o.Namespace)
}

func (r *Runtime) Type() string              { return "containerd" }
func (r *Runtime) Changes() <-chan string    { return r.changes }
func (r *Runtime) NetworkReady() error       { return r.cni.Ready() }
func (r *Runtime) SetPodCIDR(c string) error { return r.cni.SetPodCIDR(c) }

func (r *Runtime) Version(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.version != "" {
		return r.version, nil
	}
	v, err := r.client.Version(r.ns(ctx))
	if err != nil {
		return "", err
	}
	r.version = strings.TrimPrefix(v.Version, "v")
	if i := strings.IndexByte(r.version, '~'); i > 0 {
		r.version = r.version[:i] // Debian's "1.6.20~ds1"
	}
	return r.version, nil
}

// bridgeName is the node's bridge: its own, so that nodes sharing a network namespace
// (tests, a laptop) do not fight over one bridge's address.
func bridgeName(namespace string) string {
	sum := sha256.Sum256([]byte(namespace))
	return "skf" + hex.EncodeToString(sum[:5]) // 13 characters: under IFNAMSIZ
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// followEvents tells the agent about exited tasks and records OOM kills.
func (r *Runtime) followEvents(ctx context.Context) {
	for ctx.Err() == nil {
		ch, errs := r.client.Subscribe(ctx,
			fmt.Sprintf(`namespace==%q,topic=="/tasks/exit"`, r.o.Namespace),
			fmt.Sprintf(`namespace==%q,topic=="/tasks/oom"`, r.o.Namespace))
	loop:
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-errs:
				if ctx.Err() == nil {
					r.log.Warn("containerd events", "err", err)
				}
				break loop
			case env := <-ch:
				if env == nil {
					break loop
				}
				ev, err := typeurl.UnmarshalAny(env.Event)
				if err != nil {
					continue
				}
				switch e := ev.(type) {
				case *eventtypes.TaskExit:
					if e.ID != e.ContainerID {
						continue // an exec'd process (probe), not the container
					}
					r.notify(ctx, e.ContainerID)
				case *eventtypes.TaskOOM:
					if c, err := r.client.LoadContainer(r.ns(ctx), e.ContainerID); err == nil {
						_, _ = c.SetLabels(r.ns(ctx), map[string]string{labelOOM: "true"})
					}
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (r *Runtime) notify(ctx context.Context, id string) {
	c, err := r.client.LoadContainer(r.ns(ctx), id)
	if err != nil {
		return
	}
	labels, err := c.Labels(r.ns(ctx))
	if err != nil {
		return
	}
	select {
	case r.changes <- labels[runtime.LabelPodUID]:
	default: // the periodic sync will notice
	}
}

// ---- Sandboxes ----

// RunPodSandbox starts the pause container and attaches it to the pod network.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (*runtime.Sandbox, error) {
	ctx = r.ns(ctx)
	id := newID()
	ports, _ := json.Marshal(cfg.Ports)
	labels := copyLabels(cfg.Labels)
	labels[runtime.LabelKind] = kindSandbox
	labels[runtime.LabelAttempt] = strconv.Itoa(cfg.Attempt)
	labels[labelPorts] = string(ports)
	labels[labelLogPath] = cfg.LogDir
	if cfg.HostNetwork {
		labels[labelHostNetwork] = "true"
	}
	opts := []oci.SpecOpts{
		oci.WithImageConfig(r.pause),
		oci.WithRootFSReadonly(),
		withOOMScoreAdj(-998),
		withShimGroup(id),
	}
	if cfg.HostNetwork {
		opts = append(opts, oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostNamespace(specs.UTSNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf)
	} else {
		opts = append(opts, oci.WithHostname(cfg.Hostname))
	}
	if cfg.HostIPC {
		opts = append(opts, oci.WithHostNamespace(specs.IPCNamespace))
	}
	if cfg.HostPID {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	if cfg.CgroupParent != "" {
		opts = append(opts, oci.WithCgroup(filepath.Join(cfg.CgroupParent, id)))
	}
	c, err := r.client.NewContainer(ctx, id,
		ctrd.WithImage(r.pause), ctrd.WithSnapshotter(r.o.Snapshotter), ctrd.WithNewSnapshot(id, r.pause),
		ctrd.WithRuntime(runcRuntime, nil), ctrd.WithNewSpec(opts...), ctrd.WithContainerLabels(labels))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
	}
	cleanup := func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = r.StopPodSandbox(dctx, id)
		_ = r.RemovePodSandbox(dctx, id)
	}
	task, err := c.NewTask(ctx, cio.NullIO)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
	}
	if err := task.Start(ctx); err != nil {
		cleanup()
		return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
	}
	sb := &runtime.Sandbox{ID: id, Pod: cfg.Pod, Attempt: cfg.Attempt, State: runtime.SandboxReady, CreatedAt: time.Now(), Labels: labels}
	if !cfg.HostNetwork {
		ip, err := r.cni.Add(ctx, network.Attachment{
			ID: id, NetNS: fmt.Sprintf("/proc/%d/ns/net", task.Pid()),
			Namespace: cfg.Pod.Namespace, Name: cfg.Pod.Name, UID: cfg.Pod.UID, Ports: cfg.Ports,
		})
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
		}
		if _, err := c.SetLabels(ctx, map[string]string{labelIP: ip}); err != nil {
			cleanup()
			return nil, err
		}
		sb.IP = ip
	}
	return sb, nil
}

// StopPodSandbox detaches the sandbox from the network and stops the pause process.
func (r *Runtime) StopPodSandbox(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return err
	}
	netns := ""
	task, err := c.Task(ctx, nil)
	if err == nil {
		if st, err := task.Status(ctx); err == nil && st.Status == ctrd.Running {
			netns = fmt.Sprintf("/proc/%d/ns/net", task.Pid())
		}
	}
	if labels[labelHostNetwork] != "true" && labels[labelIP] != "" {
		var ports []core.ContainerPort
		_ = json.Unmarshal([]byte(labels[labelPorts]), &ports)
		err := r.cni.Del(ctx, network.Attachment{ID: id, NetNS: netns, Namespace: labels[runtime.LabelPodNamespace],
			Name: labels[runtime.LabelPodName], UID: labels[runtime.LabelPodUID], Ports: ports})
		if err != nil {
			return err
		}
		if _, err := c.SetLabels(ctx, map[string]string{labelIP: ""}); err != nil {
			return err
		}
	}
	if task != nil {
		return killAndDelete(ctx, task)
	}
	return nil
}

func killAndDelete(ctx context.Context, task ctrd.Task) error {
	wait, err := task.Wait(ctx)
	if err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	if st, err := task.Status(ctx); err == nil && st.Status != ctrd.Stopped {
		if err := task.Kill(ctx, syscall.SIGKILL, ctrd.WithKillAll); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *Runtime) RemovePodSandbox(ctx context.Context, id string) error {
	ctx = r.ns(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if task, err := c.Task(ctx, nil); err == nil {
		if err := killAndDelete(ctx, task); err != nil {
			return err
		}
	}
	if err := c.Delete(ctx, ctrd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

func (r *Runtime) ListPodSandboxes(ctx context.Context, podUID string) ([]*runtime.Sandbox, error) {
	ctx = r.ns(ctx)
	cs, tasks, err := r.listKind(ctx, kindSandbox, podUID)
	if err != nil {
		return nil, err
	}
	out := make([]*runtime.Sandbox, 0, len(cs))
	for _, c := range cs {
		l := c.Labels
		sb := &runtime.Sandbox{ID: c.ID, Pod: podRef(l), Attempt: atoi(l[runtime.LabelAttempt]), State: runtime.SandboxNotReady,
			IP: l[labelIP], CreatedAt: c.CreatedAt, Labels: l}
		if t, ok := tasks[c.ID]; ok && t.Status == tasktypes.Status_RUNNING {
			sb.State = runtime.SandboxReady
		}
		out = append(out, sb)
	}
	return out, nil
}

// listKind lists the containers of one kind (of one pod) with the tasks that exist.
func (r *Runtime) listKind(ctx context.Context, kind, podUID string) ([]containers.Container, map[string]*tasktypes.Process, error) {
	filter := fmt.Sprintf(`labels.%q==%q`, runtime.LabelKind, kind)
	if podUID != "" {
		filter += fmt.Sprintf(`,labels.%q==%q`, runtime.LabelPodUID, podUID)
	}
	cs, err := r.client.ContainerService().List(ctx, filter)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := r.tasksOf(ctx, cs, podUID == "")
	if err != nil {
		return nil, nil, err
	}
	return cs, tasks, nil
}

func podRef(l map[string]string) runtime.PodRef {
	return runtime.PodRef{UID: l[runtime.LabelPodUID], Namespace: l[runtime.LabelPodNamespace], Name: l[runtime.LabelPodName]}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func copyLabels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+8)
	for k, v := range in {
		out[k] = v
	}
	return out
}

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

// ---- Containers ----

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
	_, err = r.client.NewContainer(ctx, id,
		ctrd.WithImage(img), ctrd.WithSnapshotter(r.o.Snapshotter), ctrd.WithNewSnapshot(id, img),
		ctrd.WithRuntime(runcRuntime, nil), ctrd.WithNewSpec(opts...), ctrd.WithContainerLabels(labels))
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
		creator = cio.BinaryIO(r.o.LoggerBinary, map[string]string{"container-logger": p})
	}
	fail := func(err error) error {
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

// ExecSync runs cmd in the container and returns its exit code and output.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out boundedBuffer
	code, err := r.Exec(ctx, id, runtime.ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		return nil, err
	}
	return &runtime.ExecResult{ExitCode: code, Output: out.Bytes()}, nil
}

// boundedBuffer keeps the first 16 KiB written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 16<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

// Exec runs a process in the container with the given streams and returns its exit code.
func (r *Runtime) Exec(ctx context.Context, id string, o runtime.ExecOptions) (int, error) {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, id)
	if err != nil {
		return 0, err
	}
	task, err := c.Task(nctx, nil)
	if err != nil {
		return 0, fmt.Errorf("container %s is not running: %w", id, err)
	}
	spec, err := c.Spec(nctx)
	if err != nil {
		return 0, err
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = o.Cmd, o.TTY
	if o.TTY && o.Size != nil {
		pspec.ConsoleSize = &specs.Box{Height: uint(o.Size.Height), Width: uint(o.Size.Width)}
	}
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || o.TTY {
		stderr = io.Discard // a terminal has one output stream
	}
	// The shim holds the stdin FIFO open itself: the process sees EOF only once it is
	// told to close it (CloseIO), which happens when the caller's stdin ends.
	var stdin io.Reader
	stdinEOF := make(chan struct{})
	if o.Stdin != nil {
		stdin = &eofReader{r: o.Stdin, eof: stdinEOF}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(r.fifoDir)}
	if o.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	execID := "exec-" + newID()[:16]
	// The process outlives ctx's cancellation long enough to be killed and deleted.
	bg := context.WithoutCancel(nctx)
	proc, err := task.Exec(bg, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return 0, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, ctrd.WithProcessKill)
	}()
	wait, err := proc.Wait(bg)
	if err != nil {
		return 0, err
	}
	if err := proc.Start(bg); err != nil {
		return 0, fmt.Errorf("exec %q: %w", strings.Join(o.Cmd, " "), err)
	}
	exited := make(chan struct{})
	defer close(exited)
	if stdin != nil {
		go func() {
			select {
			case <-exited:
			case <-stdinEOF:
				_ = proc.CloseIO(bg, ctrd.WithStdinCloser)
			}
		}()
	}
	if o.TTY && o.Resize != nil {
		go func() {
			for {
				select {
				case <-exited:
					return
				case sz, ok := <-o.Resize:
					if !ok {
						return
					}
					_ = proc.Resize(bg, uint32(sz.Width), uint32(sz.Height))
				}
			}
		}()
	}
	select {
	case st := <-wait:
		if io := proc.IO(); io != nil {
			io.Wait()
		}
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		_ = proc.Kill(bg, syscall.SIGKILL)
		<-wait
		return 0, ctx.Err()
	}
}

// eofReader closes eof when r is read to its end.
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}

// ---- Info for `skiff-nodeagent import` ----

type info struct {
	Address   string `json:"address"`
	Namespace string `json:"namespace"`
}

func writeInfo(dataDir, addr, ns string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(info{Address: addr, Namespace: ns})
	return os.WriteFile(filepath.Join(dataDir, "runtime.json"), b, 0o644)
}

func readInfo(dataDir string) (info, error) {
	var i info
	b, err := os.ReadFile(filepath.Join(dataDir, "runtime.json"))
	if err != nil {
		return i, fmt.Errorf("not a node's data dir (no runtime.json): %w", err)
	}
	err = json.Unmarshal(b, &i)
	return i, err
}

var errNoImages = errors.New("no image in the archive")
