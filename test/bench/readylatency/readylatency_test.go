package readylatency

// BenchmarkReadyToTraffic: the time from an endpoint of a Service becoming ready in its
// EndpointSlice (the update acknowledged by the API server) to the first TCP connection
// through the Service's ClusterIP succeeding, with skiff's proxy (package proxy, the real
// informers, syncer and backend) programming a node namespace made for the run:
//
//	netns node   vpod 10.244.1.1/24 — the proxy's rules; the prober connects from here
//	               │ veth
//	netns pod    eth0 10.244.1.2/24, a TCP server on :8080
//
// Each sample marks the endpoint not ready, waits until the ClusterIP refuses, then marks
// it ready and connects every millisecond until a connection succeeds. In the same run, for
// every sample: when the update reached a plain watcher of EndpointSlices (the reference:
// the API server's own delivery), when the proxy's sync started and how long it took.
// Two cases: "isolated" (the change comes more than --min-sync-period after the previous
// sync, as a pod turning Ready in a quiet cluster) and "right after a sync" (the change
// comes as a sync ends, so the proxy's rate limit holds it back: the worst case).
//
// Not included: the kubelet's probe noticing readiness and the EndpointSlice controller
// writing the slice (here the benchmark writes it).
//
//	sudo go test ./test/bench/readylatency -run '^$' -bench . -benchtime 1x            # iptables and nftables
//	sudo go test ./test/bench/readylatency -run '^$' -bench . -benchtime 1x -args -samples 50 -modes nftables -services 1000

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/proxy"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	samplesFlag  = flag.Int("samples", 30, "samples per mode and case")
	modesFlag    = flag.String("modes", "iptables,nftables", "proxy modes to measure")
	servicesFlag = flag.Int("services", 100, "other Services (10 endpoints each) in the ruleset")
	minSyncFlag  = flag.Duration("min-sync-period", time.Second, "the proxy's --min-sync-period (skiff-proxy's default)")
)

const (
	nodeIP    = "10.244.1.1"
	podIP     = "10.244.1.2"
	clusterIP = "10.96.0.100"
	nodeName  = "node-a"
)

// timedBackend records when each sync ran.
type timedBackend struct {
	proxy.Backend
	mu    sync.Mutex
	syncs []span
}

type span struct{ start, end time.Time }

func (b *timedBackend) Sync(ctx context.Context, p *plan.Plan, full bool) (int, error) {
	// Recorded as it starts: the rules are in the kernel before the tool's exit is seen.
	b.mu.Lock()
	b.syncs = append(b.syncs, span{start: time.Now()})
	i := len(b.syncs) - 1
	b.mu.Unlock()
	n, err := b.Backend.Sync(ctx, p, full)
	b.mu.Lock()
	b.syncs[i].end = time.Now()
	b.mu.Unlock()
	return n, err
}

// syncBetween is the last sync that started between from and to, once it has ended (its
// end may come after to: the rules are in the kernel a little before the proxy sees the
// tool exit).
func (b *timedBackend) syncBetween(from, to time.Time) (span, bool) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		found := -1
		for i := len(b.syncs) - 1; i >= 0 && found < 0; i-- {
			if s := b.syncs[i]; !s.start.Before(from) && !s.start.After(to) {
				found = i
			}
		}
		if found < 0 {
			b.mu.Unlock()
			return span{}, false
		}
		s := b.syncs[found]
		b.mu.Unlock()
		if !s.end.IsZero() {
			return s, true
		}
	}
	return span{}, false
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

var nsCounter atomic.Int32

// topology makes the two namespaces; they are deleted when b ends.
func topology(b *testing.B) (node, pod string) {
	id := fmt.Sprintf("rl%d-%d", os.Getpid(), nsCounter.Add(1))
	node, pod = id+"-node", id+"-pod"
	b.Cleanup(func() { _ = sh("ip", "netns", "del", node); _ = sh("ip", "netns", "del", pod) })
	for _, s := range [][]string{
		{"ip", "netns", "add", node}, {"ip", "netns", "add", pod},
		{"ip", "-n", node, "link", "set", "lo", "up"}, {"ip", "-n", pod, "link", "set", "lo", "up"},
		{"ip", "-n", node, "link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod},
		{"ip", "-n", node, "addr", "add", nodeIP + "/24", "dev", "vpod"},
		{"ip", "-n", node, "link", "set", "vpod", "up"},
		// A route for Service addresses (a node's default route): without one a connect
		// fails before the proxy's rules see it.
		{"ip", "-n", node, "route", "add", "default", "dev", "vpod"},
		{"ip", "-n", pod, "addr", "add", podIP + "/24", "dev", "eth0"},
		{"ip", "-n", pod, "link", "set", "eth0", "up"},
		{"ip", "-n", pod, "route", "add", "default", "via", nodeIP},
	} {
		if err := sh(s...); err != nil {
			b.Fatal(err)
		}
	}
	return node, pod
}

// enter locks the calling goroutine to its thread and moves that thread into ns for good:
// sockets it makes belong to ns. The thread is dropped when the goroutine ends.
func enter(ns string) error {
	runtime.LockOSThread()
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	return netns.Set(h)
}

// serve accepts connections on podIP:8080 in ns and holds each until the client closes it
// (closing first with a reset could beat the client's connect() to its result).
func serve(b *testing.B, ns string) {
	lnc := make(chan net.Listener, 1)
	errc := make(chan error, 1)
	go func() {
		if err := enter(ns); err != nil {
			errc <- err
			return
		}
		ln, err := net.Listen("tcp", podIP+":8080")
		if err != nil {
			errc <- err
			return
		}
		lnc <- ln
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	select {
	case ln := <-lnc:
		b.Cleanup(func() { ln.Close() })
	case err := <-errc:
		b.Fatal(err)
	}
}

// prober connects to addr from ns, on request, until the Service is in the asked state
// (open: a connection succeeds; closed: refused), and answers when it first saw it.
type prober struct {
	reqs chan probeReq
}

type probeReq struct {
	open bool
	done chan time.Time
}

func newProber(b *testing.B, ns, addr string) *prober {
	p := &prober{reqs: make(chan probeReq)}
	errc := make(chan error, 1)
	go func() {
		if err := enter(ns); err != nil {
			errc <- err
			return
		}
		errc <- nil
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		for r := range p.reqs {
			var last error
			for start := time.Now(); time.Since(start) < 30*time.Second; {
				c, err := d.Dial("tcp", addr)
				now := time.Now()
				if err == nil {
					_ = c.(*net.TCPConn).SetLinger(0)
					c.Close()
				}
				if (err == nil) == r.open && (r.open || errors.Is(err, syscall.ECONNREFUSED)) {
					r.done <- now
					last = nil
					break
				}
				last = err

				time.Sleep(time.Millisecond)
			}
			if last != nil {
				r.done <- time.Time{}
			}
		}
	}()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { close(p.reqs) })
	return p
}

func (p *prober) until(open bool) time.Time {
	done := make(chan time.Time, 1)
	p.reqs <- probeReq{open, done}
	select {
	case t := <-done:
		return t
	case <-time.After(40 * time.Second):
	}
	return time.Time{}
}

// watchTimes records when each resourceVersion of the target's slice reached a plain watcher.
type watchTimes struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (w *watchTimes) at(rv string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.seen[rv]
	return t, ok
}

func watch(ctx context.Context, b *testing.B, c *client.Client) *watchTimes {
	w := &watchTimes{seen: map[string]time.Time{}}
	wi, err := client.For[discovery.EndpointSlice](c, proxy.EndpointSlicesResource).Watch(ctx, "default",
		client.ListOptions{LabelSelector: plan.LabelServiceName + "=target"})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for ev := range wi.ResultChan() {
			now := time.Now()
			if ev.Object != nil {
				w.mu.Lock()
				w.seen[ev.Object.ResourceVersion] = now
				w.mu.Unlock()
			}
		}
	}()
	b.Cleanup(wi.Stop)
	return w
}

type sample struct {
	latency, watch, wait, sync, after time.Duration
}

func pct(d []time.Duration, f float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(f*float64(len(s)-1)+0.5)]
}

func BenchmarkReadyToTraffic(b *testing.B) {
	if os.Getuid() != 0 {
		b.Skip("needs root (network namespaces)")
	}
	fmt.Println("| mode | case | samples | ready → first connection p50 / p99 | → plain watcher p50 / p99 | watcher → sync start p50 / p99 | sync p50 / p99 | sync end → connection p50 / p99 | latency ÷ watcher (p50) | latency ÷ sync (p50) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, mode := range strings.Split(*modesFlag, ",") {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				measure(b, strings.TrimSpace(mode))
			}
		})
	}
}

func measure(b *testing.B, mode string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node, pod := topology(b)
	serve(b, pod)
	s := harness.StartServer(b, harness.ServerOptions{})
	c := s.Client(b)
	tcp := core.ProtocolTCP
	svcs := client.For[core.Service](c, proxy.ServicesResource)
	slicesAPI := client.For[discovery.EndpointSlice](c, proxy.EndpointSlicesResource)
	eport := []discovery.EndpointPort{plantest.EPort("http", 8080, tcp)}
	for i := range *servicesFlag {
		name := fmt.Sprintf("bg%d", i)
		if _, err := svcs.Create(ctx, plantest.Service("default", name, fmt.Sprintf("10.96.%d.%d", 10+i/250, 1+i%250),
			[]core.ServicePort{plantest.Port("http", 80, 8080, tcp)}, nil)); err != nil {
			b.Fatal(err)
		}
		var eps []plantest.EP
		for e := range 10 {
			eps = append(eps, plantest.EP{IP: fmt.Sprintf("10.244.%d.%d", 100+i/25, 1+(i%25)*10+e), Node: "node-b"})
		}
		if _, err := slicesAPI.Create(ctx, plantest.Slice("default", name, "x", eport, eps...)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := svcs.Create(ctx, plantest.Service("default", "target", clusterIP,
		[]core.ServicePort{plantest.Port("http", 80, 8080, tcp)}, nil)); err != nil {
		b.Fatal(err)
	}
	if _, err := slicesAPI.Create(ctx, plantest.Slice("default", "target", "x", eport,
		plantest.EP{IP: podIP, Node: nodeName, NotReady: true})); err != nil {
		b.Fatal(err)
	}
	w := watch(ctx, b, c)

	inner, err := proxy.NewBackend(mode, "", execer.InNetns(node))
	if err != nil {
		b.Skip(err)
	}
	be := &timedBackend{Backend: inner}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- proxy.Run(ctx, proxy.Config{Client: c, NodeName: nodeName, Backend: be, MinSyncPeriod: *minSyncFlag,
			SyncPeriod: time.Hour, Ready: func(*proxy.Proxy) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatalf("proxy: %v", err)
	}
	defer func() {
		cancel()
		<-done
		_ = inner.Cleanup(context.Background())
	}()
	pr := newProber(b, node, clusterIP+":80")

	setReady := func(v bool) string {
		for {
			sl, err := slicesAPI.Get(ctx, "default", "target-x")
			if err != nil {
				b.Fatal(err)
			}
			sl.Endpoints[0].Conditions.Ready, sl.Endpoints[0].Conditions.Serving = &v, &v
			out, err := slicesAPI.Update(ctx, sl)
			if err == nil {
				return out.ResourceVersion
			}
			if client.ReasonFor(err) != "Conflict" {
				b.Fatal(err)
			}
		}
	}

	b.ResetTimer()
	for _, isolated := range []bool{true, false} {
		var ss []sample
		for range *samplesFlag {
			setReady(false)
			if pr.until(false).IsZero() {
				b.Fatal("the ClusterIP did not refuse within 30s of its endpoint turning not ready")
			}
			if isolated {
				time.Sleep(*minSyncFlag + time.Duration(rand.Int64N(int64(200*time.Millisecond))))
			}
			t0 := time.Now()
			rv := setReady(true)
			t1 := pr.until(true)
			if t1.IsZero() {
				b.Fatal("no connection through the ClusterIP within 30s of its endpoint turning ready")
			}
			var tw time.Time
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				var ok bool
				if tw, ok = w.at(rv); ok {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("the watcher never saw resourceVersion %s", rv)
				}
			}
			sp, ok := be.syncBetween(tw, t1)
			if !ok {
				// The proxy's own watch can beat the plain watcher to it.
				sp, ok = be.syncBetween(t0, t1)
			}
			if !ok {
				b.Fatalf("no sync between the update and the first connection")
			}
			ss = append(ss, sample{latency: t1.Sub(t0), watch: tw.Sub(t0), wait: sp.start.Sub(tw), sync: sp.end.Sub(sp.start), after: t1.Sub(sp.end)})
		}
		report(b, mode, isolated, ss)
	}
}

func report(b *testing.B, mode string, isolated bool, ss []sample) {
	col := func(f func(sample) time.Duration) []time.Duration {
		var out []time.Duration
		for _, s := range ss {
			out = append(out, f(s))
		}
		return out
	}
	lat, wat, wait, syn := col(func(s sample) time.Duration { return s.latency }), col(func(s sample) time.Duration { return s.watch }),
		col(func(s sample) time.Duration { return s.wait }), col(func(s sample) time.Duration { return s.sync })
	after := col(func(s sample) time.Duration { return s.after })
	name := "right after a sync"
	tag := "after-sync"
	if isolated {
		name, tag = "isolated", "isolated"
	}
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	fmt.Printf("| %s | %s | %d | %s / %s | %s / %s | %s / %s | %s / %s | %s / %s | %.1f× | %.1f× |\n", mode, name, len(ss),
		r(pct(lat, .5)), r(pct(lat, .99)), r(pct(wat, .5)), r(pct(wat, .99)), r(pct(wait, .5)), r(pct(wait, .99)),
		r(pct(syn, .5)), r(pct(syn, .99)), r(pct(after, .5)), r(pct(after, .99)),
		float64(pct(lat, .5))/float64(pct(wat, .5)), float64(pct(lat, .5))/float64(pct(syn, .5)))
	b.ReportMetric(float64(pct(lat, .5))/1e6, tag+"-p50-ms")
	b.ReportMetric(float64(pct(lat, .99))/1e6, tag+"-p99-ms")
	b.ReportMetric(float64(pct(lat, .5))/float64(pct(wat, .5)), tag+"-ratio-to-watch")
}
