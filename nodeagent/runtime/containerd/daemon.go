package containerd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	ctrd "github.com/containerd/containerd/v2/client"
)

// daemon is a containerd the agent started (or found running from its previous life)
// under its data dir: its own config, root, state and socket, the CRI plugin off.
type daemon struct {
	dir string
	pid int
	log *slog.Logger
}

func (d *daemon) socket() string { return daemonSocket(d.dir) }

// maxSocketPath is the longest unix socket path containerd listens on: it refuses longer
// ones ("unix socket path too long (> 104)", the portable size of sun_path) and exits.
const maxSocketPath = 104

// socketRoot holds the sockets of daemons whose data dir is too deep for them.
var socketRoot = "/run/skiff"

// daemonSocket is where the containerd started for dir listens: in dir, unless dir is so
// deep (a long --data-dir, a test's temporary directory) that containerd's longest socket
// path, ADDRESS.ttrpc, would pass maxSocketPath. Then its sockets go to a short directory
// named by a hash of dir, so an agent restarted on the same data dir finds (and adopts)
// the same daemon.
func daemonSocket(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if len(filepath.Join(dir, "containerd.sock.ttrpc")) <= maxSocketPath {
		return filepath.Join(dir, "containerd.sock")
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(socketRoot, "containerd-"+hex.EncodeToString(sum[:8]), "containerd.sock")
}

const configTemplate = `version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = %q

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`

// startDaemon starts containerd under dir, or adopts the one still running there (the
// agent was killed, containerd and the containers were not).
func startDaemon(ctx context.Context, dir string, log *slog.Logger) (*daemon, error) {
	d := &daemon{dir: dir, log: log}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	if pid := d.runningPID(); pid > 0 && serving(ctx, d.socket()) {
		d.pid = pid
		log.Info("adopting running containerd", "pid", pid, "socket", d.socket())
		return d, nil
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		return nil, errors.New("containerd is not installed (apt-get install containerd runc), and no --containerd-address was given")
	}
	sockets := filepath.Dir(d.socket())
	if err := os.MkdirAll(sockets, 0o711); err != nil {
		return nil, fmt.Errorf("containerd's socket directory: %w", err)
	}
	cfg := fmt.Sprintf(configTemplate, filepath.Join(dir, "root"), filepath.Join(dir, "state"), d.socket(),
		d.socket()+".ttrpc", filepath.Join(sockets, "debug.sock"), filepath.Join(dir, "opt"))
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	_ = os.Remove(d.socket())
	logf, err := os.OpenFile(filepath.Join(dir, "containerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, and no death signal: containerd (and so the containers)
	// outlive an agent that is killed; the next agent adopts it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	d.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	_ = os.WriteFile(filepath.Join(dir, "containerd.pid"), []byte(strconv.Itoa(d.pid)), 0o644)
	deadline := time.Now().Add(30 * time.Second)
	for !serving(ctx, d.socket()) {
		select {
		case err := <-exited:
			data, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("containerd exited at start (%v); the last lines of its log %s:\n%s", err, logf.Name(), lastLines(string(data), 15))
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.New("containerd did not serve within 30s (see " + logf.Name() + ")")
		}
	}
	log.Info("started containerd", "pid", d.pid, "socket", d.socket())
	return d, nil
}

// lastLines is the last n lines of s: containerd logs every plugin it loads, and the
// reason it stopped comes last.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runningPID is the pid in the pid file if that process is a containerd.
func (d *daemon) runningPID() int {
	b, err := os.ReadFile(filepath.Join(d.dir, "containerd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return 0
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || strings.TrimSpace(string(comm)) != "containerd" {
		return 0
	}
	return pid
}

func serving(ctx context.Context, socket string) bool {
	if _, err := os.Stat(socket); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := ctrd.New(socket, ctrd.WithTimeout(time.Second))
	if err != nil {
		return false
	}
	defer c.Close()
	ok, err := c.IsServing(ctx)
	return err == nil && ok
}

// stop ends containerd (the containers go on: their shims are separate processes, and
// the next containerd reconnects to them).
func (d *daemon) stop() {
	if d.pid <= 0 {
		return
	}
	p, err := os.FindProcess(d.pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	for range 100 {
		if err := p.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = os.Remove(filepath.Join(d.dir, "containerd.pid"))
	if sockets := filepath.Dir(d.socket()); filepath.Dir(sockets) == socketRoot {
		_ = os.RemoveAll(sockets) // its sockets, now gone with it; /run is not the data dir
	}
}
