package containerd

// Pod sandboxes: the pause container that holds a pod's network, IPC and UTS namespaces,
// its CNI network, and listing sandboxes and containers by pod.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	tasktypes "github.com/containerd/containerd/api/types/task"
	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/network"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// RunPodSandbox starts the pause container and attaches it to the pod network.
func (r *Runtime) RunPodSandbox(ctx context.Context, cfg *runtime.SandboxConfig) (*runtime.Sandbox, error) {
	ctx = r.ns(ctx)
	shim, err := r.o.runtimeFor(cfg.RuntimeHandler)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
	}
	id := newID()
	ports, _ := json.Marshal(cfg.Ports)
	labels := copyLabels(cfg.Labels)
	labels[runtime.LabelKind] = kindSandbox
	labels[runtime.LabelAttempt] = strconv.Itoa(cfg.Attempt)
	labels[labelPorts] = string(ports)
	labels[labelLogPath] = cfg.LogDir
	labels[labelRuntime] = shim
	if cfg.HostNetwork {
		labels[labelHostNetwork] = "true"
	}
	switch {
	case cfg.HostPID:
		labels[labelPIDMode] = "host"
	case cfg.ShareProcessNamespace:
		labels[labelPIDMode] = "pod"
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
	if len(cfg.Sysctls) > 0 {
		opts = append(opts, withSysctls(cfg.Sysctls))
	}
	if cfg.HostPID {
		opts = append(opts, oci.WithHostNamespace(specs.PIDNamespace))
	}
	if cfg.CgroupParent != "" {
		opts = append(opts, oci.WithCgroup(filepath.Join(cfg.CgroupParent, id)))
	}
	c, err := r.client.NewContainer(ctx, id,
		ctrd.WithImage(r.pause), ctrd.WithSnapshotter(r.o.Snapshotter), ctrd.WithNewSnapshot(id, r.pause),
		ctrd.WithRuntime(shim, nil), ctrd.WithNewSpec(opts...), ctrd.WithContainerLabels(labels))
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

// withSysctls sets namespaced sysctls in the sandbox's spec: runc writes them into the
// sandbox's network and IPC namespaces, which the pod's containers then join.
func withSysctls(sysctls map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		for k, v := range sysctls {
			s.Linux.Sysctl[k] = v
		}
		return nil
	}
}
