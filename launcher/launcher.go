// Package launcher starts a whole skiff cluster as separate processes (what `skiff up` does),
// supervises them, writes a kubeconfig, and stops everything cleanly.
package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure a cluster.
type Options struct {
	// DataDir holds etcd's data, logs, the kubeconfig and the pid file (default ~/.skiff).
	DataDir string
	// Port is the API server's port on 127.0.0.1 (default 6443).
	Port int
	// BinDir is where the component binaries are; default: next to the running executable,
	// then $PATH.
	BinDir string
	// Out receives the user-facing lines (default stdout).
	Out    io.Writer
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return err
		}
		o.DataDir = filepath.Join(home, ".skiff")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return err
	}
	o.DataDir = abs
	if o.Port == 0 {
		o.Port = 6443
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// component is one process of the cluster.
type component struct {
	name string
	args []string
}

// Up starts the cluster and blocks until ctx ends, then stops every process it started.
func Up(ctx context.Context, o Options) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	for _, d := range []string{o.DataDir, filepath.Join(o.DataDir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := claimPidFile(o.DataDir); err != nil {
		return err
	}
	defer os.Remove(filepath.Join(o.DataDir, "skiff.pid"))

	server := fmt.Sprintf("http://127.0.0.1:%d", o.Port)
	comps := []component{
		{"skiff-apiserver", []string{"--listen", fmt.Sprintf("127.0.0.1:%d", o.Port), "--data-dir", filepath.Join(o.DataDir, "etcd")}},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	errc := make(chan error, len(comps))
	for i, c := range comps {
		bin, err := findBinary(o.BinDir, c.name)
		if err != nil {
			return err
		}
		p := &process{name: c.name, bin: bin, args: c.args, logPath: filepath.Join(o.DataDir, "logs", c.name+".log"), log: o.Logger}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- p.supervise(ctx)
		}()
		if i == 0 {
			if err := waitReady(ctx, server+"/readyz", 60*time.Second, p); err != nil {
				cancel()
				return err
			}
		}
	}
	kubeconfig := filepath.Join(o.DataDir, "kubeconfig")
	if err := WriteKubeconfig(kubeconfig, server); err != nil {
		cancel()
		return err
	}
	fmt.Fprintf(o.Out, "skiff is up: export KUBECONFIG=%s (logs in %s; Ctrl-C or `skiff down` stops it)\n", kubeconfig, filepath.Join(o.DataDir, "logs"))
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		cancel()
		return err
	}
}

// claimPidFile refuses a second cluster on the same data dir while the first still runs.
func claimPidFile(dir string) error {
	path := filepath.Join(dir, "skiff.pid")
	if b, err := os.ReadFile(path); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && processAlive(pid) {
			return fmt.Errorf("a cluster is already running from %s (pid %d); run `skiff down --data-dir %s` first", dir, pid, dir)
		}
	}
	return os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// Down stops the cluster started from dataDir and waits until it is gone.
func Down(dataDir string, timeout time.Duration) error {
	o := Options{DataDir: dataDir}
	if err := o.setDefaults(); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(o.DataDir, "skiff.pid"))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no cluster is running from %s", o.DataDir)
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad pid file: %w", err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d still running after %s", pid, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func findBinary(binDir, name string) (string, error) {
	dirs := []string{binDir}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("cannot find %s next to skiff or in $PATH (build all binaries with `go build -o bin/ ./cmd/...`)", name)
	}
	return p, nil
}

func waitReady(ctx context.Context, url string, timeout time.Duration, p *process) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if p.exited() {
			return fmt.Errorf("%s exited during start-up; last lines of %s:\n%s", p.name, p.logPath, tail(p.logPath, 20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s (%s); see %s", p.name, timeout, last, p.logPath)
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WriteKubeconfig writes a kubeconfig for server with one context named skiff.
func WriteKubeconfig(path, server string) error {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: %s
users:
- name: skiff-admin
  user: {}
contexts:
- name: skiff
  context:
    cluster: skiff
    user: skiff-admin
    namespace: default
current-context: skiff
`, server)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
