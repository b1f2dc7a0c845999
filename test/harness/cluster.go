package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/client"
)

// Cluster is a cluster started with `skiff up` as real processes.
type Cluster struct {
	DataDir    string
	Port       int
	URL        string
	Kubeconfig string
	Kubectl    *Kubectl
	// Args are the extra `skiff up` flags it was started with.
	Args []string
	cmd  *exec.Cmd
	done chan error
	// routesWait is how long startUp waits for another cluster's host routes to go.
	routesWait time.Time
}

// Up runs `skiff up [args...]` in dataDir (a temp dir when empty) and waits until it says
// it is up. The cluster is stopped when the test ends.
func Up(t testing.TB, dataDir string, args ...string) *Cluster {
	t.Helper()
	bin := Binaries(t)
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	c := &Cluster{DataDir: dataDir, Args: args}
	c.Kubeconfig = filepath.Join(dataDir, "kubeconfig")
	c.Kubectl = &Kubectl{Kubeconfig: c.Kubeconfig}
	if usesContainerd(args) {
		// Released after Stop (cleanups run last-first).
		t.Cleanup(lockContainerdClusters(t))
	}
	t.Cleanup(func() { c.Stop(t) })
	// A port free a moment ago may be taken by another test's process before the API
	// server binds it: then try another one.
	for attempt := 1; ; attempt++ {
		c.Port = FreePort(t)
		c.URL = "https://127.0.0.1:" + strconv.Itoa(c.Port)
		if !c.startUp(t, bin, attempt < 5) {
			return c
		}
	}
}

// usesContainerd tells whether `skiff up args...` runs containerd nodes (its default).
func usesContainerd(args []string) bool {
	for i, a := range args {
		if a == "--runtime=sim" || (a == "--runtime" && i+1 < len(args) && args[i+1] == "sim") {
			return false
		}
		if a == "--nodes=0" || (a == "--nodes" && i+1 < len(args) && args[i+1] == "0") {
			return false
		}
	}
	return true
}

// containerdLock is held, machine-wide, by whoever runs a cluster with containerd nodes:
// such clusters route the same Service and pod ranges on the host, so one refuses to start
// while another runs. Test processes of different packages (and of different checkouts)
// take turns instead of failing.
const containerdLock = "/tmp/skiff-containerd-clusters.lock"

// lockHeld counts this process's holders of containerdLock: the lock is per process (a
// second cluster in the same test must not wait for the first one's test to end).
var lockHeld struct {
	sync.Mutex
	n int
	f *os.File
}

// LockContainerdClusters takes containerdLock until t ends, for a test that runs
// containerd nodes without harness.Up (its own "machines").
func LockContainerdClusters(t testing.TB) {
	t.Helper()
	t.Cleanup(lockContainerdClusters(t))
}

func lockContainerdClusters(t testing.TB) (unlock func()) {
	t.Helper()
	lockHeld.Lock()
	defer lockHeld.Unlock()
	unlock = func() {
		lockHeld.Lock()
		defer lockHeld.Unlock()
		if lockHeld.n--; lockHeld.n == 0 {
			lockHeld.f.Close()
			lockHeld.f = nil
		}
	}
	if lockHeld.n > 0 {
		lockHeld.n++
		return unlock
	}
	f, err := os.OpenFile(containerdLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Logf("waited %s for another test's containerd cluster (%s)", waited.Round(time.Second), containerdLock)
	}
	lockHeld.n, lockHeld.f = 1, f
	return unlock
}

func (c *Cluster) start(t testing.TB, bin string) {
	t.Helper()
	c.startUp(t, bin, false)
}

// startUp runs skiff up and waits for it; with retryPortInUse, an exit because the API
// port is taken returns true instead of failing the test.
func (c *Cluster) startUp(t testing.TB, bin string, retryPortInUse bool) (portInUse bool) {
	t.Helper()
	if c.routesWait.IsZero() {
		c.routesWait = time.Now().Add(3 * time.Minute)
	}
	routesWait := c.routesWait
	cmd := exec.Command(filepath.Join(bin, "skiff"), append([]string{"up", "--data-dir", c.DataDir, "--port", strconv.Itoa(c.Port)}, c.Args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(c.DataDir, fmt.Sprintf("up-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.cmd, c.done = cmd, make(chan error, 1)
	upLine := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case upLine <- sc.Text():
			default:
			}
		}
	}()
	go func() { c.done <- cmd.Wait(); logf.Close() }()
	select {
	case <-upLine:
	case err := <-c.done:
		b, _ := os.ReadFile(logf.Name())
		c.cmd = nil
		if retryPortInUse && strings.Contains(string(b), "address already in use") {
			return true
		}
		// The previous test's cluster with containerd nodes may still be being cleaned up
		// (its janitor after a launcher that had to be killed): its routes go with it.
		if strings.Contains(string(b), "the host already routes") && time.Now().Before(routesWait) {
			time.Sleep(2 * time.Second)
			return c.startUp(t, bin, retryPortInUse)
		}
		t.Fatalf("skiff up exited: %v\n%s", err, b)
	case <-time.After(4 * time.Minute):
		t.Fatalf("skiff up did not come up within 4m")
	}
	return false
}

// Stop sends SIGINT (what Ctrl-C does) and waits for skiff up to exit, then for its node
// network (bridge skiffPORT, which holds the cluster's host routes) to be gone: a launcher
// that had to be killed leaves it to its janitor, and the next cluster with containerd
// nodes cannot start while those routes are there.
func (c *Cluster) Stop(t testing.TB) error {
	if c.cmd == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-c.done:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		err = fmt.Errorf("skiff up did not stop within 60s of SIGINT")
		t.Log(err)
	}
	c.cmd = nil
	bridge := "skiff" + strconv.Itoa(c.Port)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, lerr := net.InterfaceByName(bridge); lerr != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("cluster on port %d stopped but its bridge %s is still there after 3m (janitor log: %s)",
				c.Port, bridge, filepath.Join(c.DataDir, "logs", "janitor.log"))
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}

// Restart stops the cluster and starts it again on the same data dir and port.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	if err := c.Stop(t); err != nil {
		t.Fatal(err)
	}
	c.start(t, Binaries(t))
}

// Start starts a stopped cluster again on the same data dir and port.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.start(t, Binaries(t))
}

// ClientConfig is the administrator's client configuration (from DIR/kubeconfig).
func (c *Cluster) ClientConfig(t testing.TB) *client.Config {
	t.Helper()
	cfg, err := client.LoadKubeconfig(c.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Client is an administrator's client.
func (c *Cluster) Client(t testing.TB) *client.Client {
	t.Helper()
	cl, err := client.New(c.ClientConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// HTTPClient is a plain HTTP client with the administrator's certificate.
func (c *Cluster) HTTPClient(t testing.TB) *http.Client {
	t.Helper()
	return httpClient(t, c.ClientConfig(t))
}

// Get does a GET on the API server as the administrator and returns the status code.
func (c *Cluster) Get(ctx context.Context, path string) (int, error) {
	cfg, err := client.LoadKubeconfig(c.Kubeconfig, "")
	if err != nil {
		return 0, err
	}
	hc, err := cfg.HTTPClient()
	if err != nil {
		return 0, err
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
