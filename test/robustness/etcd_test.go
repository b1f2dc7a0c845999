package robustness

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/internal/etcdcluster"
)

// etcdCluster is a cluster of real etcd members (Debian's etcd-server) on loopback, each
// with its own data directory, that the suite kills and restarts one at a time. The members'
// flags and health check are internal/etcdcluster's, as `skiff up --etcd-members` runs them.
type etcdCluster struct {
	bin     string
	spec    *etcdcluster.Spec
	members []*member
	extra   []string // flags every member gets besides etcdcluster's
}

type member struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

func startEtcdCluster(t *testing.T, n int, extra ...string) *etcdCluster {
	t.Helper()
	bin, err := etcdcluster.Binary()
	if err != nil {
		t.Skip(err)
	}
	spec, err := etcdcluster.LoadOrCreate(t.TempDir(), n, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	c := &etcdCluster{bin: bin, spec: spec, extra: extra}
	for i, m := range spec.Members {
		c.members = append(c.members, &member{name: m.Name, logPath: filepath.Join(spec.Dir, m.Name+".log")})
		c.start(t, i)
	}
	t.Cleanup(func() {
		for i := range c.members {
			c.kill(i)
		}
	})
	for i := range c.members {
		c.waitHealthy(t, i)
	}
	return c
}

func (c *etcdCluster) clientURLs() string { return strings.Join(c.spec.ClientURLs(), ",") }

// start runs member i (its data directory, if any, makes it rejoin as the member it was).
func (c *etcdCluster) start(t *testing.T, i int) {
	t.Helper()
	m := c.members[i]
	cmd := exec.Command(c.bin, append(c.spec.Args(i, true), c.extra...)...)
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(m.done) }()
}

func (c *etcdCluster) restart(t *testing.T, i int) {
	t.Helper()
	c.start(t, i)
	c.waitHealthy(t, i)
}

// kill SIGKILLs member i and waits for it to exit.
func (c *etcdCluster) kill(i int) {
	m := c.members[i]
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

func (c *etcdCluster) waitHealthy(t *testing.T, i int) {
	t.Helper()
	if err := c.spec.WaitHealthy(context.Background(), i, 30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
}
