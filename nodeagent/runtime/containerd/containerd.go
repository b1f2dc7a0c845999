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
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	eventtypes "github.com/containerd/containerd/api/events"
	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/typeurl/v2"

	"github.com/skiff-sh/skiff/nodeagent/network"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Labels of the runtime's own, on top of runtime.Label*.
const (
	labelIP          = "io.skiff.ip"
	labelHostNetwork = "io.skiff.host-network"
	// labelPIDMode is the pod's process namespace mode: "host" (hostPID), "pod"
	// (shareProcessNamespace) or empty (one per container).
	labelPIDMode    = "io.skiff.pid-mode"
	labelPorts      = "io.skiff.ports"
	labelLogPath    = "io.skiff.log-path"
	labelImage      = "io.skiff.image"
	labelImageID    = "io.skiff.image-id"
	labelStopSignal = "io.skiff.stop-signal"
	labelStartedAt  = "io.skiff.started-at"
	labelFinishedAt = "io.skiff.finished-at"
	labelExitCode   = "io.skiff.exit-code"
	labelReason     = "io.skiff.reason"
	labelMessage    = "io.skiff.message"
	labelOOM        = "io.skiff.oom"
	labelStdin      = "io.skiff.stdin"      // "true": the container's stdin is a FIFO to attach to
	labelStdinOnce  = "io.skiff.stdin-once" // "true": the first attach's end closes it
	labelTTY        = "io.skiff.tty"
	// labelRuntime is the containerd runtime (shim) the sandbox runs under; the pod's
	// containers run under the same one.
	labelRuntime  = "io.skiff.runtime"
	kindSandbox   = "sandbox"
	kindContainer = "container"
	runcRuntime   = "io.containerd.runc.v2"
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
	// RuntimeHandlers maps the handlers RuntimeClasses name to containerd runtimes (shims),
	// as the runtimes of containerd's CRI configuration do; "runc" (and the default, "")
	// are always io.containerd.runc.v2.
	RuntimeHandlers map[string]string
	Log             *slog.Logger
}

// runtimeFor is the containerd runtime of a handler, or containerd's CRI error for a handler
// it has no runtime for.
func (o *Options) runtimeFor(handler string) (string, error) {
	if rt, ok := o.RuntimeHandlers[handler]; ok {
		return rt, nil
	}
	if handler == "" || handler == "runc" {
		return runcRuntime, nil
	}
	return "", fmt.Errorf("failed to get sandbox runtime: no runtime for %q is configured", handler)
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

// ---- Containers ----

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

var errNoImages = fmt.Errorf("%w: no image in it", runtime.ErrInvalidImageArchive)
