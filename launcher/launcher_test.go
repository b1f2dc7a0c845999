package launcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOptionsCheck(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		name string
		o    Options
		want string // in the error; "" for none
	}{
		{"sim nodes", Options{Nodes: 3, Runtime: "sim"}, ""},
		{"control plane only", Options{Nodes: 0, Runtime: "containerd"}, ""},
		{"negative nodes", Options{Nodes: -1, Runtime: "sim"}, "--nodes must be 0 or more"},
		{"unknown runtime", Options{Nodes: 1, Runtime: "docker"}, `--runtime: want containerd or sim, got "docker"`},
		{"unknown component to disable", Options{Runtime: "sim", Disable: []string{"scheduler", "proxy"}}, "--disable: want scheduler, controller-manager and/or ingress"},
		{"disable both", Options{Runtime: "sim", Disable: []string{"scheduler", "controller-manager"}}, ""},
		{"HA", Options{Runtime: "sim", APIServers: 3, EtcdMembers: 3}, ""},
		{"too many API servers", Options{Runtime: "sim", APIServers: 10, EtcdMembers: 3}, "--apiservers must be 1 to 9"},
		{"negative etcd members", Options{Runtime: "sim", EtcdMembers: -1}, "--etcd-members must be 0"},
		{"API servers without an etcd cluster", Options{Runtime: "sim", APIServers: 2}, "give --etcd-members"},
	}
	if root {
		tests = append(tests, struct {
			name string
			o    Options
			want string
		}{"too many containerd nodes", Options{Nodes: 201, Runtime: "containerd"}, "use --runtime sim for large clusters"})
	} else {
		tests = append(tests, struct {
			name string
			o    Options
			want string
		}{"containerd nodes need root", Options{Nodes: 1, Runtime: "containerd"}, "need root"})
	}
	for _, tc := range tests {
		err := tc.o.check()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: check() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestSetDefaults(t *testing.T) {
	o := Options{DataDir: "rel"}
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(o.DataDir) || o.Port != 6443 || o.Runtime != "containerd" || o.Out == nil || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
}

func TestPidFile(t *testing.T) {
	dir := t.TempDir()
	if err := claimPidFile(dir); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "skiff.pid"))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file holds %q, want our pid", b)
	}
	// A live process holds the directory: a second claim is refused and names it.
	err := claimPidFile(dir)
	if err == nil || !strings.Contains(err.Error(), "already running") || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("second claim: %v", err)
	}
	// A pid file left by a process that is gone is taken over. The largest pid the kernel
	// hands out is below 1<<22, so this one is never alive.
	if err := os.WriteFile(filepath.Join(dir, "skiff.pid"), []byte("4194999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := claimPidFile(dir); err != nil {
		t.Errorf("stale pid file not taken over: %v", err)
	}
}

func TestContainerdNodesOf(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"skiff", "up"}, 1},
		{[]string{"skiff", "up", "--nodes", "3"}, 3},
		{[]string{"skiff", "up", "--nodes=2", "--data-dir", "x"}, 2},
		{[]string{"skiff", "up", "-nodes", "4", "--runtime", "containerd"}, 4},
		{[]string{"skiff", "up", "--nodes", "5", "--runtime=sim"}, 0},
		{[]string{"skiff", "up", "--nodes", "0"}, 0},
	}
	for _, tc := range tests {
		if got := containerdNodesOf(tc.args); got != tc.want {
			t.Errorf("containerdNodesOf(%q) = %d, want %d", tc.args, got, tc.want)
		}
	}
}

func TestStartedNodesWithoutACluster(t *testing.T) {
	dir := t.TempDir()
	if _, err := startedNodes(dir, time.Minute, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "no containerd node has run") {
		t.Errorf("empty dir: %v", err)
	}
	// Nodes of a cluster that has stopped still take images (their containerd state is there).
	node := filepath.Join(dir, "nodes", "node-1")
	if err := os.MkdirAll(node, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(node, "runtime.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := startedNodes(dir, time.Minute, &bytes.Buffer{})
	if err != nil || len(got) != 1 {
		t.Errorf("stopped cluster: %v %v", got, err)
	}
}

// signalWriter closes seen when something is written: the moment startedNodes says it waits.
type signalWriter struct {
	once sync.Once
	seen chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	w.once.Do(func() { close(w.seen) })
	return len(p), nil
}

func TestStartedNodesWaitsForAStartingCluster(t *testing.T) {
	// This test process plays `skiff up`: its command line has no --nodes, so it starts one
	// containerd node.
	dir := t.TempDir()
	if err := claimPidFile(dir); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(dir, "nodes", "node-1")
	if err := os.MkdirAll(node, 0o755); err != nil {
		t.Fatal(err)
	}
	w := &signalWriter{seen: make(chan struct{})}
	type result struct {
		nodes []string
		err   error
	}
	done := make(chan result, 1)
	go func() {
		n, err := startedNodes(dir, time.Minute, w)
		done <- result{n, err}
	}()
	<-w.seen // it is waiting; now the node starts
	if err := os.WriteFile(filepath.Join(node, "runtime.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.nodes) != 1 {
		t.Fatalf("startedNodes = %v, %v", r.nodes, r.err)
	}
	w.mu.Lock()
	msg := w.buf.String()
	w.mu.Unlock()
	if !strings.Contains(msg, "waiting up to 1m0s for the 1 containerd node(s)") || !strings.Contains(msg, dir) {
		t.Errorf("message %q does not say what it waits for", msg)
	}
}

func TestStartedNodesGivesUp(t *testing.T) {
	dir := t.TempDir()
	if err := claimPidFile(dir); err != nil {
		t.Fatal(err)
	}
	_, err := startedNodes(dir, 0, &bytes.Buffer{}) // no time to wait: the node never started
	if err == nil || !strings.Contains(err.Error(), "0 of 1 containerd nodes started") {
		t.Errorf("startedNodes with no node started = %v", err)
	}
}
