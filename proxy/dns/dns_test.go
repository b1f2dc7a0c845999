package dns

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

// lister serves fixed objects.
type lister struct {
	services []*core.Service
	slices   []*discovery.EndpointSlice
}

func (l *lister) Service(ns, name string) (*core.Service, bool) {
	for _, s := range l.services {
		if s.Namespace == ns && s.Name == name {
			return s, true
		}
	}
	return nil, false
}

func (l *lister) ServiceByClusterIP(ip string) (*core.Service, bool) {
	for _, s := range l.services {
		if s.Spec.ClusterIP == ip {
			return s, true
		}
	}
	return nil, false
}

func (l *lister) EndpointSlices(ns, svc string) []*discovery.EndpointSlice {
	var out []*discovery.EndpointSlice
	for _, s := range l.slices {
		if s.Namespace == ns && s.Labels["kubernetes.io/service-name"] == svc {
			out = append(out, s)
		}
	}
	return out
}

func (l *lister) EndpointSlicesByAddress(string) []*discovery.EndpointSlice { return nil }

func start(t *testing.T, l Lister, upstreams ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := Start(ctx, Config{Addr: "127.0.0.1:0", Lister: l, Upstreams: upstreams, UpstreamTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s.Addr()
}

func exchange(t *testing.T, addr, name string, qtype uint16, net string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	r, _, err := (&dns.Client{Net: net, Timeout: 5 * time.Second}).Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// With no upstream answering, other names fail at once rather than hang the resolver.
func TestForwardFailsFastWithoutUpstream(t *testing.T) {
	// A closed port on loopback: the kernel refuses at once (no traffic leaves the host).
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.LocalAddr().String()
	l.Close()
	for _, ups := range [][]string{nil, {closed}} {
		addr := start(t, &lister{}, ups...)
		begin := time.Now()
		r := exchange(t, addr, "example.org.", dns.TypeA, "udp")
		if r.Rcode != dns.RcodeServerFailure {
			t.Errorf("upstreams %v: rcode %s, want SERVFAIL", ups, dns.RcodeToString[r.Rcode])
		}
		if d := time.Since(begin); d > time.Second {
			t.Errorf("upstreams %v: SERVFAIL took %s", ups, d)
		}
	}
}

// A headless Service with many endpoints: UDP answers are truncated (TC) so the client
// retries over TCP, which gets them all.
func TestLargeAnswersTruncateOverUDP(t *testing.T) {
	var eps []plantest.EP
	for i := range 100 {
		eps = append(eps, plantest.EP{IP: fmt.Sprintf("10.244.%d.%d", i/200, i%200+1)})
	}
	l := &lister{
		services: []*core.Service{plantest.Service("default", "many", core.ClusterIPNone, nil, nil)},
		slices:   []*discovery.EndpointSlice{plantest.Slice("default", "many", "a", nil, eps...)},
	}
	addr := start(t, l)
	udp := exchange(t, addr, "many.default.svc.cluster.local.", dns.TypeA, "udp")
	if !udp.Truncated || len(udp.Answer) >= 100 {
		t.Errorf("UDP: truncated=%v with %d answers, want truncated", udp.Truncated, len(udp.Answer))
	}
	tcp := exchange(t, addr, "many.default.svc.cluster.local.", dns.TypeA, "tcp")
	if tcp.Truncated || len(tcp.Answer) != 100 {
		t.Errorf("TCP: truncated=%v with %d answers, want all 100", tcp.Truncated, len(tcp.Answer))
	}
}

func TestUpstreamsSkipsTheClusterDNS(t *testing.T) {
	f := t.TempDir() + "/resolv.conf"
	if err := writeFile(f, "search example.com\nnameserver 10.96.0.10\nnameserver 192.0.2.53\noptions ndots:5\n"); err != nil {
		t.Fatal(err)
	}
	got := Upstreams(f, "10.96.0.10")
	if len(got) != 1 || got[0] != "192.0.2.53:53" {
		t.Errorf("Upstreams = %v", got)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
