package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/dashboard"
	"github.com/skiff-sh/skiff/test/harness"
)

// cuttableProxy forwards TCP to target until cut, and again after restore (same address):
// the cluster going away and coming back, as the dashboard sees it.
type cuttableProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newProxy(t *testing.T, target string) *cuttableProxy {
	p := &cuttableProxy{target: target, addr: "127.0.0.1:0"}
	p.restore(t)
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.cut)
	return p
}

func (p *cuttableProxy) restore(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// frames reads the Server-Sent Events of one page.
func frames(t *testing.T, ctx context.Context, url string) <-chan dashboard.Frame {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("%s: %d %s", url, resp.StatusCode, ct)
	}
	out := make(chan dashboard.Frame, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var f dashboard.Frame
			if err := json.Unmarshal([]byte(data), &f); err != nil {
				t.Errorf("frame %s: %v", data, err)
				return
			}
			out <- f
		}
	}()
	return out
}

// next waits for a frame satisfying ok.
func next(t *testing.T, ch <-chan dashboard.Frame, what string, ok func(dashboard.Frame) bool) dashboard.Frame {
	t.Helper()
	timeout := time.After(60 * time.Second)
	var last dashboard.Frame
	for {
		select {
		case f, open := <-ch:
			if !open {
				t.Fatalf("%s: stream ended; last frame %+v", what, last)
			}
			if ok(f) {
				return f
			}
			last = f
		case <-timeout:
			t.Fatalf("%s: not within 60s; last frame %+v", what, last)
		}
	}
}

// TestDashboardAgainstAPIServer: the JSON views and the event streams follow the API
// server's objects; a lost API server gives frames saying disconnected, and the stream is
// live again when it is back.
func TestDashboardAgainstAPIServer(t *testing.T) {
	srv := harness.StartServer(t, harness.ServerOptions{})
	cfg := srv.ClientConfig()
	proxy := newProxy(t, strings.TrimPrefix(cfg.Host, "https://"))
	viaProxy := *cfg
	viaProxy.Host = "https://" + proxy.addr
	c, err := client.New(&viaProxy)
	if err != nil {
		t.Fatal(err)
	}
	d, err := dashboard.New(dashboard.Config{Client: c, Addr: "127.0.0.1:0", ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	base := strings.TrimSuffix(d.URL(), "/")

	pods := client.For[core.Pod](srv.Client(t), client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	if _, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "first", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}}); err != nil {
		t.Fatal(err)
	}
	overview := frames(t, ctx, base+"/api/watch?view=overview")
	journey := frames(t, ctx, base+"/api/watch?view=pod&namespace=default&name=first")
	next(t, overview, "the pod waiting for a node", func(f dashboard.Frame) bool {
		return f.Connected && f.Overview != nil && len(f.Overview.Unscheduled) == 1 && f.Overview.Unscheduled[0].Name == "first"
	})
	next(t, journey, "the pod's journey: created, not scheduled", func(f dashboard.Frame) bool {
		return f.Journey != nil && f.Journey.Steps[0].State == dashboard.StateDone && f.Journey.Steps[2].Stage == "scheduled" &&
			f.Journey.Steps[2].State == dashboard.StatePending
	})

	// An event about the pod reaches its open journey page.
	events := client.For[core.Event](srv.Client(t), client.Resource{Version: "v1", Resource: "events", Namespaced: true})
	pod, err := pods.Get(ctx, "default", "first")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Create(ctx, &core.Event{ObjectMeta: meta.ObjectMeta{Name: "first.1", Namespace: "default"},
		InvolvedObject: core.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "default", Name: "first", UID: pod.UID},
		Reason:         "FailedScheduling", Type: core.EventTypeWarning, Message: "0/0 nodes are available", Count: 1,
		FirstTimestamp: meta.Now(), LastTimestamp: meta.Now(), Source: core.EventSource{Component: "default-scheduler"}}); err != nil {
		t.Fatal(err)
	}
	next(t, journey, "the event on the journey page", func(f dashboard.Frame) bool {
		return f.Journey != nil && len(f.Journey.Events) == 1 && strings.Contains(strings.Join(f.Journey.Steps[2].Detail, " "), "0/0 nodes are available")
	})

	// The JSON views, and what they refuse.
	for _, tc := range []struct {
		path, host string
		want       int
	}{
		{"/api/overview", "", http.StatusOK},
		{"/api/pods/default/first", "", http.StatusOK},
		{"/api/pods/default/nope", "", http.StatusNotFound},
		{"/api/watch?view=pod&namespace=default", "", http.StatusBadRequest},
		{"/pods/default/first", "", http.StatusOK},
		{"/static/app.js", "", http.StatusOK},
		{"/api/overview", "attacker.example:80", http.StatusForbidden},
	} {
		req, _ := http.NewRequest(http.MethodGet, base+tc.path, nil)
		if tc.host != "" {
			req.Host = tc.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (Host %q): %d, want %d", tc.path, tc.host, resp.StatusCode, tc.want)
		}
	}

	// The cluster goes away: both pages say so and keep the last state seen.
	proxy.cut()
	for name, ch := range map[string]<-chan dashboard.Frame{"overview": overview, "journey": journey} {
		f := next(t, ch, name+" disconnected", func(f dashboard.Frame) bool { return !f.Connected })
		if f.Error == "" || (f.Overview == nil && f.Journey == nil) {
			t.Errorf("%s while disconnected: %+v", name, f)
		}
	}
	// A change made meanwhile shows once it is back.
	if _, err := pods.Create(ctx, &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "second", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "nginx"}}}}); err != nil {
		t.Fatal(err)
	}
	proxy.restore(t)
	next(t, overview, "live again with the pod created meanwhile", func(f dashboard.Frame) bool {
		return f.Connected && f.Error == "" && f.Overview != nil && len(f.Overview.Unscheduled) == 2
	})

	// A pod deleted while its page is open: the page shows its end, not "not found".
	second := frames(t, ctx, base+"/api/watch?view=pod&namespace=default&name=second")
	next(t, second, "second's journey", func(f dashboard.Frame) bool { return f.Journey != nil })
	if err := pods.Delete(ctx, "default", "second", nil); err != nil {
		t.Fatal(err)
	}
	f := next(t, second, "second deleted", func(f dashboard.Frame) bool { return f.Journey != nil && f.Journey.Deleted != nil })
	if end := f.Journey.Steps[len(f.Journey.Steps)-1]; end.Stage != "terminated" || end.State != dashboard.StateDone || f.Journey.Pod.Status != "Deleted" {
		t.Fatalf("journey's end after deletion: %+v, pod %+v", end, f.Journey.Pod)
	}
}
