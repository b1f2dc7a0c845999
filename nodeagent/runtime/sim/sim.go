// Package sim is a Runtime without containers, for simulated nodes (like kwok): sandboxes
// get IPs from the node's pod CIDR and containers "run" as records in memory, so one
// process can hold a thousand nodes and tens of thousands of pods.
//
// What a simulated container does is read from its command, so ordinary manifests work:
//
//   - a command (command + args, joined) that ends in `exit N` — `sh -c "exit 1"`,
//     `["/bin/sh","-c","echo hi; exit 0"]` — runs for ExitDelay, then exits with code N
//     (a Job's pods complete this way);
//   - anything else runs until it is stopped; stopped, it exits 137 if the stop signal
//     is SIGKILL and 0 otherwise (a process that honours SIGTERM).
//
// ExecSync follows the same rule (a probe `["sh","-c","exit 1"]` fails). The agent's sim
// prober reads pod annotations for probe results (see nodeagent/probes).
//
// Nothing survives the process: after a restart every simulated pod starts afresh.
package sim

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Options tune a simulated runtime.
type Options struct {
	// ExitDelay is how long a container whose command ends in `exit N` runs (default 1s).
	ExitDelay time.Duration
	// Version is reported as the runtime version (default "sim-1").
	Version string
}

// Runtime is a simulated container runtime for one node.
type Runtime struct {
	opts    Options
	changes chan string
	nextID  atomic.Uint64

	mu         sync.Mutex
	sandboxes  map[string]*runtime.Sandbox
	containers map[string]*simContainer
	ipam       *ipam
}

type simContainer struct {
	runtime.Container
	exitCode int // the code it exits with on its own; -1: runs until stopped
	timer    *time.Timer
}

// New returns an empty simulated runtime.
func New(o Options) *Runtime {
	if o.ExitDelay <= 0 {
		o.ExitDelay = time.Second
	}
	if o.Version == "" {
		o.Version = "sim-1"
	}
	return &Runtime{
		opts:       o,
		changes:    make(chan string, 128), // a node runs at most ~110 pods; more is left to the resync
		sandboxes:  map[string]*runtime.Sandbox{},
		containers: map[string]*simContainer{},
		ipam:       newIPAM(fallbackCIDR()),
	}
}

// fallbackRanges hands each simulated node without a pod CIDR its own /24 of the shared
// address space 100.64.0.0/10, so that pod IPs are unique within a process even before
// (or without) an IPAM controller.
var fallbackRanges atomic.Uint32

func fallbackCIDR() netip.Prefix {
	n := fallbackRanges.Add(1) - 1
	base := uint32(100)<<24 | uint32(64)<<16 // 100.64.0.0
	a := base + (n%(1<<14))<<8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
}

func (r *Runtime) Type() string                            { return "sim" }
func (r *Runtime) Version(context.Context) (string, error) { return r.opts.Version, nil }
func (r *Runtime) NetworkReady() error                     { return nil }
func (r *Runtime) Changes() <-chan string                  { return r.changes }

// SetPodCIDR makes new sandboxes take their IPs from cidr.
func (r *Runtime) SetPodCIDR(cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("sim: pod CIDR: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ipam.prefix != p.Masked() {
		r.ipam = newIPAM(p.Masked())
	}
	return nil
}

func (r *Runtime) id(prefix string) string {
	return fmt.Sprintf("%s%016x", prefix, r.nextID.Add(1))
}

func (r *Runtime) RunPodSandbox(_ context.Context, cfg *runtime.SandboxConfig) (*runtime.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb := &runtime.Sandbox{
		ID: r.id("s"), Pod: cfg.Pod, Attempt: cfg.Attempt, State: runtime.SandboxReady,
		CreatedAt: time.Now(), Labels: cfg.Labels,
	}
	if !cfg.HostNetwork {
		ip, err := r.ipam.allocate(sb.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", runtime.ErrSandboxCreation, err)
		}
		sb.IP = ip
	}
	r.sandboxes[sb.ID] = sb
	out := *sb
	return &out, nil
}

func (r *Runtime) StopPodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	sb, ok := r.sandboxes[id]
	if !ok {
		return nil
	}
	sb.State = runtime.SandboxNotReady
	r.ipam.release(id)
	return nil
}

func (r *Runtime) RemovePodSandbox(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ipam.release(id)
	delete(r.sandboxes, id)
	return nil
}

func (r *Runtime) ListPodSandboxes(_ context.Context, podUID string) ([]*runtime.Sandbox, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtime.Sandbox
	for _, sb := range r.sandboxes {
		if podUID != "" && sb.Pod.UID != podUID {
			continue
		}
		c := *sb
		out = append(out, &c)
	}
	return out, nil
}

// EnsureImage pretends every image is present; its reference is the name itself.
func (r *Runtime) EnsureImage(_ context.Context, ref string, _ core.PullPolicy, _ []runtime.PullAuth) (*runtime.Image, error) {
	return &runtime.Image{Ref: ref, Names: []string{ref}}, nil
}

func (r *Runtime) ListImages(context.Context) ([]runtime.Image, error) { return nil, nil }

func (r *Runtime) CreateContainer(_ context.Context, sandboxID string, cfg *runtime.ContainerConfig) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.sandboxes[sandboxID]; !ok {
		return "", fmt.Errorf("%w: sandbox %s: %w", runtime.ErrCreateContainer, sandboxID, runtime.ErrNotFound)
	}
	c := &simContainer{
		Container: runtime.Container{
			ID: r.id("c"), SandboxID: sandboxID, Pod: cfg.Pod, Name: cfg.Name, Attempt: cfg.Attempt,
			Init: cfg.Labels[runtime.LabelInit] == "true", SpecHash: cfg.Labels[runtime.LabelSpecHash],
			Image: cfg.Image, ImageRef: cfg.Image, State: runtime.ContainerCreated,
			CreatedAt: time.Now(), Labels: cfg.Labels,
		},
		exitCode: ExitCode(append(append([]string{}, cfg.Command...), cfg.Args...)),
	}
	r.containers[c.ID] = c
	return c.ID, nil
}

func (r *Runtime) StartContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return fmt.Errorf("%w: container %s: %w", runtime.ErrRunContainer, id, runtime.ErrNotFound)
	}
	if c.State != runtime.ContainerCreated {
		return fmt.Errorf("%w: container %s is %s", runtime.ErrRunContainer, id, c.State)
	}
	c.State, c.StartedAt = runtime.ContainerRunning, time.Now()
	if c.exitCode >= 0 {
		c.timer = time.AfterFunc(r.opts.ExitDelay, func() { r.exit(id, c.exitCode, 0) })
	}
	return nil
}

// exit marks a running container exited and tells the agent.
func (r *Runtime) exit(id string, code, signal int) {
	r.mu.Lock()
	c, ok := r.containers[id]
	if !ok || c.State != runtime.ContainerRunning {
		r.mu.Unlock()
		return
	}
	c.State, c.FinishedAt, c.ExitCode, c.Signal = runtime.ContainerExited, time.Now(), code, signal
	uid := c.Pod.UID
	r.mu.Unlock()
	select {
	case r.changes <- uid:
	default: // the agent's periodic sync will notice
	}
}

// StopContainer stops at once: a simulated process never ignores its stop signal.
func (r *Runtime) StopContainer(_ context.Context, id string, _ time.Duration, signal string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if ok && c.timer != nil {
		c.timer.Stop()
	}
	if ok && c.State == runtime.ContainerCreated {
		c.State, c.FinishedAt = runtime.ContainerExited, time.Now()
	}
	r.mu.Unlock()
	if signal == "SIGKILL" {
		r.exit(id, 137, 9)
	} else {
		r.exit(id, 0, 0)
	}
	return nil
}

func (r *Runtime) RemoveContainer(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	if !ok {
		return nil
	}
	if c.State == runtime.ContainerRunning {
		return fmt.Errorf("remove %s: %w", id, runtime.ErrContainerRunning)
	}
	delete(r.containers, id)
	return nil
}

func (r *Runtime) ListContainers(_ context.Context, podUID string) ([]*runtime.Container, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*runtime.Container
	for _, c := range r.containers {
		if podUID != "" && c.Pod.UID != podUID {
			continue
		}
		cc := c.Container
		out = append(out, &cc)
	}
	return out, nil
}

func (r *Runtime) ExecSync(_ context.Context, id string, cmd []string, _ time.Duration) (*runtime.ExecResult, error) {
	r.mu.Lock()
	c, ok := r.containers[id]
	running := ok && c.State == runtime.ContainerRunning
	r.mu.Unlock()
	if !running {
		return nil, fmt.Errorf("exec in %s: container not running", id)
	}
	return &runtime.ExecResult{ExitCode: max(0, ExitCode(cmd))}, nil
}

// Exec is refused: a simulated container has no process to run a command beside
// (probes and hooks go through ExecSync, which only interprets the command).
func (r *Runtime) Exec(context.Context, string, runtime.ExecOptions) (int, error) {
	return 0, fmt.Errorf("exec is %w by the sim runtime (simulated containers run no processes)", runtime.ErrNotSupported)
}

// AttachStdin is refused: a simulated container reads no input.
func (r *Runtime) AttachStdin(context.Context, string, io.Reader, <-chan runtime.TerminalSize) error {
	return fmt.Errorf("attach is %w by the sim runtime (simulated containers run no processes)", runtime.ErrNotSupported)
}

// PortForward is refused: nothing listens in a simulated pod.
func (r *Runtime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error {
	return fmt.Errorf("port forwarding is %w by the sim runtime (simulated pods run no processes)", runtime.ErrNotSupported)
}

var exitRE = regexp.MustCompile(`(?:^|[\s;&|(])exit\s+(\d{1,3})\s*\)?\s*;?\s*$`)

// ExitCode is the code a simulated command exits with: N when it ends in `exit N`, -1
// (runs until stopped) otherwise.
func ExitCode(cmd []string) int {
	m := exitRE.FindStringSubmatch(strings.Join(cmd, " "))
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n & 0xff
}

// ipam hands out the addresses of one prefix, skipping the network address, the gateway
// (.1) and the broadcast address, as host-local IPAM does.
type ipam struct {
	prefix netip.Prefix
	next   netip.Addr
	used   map[netip.Addr]string // address → sandbox
	byID   map[string]netip.Addr
}

func newIPAM(p netip.Prefix) *ipam {
	return &ipam{prefix: p, next: p.Addr().Next().Next(), used: map[netip.Addr]string{}, byID: map[string]netip.Addr{}}
}

func (a *ipam) allocate(id string) (string, error) {
	size := 1 << (32 - a.prefix.Bits())
	for range size {
		ip := a.next
		a.next = a.next.Next()
		if !a.prefix.Contains(a.next) || isBroadcast(a.prefix, a.next) {
			a.next = a.prefix.Addr().Next().Next()
		}
		if !a.prefix.Contains(ip) || isBroadcast(a.prefix, ip) {
			continue
		}
		if _, taken := a.used[ip]; taken {
			continue
		}
		a.used[ip], a.byID[id] = id, ip
		return ip.String(), nil
	}
	return "", fmt.Errorf("no free address in %s", a.prefix)
}

func (a *ipam) release(id string) {
	if ip, ok := a.byID[id]; ok {
		delete(a.used, ip)
		delete(a.byID, id)
	}
}

func isBroadcast(p netip.Prefix, ip netip.Addr) bool {
	b := ip.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	hostMask := uint32(1)<<(32-p.Bits()) - 1
	return v&hostMask == hostMask
}
