package harness

import (
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
	"github.com/skiff-sh/skiff/pki"
)

// APIServer is a skiff-apiserver process (for tests that kill and restart it).
type APIServer struct {
	Args       []string
	Port       int
	URL        string
	Kubeconfig string
	LogPath    string
	// PKI is the cluster CA and certificates the server runs with.
	PKI *pki.Dir
	// ListenHost is the address the server binds (default 127.0.0.1; URL stays on
	// loopback either way).
	ListenHost string
	admin      *client.Config
	sec        *testPKI
	cmd        *exec.Cmd
	done       chan struct{}
}

// StartAPIServer runs skiff-apiserver on a free port with extra args (e.g. --data-dir or
// --etcd-servers) and waits for /readyz. It is killed when the test ends.
func StartAPIServer(t testing.TB, args ...string) *APIServer {
	t.Helper()
	return StartAPIServerListening(t, "127.0.0.1", args...)
}

// StartAPIServerListening is StartAPIServer bound to host: "0.0.0.0" lets processes in
// other network namespaces reach it (at the host's address on their link) while the test
// and the control plane keep using loopback.
func StartAPIServerListening(t testing.TB, host string, args ...string) *APIServer {
	t.Helper()
	dir := t.TempDir()
	a := &APIServer{Args: args, ListenHost: host, LogPath: filepath.Join(dir, "apiserver.log")}
	sec, err := newTestPKI(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	a.sec, a.PKI = sec, sec.dir
	a.Kubeconfig = filepath.Join(dir, "kubeconfig")
	t.Cleanup(func() { a.Kill() })
	// A port free a moment ago may be taken by another test's process before ours binds
	// it: then try another one.
	for attempt := 1; ; attempt++ {
		a.Port = FreePort(t)
		a.URL = "https://127.0.0.1:" + strconv.Itoa(a.Port)
		a.admin = sec.clientConfig(a.URL, sec.adminCert, sec.adminKey)
		if err := client.WriteKubeconfig(a.Kubeconfig, "skiff", a.admin); err != nil {
			t.Fatal(err)
		}
		if !a.start(t, attempt < 5) {
			return a
		}
	}
}

// Start starts the process (again) and waits until it is ready.
func (a *APIServer) Start(t testing.TB) {
	t.Helper()
	a.start(t, false)
}

// start starts the process and waits until it is ready. With retryPortInUse, an exit
// because the port is taken returns true instead of failing the test.
func (a *APIServer) start(t testing.TB, retryPortInUse bool) (portInUse bool) {
	t.Helper()
	logf, err := os.OpenFile(a.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var logStart int64 // what this start writes to the log begins here
	if st, err := logf.Stat(); err == nil {
		logStart = st.Size()
	}
	// A bare API server has no controller manager to create default ServiceAccounts, so the
	// ServiceAccount admission plugin would refuse every pod.
	args := append(append([]string{"--listen", a.ListenHost + ":" + strconv.Itoa(a.Port), "--disable-admission-plugins", "ServiceAccount"},
		a.sec.args()...), a.Args...)
	cmd := exec.Command(filepath.Join(Binaries(t), "skiff-apiserver"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a.cmd, a.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(a.done) }()
	hc := a.HTTPClient(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(a.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return false
			}
		}
		select {
		case <-a.done:
			b, _ := os.ReadFile(a.LogPath)
			a.cmd = nil
			if retryPortInUse && int64(len(b)) >= logStart && strings.Contains(string(b[logStart:]), "address already in use") {
				return true
			}
			t.Fatalf("skiff-apiserver exited during start-up:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(a.LogPath)
			t.Fatalf("skiff-apiserver not ready after 60s (last error %v):\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ClientConfig is an administrator's client configuration (a copy).
func (a *APIServer) ClientConfig() *client.Config {
	c := *a.admin
	return &c
}

// Client is an administrator's client.
func (a *APIServer) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(a.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// HTTPClient is a plain HTTP client with an administrator's certificate.
func (a *APIServer) HTTPClient(t testing.TB) *http.Client {
	t.Helper()
	return httpClient(t, a.admin)
}

// UserConfig is a client configuration authenticating as user (in groups).
func (a *APIServer) UserConfig(t testing.TB, user string, groups ...string) *client.Config {
	t.Helper()
	return userConfig(t, a.PKI, a.URL, user, groups...)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (a *APIServer) Kill() {
	if a.cmd == nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	a.cmd = nil
}

// Etcd is a real etcd server process (Debian's etcd-server), for tests of --etcd-servers.
type Etcd struct {
	ClientURL string
	cmd       *exec.Cmd
}

// StartEtcd starts a single-member etcd cluster on loopback, or skips the test if the etcd
// binary is missing.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd binary not installed (apt-get install etcd-server)")
	}
	dir := t.TempDir()
	cport, pport := FreePort(t), FreePort(t)
	e := &Etcd{ClientURL: fmt.Sprintf("http://127.0.0.1:%d", cport)}
	peer := fmt.Sprintf("http://127.0.0.1:%d", pport)
	cmd := exec.Command(bin, "--name", "t", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", e.ClientURL, "--advertise-client-urls", e.ClientURL,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "t="+peer, "--initial-cluster-state", "new")
	logf, _ := os.Create(filepath.Join(dir, "etcd.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.cmd = cmd
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(e.ClientURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return e
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd not healthy after 30s: %v\n%s", err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
