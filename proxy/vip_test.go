package proxy

import (
	"context"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/proxy/dns"
	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
	"github.com/skiff-sh/skiff/proxy/iptables"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

// The cluster DNS address put on a port-less bridge in a node namespace answers queries
// from a pod behind the node (and from the node itself), with the node's iptables rules
// in place and the kube-dns Service (no endpoints) present.
func TestDNSAddressReachableFromPods(t *testing.T) {
	kerneltest.Need(t, "iptables-restore")
	tp := kerneltest.New(t)
	const dnsIP = "10.96.0.10"
	kubeDNS := plantest.Service("kube-system", "kube-dns", dnsIP, []core.ServicePort{
		plantest.Port("dns", 53, 53, core.ProtocolUDP), plantest.Port("dns-tcp", 53, 53, core.ProtocolTCP)}, nil)
	p := &Proxy{dnsIP: netip.MustParseAddr(dnsIP), dnsPort: 53}
	pl := plan.Build(plan.Input{NodeName: plantest.Node, ClusterCIDR: plantest.ClusterCIDR,
		Services: []*core.Service{kubeDNS}, Skip: p.servedLocally})
	if len(pl.Services) != 0 {
		t.Fatalf("kube-dns without endpoints is planned: %+v", pl.Services[0])
	}
	b := iptables.New(tp.Exec())
	if _, err := b.Sync(context.Background(), pl, true); err != nil {
		t.Fatal(err)
	}

	var srv *dns.Server
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := kerneltest.Do(tp.Node, func() error {
		if _, err := ensureVIP(DefaultVIPInterface, netip.MustParseAddr(dnsIP)); err != nil {
			return err
		}
		var err error
		srv, err = dns.Start(ctx, dns.Config{Addr: dnsIP + ":53", Lister: staticLister{kubeDNS}, Upstreams: []string{}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	for _, ns := range []string{tp.Pod, tp.Node} {
		for _, netw := range []string{"udp", "tcp"} {
			var r *mdns.Msg
			err := kerneltest.Do(ns, func() error {
				m := new(mdns.Msg)
				m.SetQuestion("kube-dns.kube-system.svc.cluster.local.", mdns.TypeA)
				var err error
				r, _, err = (&mdns.Client{Net: netw, Timeout: 3 * time.Second}).Exchange(m, dnsIP+":53")
				return err
			})
			if err != nil {
				t.Errorf("from %s over %s: %v", ns, netw, err)
				continue
			}
			if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != dnsIP {
				t.Errorf("from %s over %s: %v", ns, netw, r)
			}
		}
	}
}

type staticLister []*core.Service

func (l staticLister) Service(ns, name string) (*core.Service, bool) {
	for _, s := range l {
		if s.Namespace == ns && s.Name == name {
			return s, true
		}
	}
	return nil, false
}
func (l staticLister) ServiceByClusterIP(string) (*core.Service, bool) { return nil, false }
func (l staticLister) EndpointSlices(string, string) []*discovery.EndpointSlice {
	return nil
}
func (l staticLister) EndpointSlicesByAddress(string) []*discovery.EndpointSlice { return nil }
