package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/proxy"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
	"github.com/skiff-sh/skiff/test/harness"
)

// These tests run the proxy against the real API server (in-process, over etcd), with a
// recording backend in place of the kernel and DNS on loopback.

func newClient(t *testing.T) *client.Client {
	t.Helper()
	s := harness.StartServer(t, harness.ServerOptions{})
	cfg, err := client.LoadKubeconfig(s.Kubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fakeBackend records the plans it is given and fails while fail is set.
type fakeBackend struct {
	mu    sync.Mutex
	syncs int
	fulls int
	last  *plan.Plan
	fail  bool
}

func (b *fakeBackend) Name() string { return "fake" }

func (b *fakeBackend) Sync(_ context.Context, p *plan.Plan, full bool) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail {
		return 0, errors.New("injected failure")
	}
	b.syncs++
	if full {
		b.fulls++
	}
	b.last = p
	return len(p.Services), nil
}

func (b *fakeBackend) Cleanup(context.Context) error { return nil }

func (b *fakeBackend) state() (int, *plan.Plan) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.syncs, b.last
}

func (b *fakeBackend) setFail(v bool) {
	b.mu.Lock()
	b.fail = v
	b.mu.Unlock()
}

// startProxy runs a proxy until the test ends and returns it once it serves.
func startProxy(t *testing.T, cfg proxy.Config) *proxy.Proxy {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *proxy.Proxy, 1)
	cfg.Ready = func(p *proxy.Proxy) { ready <- p }
	done := make(chan error, 1)
	go func() { done <- proxy.Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("proxy did not stop")
		}
	})
	select {
	case p := <-ready:
		return p
	case err := <-done:
		t.Fatalf("proxy exited: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("proxy not ready after 30s")
	}
	return nil
}

func create[T any, PT interface {
	*T
	meta.Object
}](t *testing.T, c *client.Client, r client.Resource, obj PT) PT {
	t.Helper()
	out, err := client.For[T, PT](c, r).Create(context.Background(), obj)
	if err != nil {
		t.Fatalf("create %s: %v", r.Resource, err)
	}
	return out
}

func query(t *testing.T, addr, name string, qtype uint16, tcp bool) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 5 * time.Second}
	if tcp {
		c.Net = "tcp"
	}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s: %v", name, dns.TypeToString[qtype], err)
	}
	return r
}

// rrs renders a response's answer (and, after "|", additional) section compactly.
func rrs(m *dns.Msg) string {
	var parts []string
	for _, rr := range m.Answer {
		parts = append(parts, strings.Join(strings.Fields(rr.String())[3:], " "))
	}
	if len(m.Extra) > 0 {
		var extra []string
		for _, rr := range m.Extra {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			extra = append(extra, strings.Fields(rr.String())[0]+" "+strings.Join(strings.Fields(rr.String())[3:], " "))
		}
		if len(extra) > 0 {
			return dns.RcodeToString[m.Rcode] + " " + strings.Join(parts, "; ") + " | " + strings.Join(extra, ", ")
		}
	}
	return dns.RcodeToString[m.Rcode] + " " + strings.Join(parts, "; ")
}

// fakeUpstream answers every A query with 192.0.2.99, on loopback.
func fakeUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		if r.Question[0].Qtype == dns.TypeA {
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.ParseIP("192.0.2.99").To4()}}
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSAgainstAPIServer(t *testing.T) {
	c := newClient(t)
	tcp := core.ProtocolTCP
	create(t, c, proxy.ServicesResource, plantest.Service("default", "web", "10.96.0.80",
		[]core.ServicePort{plantest.Port("http", 80, 8080, tcp)}, nil))
	create(t, c, proxy.ServicesResource, plantest.Service("default", "db", core.ClusterIPNone,
		[]core.ServicePort{plantest.Port("pg", 5432, 5432, tcp)}, nil))
	create(t, c, proxy.ServicesResource, plantest.Service("default", "ext", "", nil, func(s *core.Service) {
		s.Spec.Type = core.ServiceTypeExternalName
		s.Spec.ExternalName = "example.org"
		s.Spec.Selector = nil
	}))
	create(t, c, proxy.EndpointSlicesResource, plantest.Slice("default", "db", "x", []discovery.EndpointPort{plantest.EPort("pg", 5432, tcp)},
		plantest.EP{IP: "10.244.1.10", Hostname: "db-0"}, plantest.EP{IP: "10.244.1.11", Hostname: "db-1"},
		plantest.EP{IP: "10.244.1.12", Hostname: "db-2", NotReady: true}))

	p := startProxy(t, proxy.Config{Client: c, NodeName: "n1", Backend: &fakeBackend{}, DNSAddr: "127.0.0.1:0",
		DNSUpstreams: []string{fakeUpstream(t)}, SkipVIP: true, MinSyncPeriod: 10 * time.Millisecond})
	addr := p.DNSAddr()

	for _, tc := range []struct {
		name  string
		qtype uint16
		tcp   bool
		want  string
	}{
		{"web.default.svc.cluster.local", dns.TypeA, false, "NOERROR A 10.96.0.80"},
		{"WEB.Default.svc.cluster.local", dns.TypeA, true, "NOERROR A 10.96.0.80"},
		{"web.default.svc.cluster.local", dns.TypeAAAA, false, "NOERROR "},
		{"nosuch.default.svc.cluster.local", dns.TypeA, false, "NXDOMAIN "},
		{"web.default.svc.cluster.local.default.svc.cluster.local", dns.TypeA, false, "NXDOMAIN "},
		{"db.default.svc.cluster.local", dns.TypeA, false, "NOERROR A 10.244.1.10; A 10.244.1.11"},
		{"db-1.db.default.svc.cluster.local", dns.TypeA, false, "NOERROR A 10.244.1.11"},
		{"db-2.db.default.svc.cluster.local", dns.TypeA, false, "NXDOMAIN "},
		{"_http._tcp.web.default.svc.cluster.local", dns.TypeSRV, false,
			"NOERROR SRV 0 100 80 web.default.svc.cluster.local. | web.default.svc.cluster.local. A 10.96.0.80"},
		{"_pg._tcp.db.default.svc.cluster.local", dns.TypeSRV, false,
			"NOERROR SRV 0 100 5432 db-0.db.default.svc.cluster.local.; SRV 0 100 5432 db-1.db.default.svc.cluster.local. | db-0.db.default.svc.cluster.local. A 10.244.1.10, db-1.db.default.svc.cluster.local. A 10.244.1.11"},
		{"_nope._tcp.web.default.svc.cluster.local", dns.TypeSRV, false, "NXDOMAIN "},
		{"80.0.96.10.in-addr.arpa", dns.TypePTR, false, "NOERROR PTR web.default.svc.cluster.local."},
		{"10.1.244.10.in-addr.arpa", dns.TypePTR, false, "NOERROR PTR db-0.db.default.svc.cluster.local."},
		{"ext.default.svc.cluster.local", dns.TypeA, false, "NOERROR CNAME example.org.; A 192.0.2.99"},
		{"10-244-1-10.default.pod.cluster.local", dns.TypeA, false, "NOERROR A 10.244.1.10"},
		{"example.org", dns.TypeA, false, "NOERROR A 192.0.2.99"},
		{"example.org", dns.TypeA, true, "NOERROR A 192.0.2.99"},
	} {
		t.Run(fmt.Sprintf("%s %s tcp=%v", tc.name, dns.TypeToString[tc.qtype], tc.tcp), func(t *testing.T) {
			if got := rrs(query(t, addr, tc.name, tc.qtype, tc.tcp)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}

	// NXDOMAIN carries the zone's SOA, so resolvers cache the miss.
	if r := query(t, addr, "nosuch.default.svc.cluster.local", dns.TypeA, false); len(r.Ns) != 1 || r.Ns[0].Header().Rrtype != dns.TypeSOA || !r.Authoritative {
		t.Errorf("NXDOMAIN without SOA or not authoritative: %v", r)
	}

	// Changes show up: a deleted Service stops resolving, a new one starts.
	if err := client.For[core.Service](c, proxy.ServicesResource).Delete(context.Background(), "default", "web", nil); err != nil {
		t.Fatal(err)
	}
	create(t, c, proxy.ServicesResource, plantest.Service("default", "api", "10.96.0.81", []core.ServicePort{plantest.Port("http", 80, 80, tcp)}, nil))
	harness.Eventually(t, 10*time.Second, "web gone and api present", func() (bool, string) {
		web := rrs(query(t, addr, "web.default.svc.cluster.local", dns.TypeA, false))
		api := rrs(query(t, addr, "api.default.svc.cluster.local", dns.TypeA, false))
		return web == "NXDOMAIN " && api == "NOERROR A 10.96.0.81", web + " / " + api
	})
}

func TestSyncsCoalesceAndFailuresAreRetried(t *testing.T) {
	c := newClient(t)
	be := &fakeBackend{}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	startProxy(t, proxy.Config{Client: c, NodeName: "n1", Backend: be, MinSyncPeriod: 700 * time.Millisecond,
		SyncPeriod: time.Hour, HealthTimeout: 1500 * time.Millisecond, MetricsAddr: metricsAddr})
	harness.Eventually(t, 10*time.Second, "first sync", func() (bool, string) {
		n, _ := be.state()
		return n >= 1, fmt.Sprint(n)
	})
	before, _ := be.state()

	// A burst of 20 Services is a handful of syncs, not 20: at most one per min-sync-period
	// (plus the one the burst starts with).
	start := time.Now()
	for i := range 20 {
		create(t, c, proxy.ServicesResource, plantest.Service("default", fmt.Sprintf("s%02d", i), fmt.Sprintf("10.96.1.%d", i+1),
			[]core.ServicePort{plantest.Port("http", 80, 80, core.ProtocolTCP)}, nil))
	}
	harness.Eventually(t, 10*time.Second, "all 20 in the plan", func() (bool, string) {
		_, p := be.state()
		n := 0
		if p != nil {
			for _, sp := range p.Services {
				if strings.HasPrefix(sp.Service, "s") {
					n++
				}
			}
		}
		return n == 20, fmt.Sprint(n)
	})
	after, _ := be.state()
	limit := int(time.Since(start)/(700*time.Millisecond)) + 2
	if d := after - before; d > limit || d >= 20 {
		t.Errorf("%d syncs for a burst of 20 changes in %s, want at most %d (coalesced)", d, time.Since(start), limit)
	}

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("healthz while syncing: %d %s", code, body)
	}

	// Syncs start failing: errors are counted, the change waits, health fails; then recovers.
	be.setFail(true)
	create(t, c, proxy.ServicesResource, plantest.Service("default", "late", "10.96.1.100",
		[]core.ServicePort{plantest.Port("http", 80, 80, core.ProtocolTCP)}, nil))
	harness.Eventually(t, 15*time.Second, "healthz failing and errors counted", func() (bool, string) {
		code, body := get("/healthz")
		_, m := get("/metrics")
		return code == 503 && !strings.Contains(m, `kubeproxy_sync_proxy_rules_errors_total{mode="fake"} 0`), fmt.Sprintf("%d %s", code, body)
	})
	be.setFail(false)
	harness.Eventually(t, 15*time.Second, "recovered: healthy and late applied", func() (bool, string) {
		code, body := get("/healthz")
		_, p := be.state()
		has := false
		for _, sp := range p.Services {
			has = has || sp.Service == "late"
		}
		return code == 200 && has, fmt.Sprintf("%d %s late=%v", code, body, has)
	})
	_, m := get("/metrics")
	for _, want := range []string{"kubeproxy_sync_proxy_rules_duration_seconds_bucket", "kubeproxy_sync_proxy_rules_last_timestamp_seconds",
		"kubeproxy_sync_proxy_rules_count", `kubeproxy_sync_proxy_rules_total{kind="partial",mode="fake",result="error"}`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
