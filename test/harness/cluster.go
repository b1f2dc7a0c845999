package harness

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

func (c *Cluster) start(t testing.TB, bin string) {
	t.Helper()
	c.startUp(t, bin, false)
}

// startUp runs skiff up and waits for it; with retryPortInUse, an exit because the API
// port is taken returns true instead of failing the test.
func (c *Cluster) startUp(t testing.TB, bin string, retryPortInUse bool) (portInUse bool) {
	t.Helper()
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
		t.Fatalf("skiff up exited: %v\n%s", err, b)
	case <-time.After(4 * time.Minute):
		t.Fatalf("skiff up did not come up within 4m")
	}
	return false
}

// Stop sends SIGINT (what Ctrl-C does) and waits for skiff up to exit.
func (c *Cluster) Stop(t testing.TB) error {
	if c.cmd == nil {
		return nil
	}
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-c.done:
		c.cmd = nil
		return err
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		c.cmd = nil
		return fmt.Errorf("skiff up did not stop within 60s of SIGINT")
	}
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
