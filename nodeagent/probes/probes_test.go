package probes

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
)

// scripted answers each probe run with the next of its results.
type scripted struct {
	mu      sync.Mutex
	results []bool
}

func (s *scripted) Run(context.Context, Kind, *core.Pod, *core.Container, string, *core.ProbeHandler) (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.results[0]
	s.results = s.results[1:]
	return r, "out"
}

type events struct{ reasons []string }

func (e *events) Eventf(_ meta.Object, _, reason, _ string, _ ...any) {
	e.reasons = append(e.reasons, reason)
}

// newWorker is one probe's worker on a Manager prepared by hand: no goroutine runs, the
// test calls once() itself, so thresholds are checked step by step without any timing.
func newWorker(kind Kind, probe *core.Probe, runs []bool, startedAlready bool) (*worker, *Manager, *[]string, *events) {
	var changes []string
	ev := &events{}
	m := New(&scripted{results: runs}, func(uid string) { changes = append(changes, uid) }, ev, nil)
	c := &core.Container{Name: "app"}
	m.pods["uid"] = &core.Pod{ObjectMeta: meta.ObjectMeta{UID: "uid"}}
	m.results["cid"] = &Result{Ready: false, Started: startedAlready}
	w := &worker{m: m, key: workerKey{"cid", kind}, podUID: "uid", container: c, probe: probe, stop: make(chan struct{})}
	return w, m, &changes, ev
}

func TestThresholds(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		probe   core.Probe
		started bool
		runs    []bool
		// the result after each run
		want []Result
	}{
		{
			name: "readiness needs successThreshold passes, failureThreshold failures",
			kind: Readiness, started: true,
			probe: core.Probe{SuccessThreshold: 2, FailureThreshold: 2},
			runs:  []bool{true, true, false, true, false, false},
			want: []Result{
				{Started: true}, {Started: true, Ready: true}, {Started: true, Ready: true},
				{Started: true, Ready: true}, {Started: true, Ready: true}, {Started: true},
			},
		},
		{
			name: "liveness fails after the default three failures in a row",
			kind: Liveness, started: true,
			runs: []bool{false, false, true, false, false, false},
			want: []Result{
				{Started: true}, {Started: true}, {Started: true}, {Started: true}, {Started: true},
				{Started: true, Unhealthy: true, FailedKind: Liveness, Message: "Container app failed liveness probe, will be restarted"},
			},
		},
		{
			name: "liveness waits for the startup probe",
			kind: Liveness, started: false,
			runs: []bool{},
			want: []Result{{}, {}, {}},
		},
		{
			name: "startup passes once",
			kind: Startup,
			runs: []bool{false, true},
			want: []Result{{}, {Started: true}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, m, changes, _ := newWorker(tc.kind, &tc.probe, tc.runs, tc.started)
			flips := 0
			prev, _ := m.Result("cid")
			for i, want := range tc.want {
				w.once()
				got, _ := m.Result("cid")
				if got != want {
					t.Fatalf("after run %d: %+v, want %+v", i+1, got, want)
				}
				if got != prev {
					flips++
				}
				prev = got
			}
			if len(*changes) != flips {
				t.Errorf("onChange called %d times for %d changes", len(*changes), flips)
			}
		})
	}
}

func TestFailedProbeEmitsUnhealthy(t *testing.T) {
	w, _, _, ev := newWorker(Readiness, &core.Probe{}, []bool{false, true}, true)
	w.once()
	w.once()
	if len(ev.reasons) != 1 || ev.reasons[0] != "Unhealthy" {
		t.Errorf("events %v, want one Unhealthy", ev.reasons)
	}
}

func TestUpdateAndForget(t *testing.T) {
	m := New(&scripted{}, nil, nil, nil)
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{UID: "u"}, Spec: core.PodSpec{Containers: []core.Container{
		{Name: "plain"},
		// A probe an hour away never runs during the test.
		{Name: "probed", ReadinessProbe: &core.Probe{InitialDelaySeconds: 3600}},
	}}}
	m.Update(pod, map[string]string{"plain": "c1", "probed": "c2"})
	if r, ok := m.Result("c1"); !ok || !r.Ready || !r.Started {
		t.Errorf("container without probes: %+v %v, want ready and started", r, ok)
	}
	if r, ok := m.Result("c2"); !ok || r.Ready {
		t.Errorf("container with a readiness probe: %+v %v, want not ready yet", r, ok)
	}
	m.Update(pod, map[string]string{"plain": "c1"}) // probed stopped
	if _, ok := m.Result("c2"); ok {
		t.Error("a stopped container keeps its probe result")
	}
	m.Forget("u")
	if len(m.workers) != 0 || len(m.pods) != 0 {
		t.Errorf("Forget left %d workers, %d pods", len(m.workers), len(m.pods))
	}
}

func TestHTTPGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Probe") != "yes" || !strings.HasPrefix(r.UserAgent(), "kube-probe/") {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte("fine"))
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host, portStr, _ := net.SplitHostPort(u.Host)
	port, _ := strconv.Atoi(portStr)
	c := &core.Container{Ports: []core.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	hdr := []core.HTTPHeader{{Name: "X-Probe", Value: "yes"}}
	tests := []struct {
		path string
		port intstr.IntOrString
		want bool
	}{
		{"/ok", intstr.FromInt(port), true},
		{"ok", intstr.FromString("web"), true}, // a path without "/" and a named port
		{"/redirect", intstr.FromInt(port), true},
		{"/down", intstr.FromInt(port), false},
		{"/ok", intstr.FromString("nope"), false},
	}
	for _, tc := range tests {
		got, out := HTTPGet(context.Background(), &core.HTTPGetAction{Path: tc.path, Port: tc.port, HTTPHeaders: hdr}, host, c)
		if got != tc.want {
			t.Errorf("GET %s port %v = %v (%s), want %v", tc.path, tc.port, got, out, tc.want)
		}
	}
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if ok, out := TCP(context.Background(), "127.0.0.1", port); !ok {
		t.Errorf("TCP to a listener failed: %s", out)
	}
	l.Close()
	if ok, _ := TCP(context.Background(), "127.0.0.1", port); ok {
		t.Error("TCP to a closed port passed")
	}
}

func TestResolvePort(t *testing.T) {
	c := &core.Container{Ports: []core.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	for _, tc := range []struct {
		p       intstr.IntOrString
		want    int
		wantErr bool
	}{
		{intstr.FromInt(80), 80, false},
		{intstr.FromString("8081"), 8081, false},
		{intstr.FromString("http"), 8080, false},
		{intstr.FromString("grpc"), 0, true},
	} {
		got, err := ResolvePort(tc.p, c)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ResolvePort(%v) = %d, %v", tc.p, got, err)
		}
	}
}
