package skifftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/launcher"
	"github.com/skiff-sh/skiff/nodeagent/network"
	"github.com/skiff-sh/skiff/pki"
)

// startContainerd runs the cluster as `skiff up --runtime containerd` does: real
// containers need a containerd per node and each node's network namespace, which only
// separate processes can have, so the whole cluster is the launcher's.
func (c *Cluster) startContainerd(ctx context.Context, o Options) error {
	if o.Configure != nil {
		return errors.New(`Options.Configure needs the in-process API server: with Runtime "containerd" use APIServerArgs`)
	}
	if err := containerdPrerequisites(); err != nil {
		return fmt.Errorf("Runtime containerd: %w", err)
	}
	bin, err := Binaries()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	lo := launcher.Options{DataDir: filepath.Join(c.dir, "cluster"), Port: port, Nodes: o.Nodes, Runtime: "containerd",
		BinDir: bin, APIServerArgs: o.APIServerArgs, Logger: c.log}
	if o.NoScheduler {
		lo.Disable = append(lo.Disable, "scheduler")
	}
	if o.NoControllers {
		lo.Disable = append(lo.Disable, "controller-manager")
	}
	up := &lineSignal{line: "skiff is up", ch: make(chan struct{})}
	lo.Out = up
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- launcher.Up(runCtx, lo) }()
	var once sync.Once
	c.stop = append(c.stop, func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				c.fail(errors.New("skiff up did not stop within 2m"))
			}
		})
	})
	select {
	case <-up.ch:
	case err := <-done:
		if err == nil {
			err = errors.New("stopped")
		}
		return fmt.Errorf("skiff up --runtime containerd: %w (logs: %s)", err, filepath.Join(lo.DataDir, "logs"))
	case <-ctx.Done():
		return fmt.Errorf("skiff up --runtime containerd: not up within the start timeout (logs: %s)", filepath.Join(lo.DataDir, "logs"))
	}
	go func() {
		// A cluster that stops on its own (a component gave up) fails the test.
		if err := <-done; runCtx.Err() == nil {
			c.fail(fmt.Errorf("skiff up stopped: %v", err))
		}
		done <- nil
	}()
	cfg, err := client.LoadKubeconfig(filepath.Join(lo.DataDir, "kubeconfig"), "")
	if err != nil {
		return err
	}
	if c.PKI, err = pki.OpenDir(filepath.Join(lo.DataDir, "pki")); err != nil {
		return err
	}
	c.URL, c.Kubeconfig = cfg.Host, filepath.Join(lo.DataDir, "kubeconfig")
	c.CAData, c.CertData, c.KeyData = cfg.TLS.CAData, cfg.TLS.CertData, cfg.TLS.KeyData
	for i := 1; i <= o.Nodes; i++ {
		c.Nodes = append(c.Nodes, fmt.Sprintf("node-%d", i))
	}
	return nil
}

// containerdPrerequisites says what this machine lacks for containerd nodes.
func containerdPrerequisites() error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (containerd nodes create network namespaces, bridges and cgroups)")
	}
	for _, b := range []string{"containerd", "runc", "nsenter", "iptables"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = append(missing, b+" in $PATH")
		}
	}
	found := false
	for _, d := range network.DefaultPluginDirs {
		if _, err := os.Stat(filepath.Join(d, "bridge")); err == nil {
			found = true
		}
	}
	if !found {
		missing = append(missing, "the CNI plugins (bridge in "+strings.Join(network.DefaultPluginDirs, " or ")+")")
	}
	if len(missing) > 0 {
		return fmt.Errorf("this machine lacks %s (scripts/install-deps.sh installs them; or use Runtime \"sim\")", strings.Join(missing, ", "))
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lineSignal closes ch when a written line contains line.
type lineSignal struct {
	line string
	ch   chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
	once sync.Once
}

func (s *lineSignal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if strings.Contains(s.buf.String(), s.line) {
		s.once.Do(func() { close(s.ch) })
	}
	return len(p), nil
}
