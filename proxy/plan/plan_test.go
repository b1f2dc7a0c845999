package plan_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

func eps(es []plan.Endpoint) string {
	var out []string
	for _, e := range es {
		s := e.String()
		if e.Local {
			s += "(local)"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestEndpointSelection(t *testing.T) {
	tcp, udp := core.ProtocolTCP, core.ProtocolUDP
	ports := []discovery.EndpointPort{plantest.EPort("http", 8080, tcp), plantest.EPort("dns", 53, udp)}
	web := plantest.Service("default", "web", "10.96.0.5", []core.ServicePort{
		plantest.Port("http", 80, 8080, tcp), plantest.Port("dns", 53, 53, udp), plantest.Port("none", 81, 81, tcp)}, nil)
	for _, tc := range []struct {
		name         string
		eps          []plantest.EP
		cluster, loc string
		portName     string
		wantSvcPorts int
	}{
		{"ready ones only, sorted, local marked", []plantest.EP{
			{IP: "10.244.2.1", Node: "node-b"}, {IP: "10.244.1.1", Node: plantest.Node}, {IP: "10.244.3.1", NotReady: true}},
			"10.244.1.1:8080(local) 10.244.2.1:8080", "10.244.1.1:8080(local)", "http", 3},
		{"no ready: serving-terminating fallback", []plantest.EP{
			{IP: "10.244.2.1", NotReady: true, Serving: true, Terminat: true}, {IP: "10.244.2.2", NotReady: true, Terminat: true}},
			"10.244.2.1:8080", "", "http", 3},
		{"a ready one hides the terminating ones", []plantest.EP{
			{IP: "10.244.2.1", NotReady: true, Serving: true, Terminat: true}, {IP: "10.244.2.3"}},
			"10.244.2.3:8080", "", "http", 3},
		{"local falls back on its own", []plantest.EP{
			{IP: "10.244.2.1", Node: "node-b"}, {IP: "10.244.1.2", Node: plantest.Node, NotReady: true, Serving: true, Terminat: true}},
			"10.244.2.1:8080", "10.244.1.2:8080(local)", "http", 3},
		{"port matched by name and protocol", []plantest.EP{{IP: "10.244.2.1"}},
			"10.244.2.1:53", "", "dns", 3},
		{"a port the slices lack has no endpoints", []plantest.EP{{IP: "10.244.2.1"}},
			"", "", "none", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan.Build(plan.Input{NodeName: plantest.Node, ClusterCIDR: plantest.ClusterCIDR,
				Services: []*core.Service{web}, Slices: []*discovery.EndpointSlice{plantest.Slice("default", "web", "a", ports, tc.eps...)}})
			if len(p.Services) != tc.wantSvcPorts {
				t.Fatalf("%d service ports, want %d", len(p.Services), tc.wantSvcPorts)
			}
			for _, sp := range p.Services {
				if sp.PortName != tc.portName {
					continue
				}
				if got := eps(sp.ClusterEndpoints); got != tc.cluster {
					t.Errorf("cluster endpoints %q, want %q", got, tc.cluster)
				}
				if got := eps(sp.LocalEndpoints); got != tc.loc {
					t.Errorf("local endpoints %q, want %q", got, tc.loc)
				}
			}
		})
	}
}

func TestWhatIsPlanned(t *testing.T) {
	var all []string
	for _, c := range plantest.Cases() {
		for _, sp := range c.Plan().Services {
			all = append(all, fmt.Sprintf("%s/%s ext=%v itl=%v etl=%v aff=%d", sp.Name, sp.Protocol, sp.HasExternal(), sp.InternalLocal, sp.ExternalLocal, sp.AffinitySeconds))
		}
	}
	got := strings.Join(all, "\n")
	want := `default/web:http/TCP ext=false itl=false etl=false aff=0
default/idle:http/TCP ext=true itl=false etl=false aff=0
shop/cart/TCP ext=true itl=false etl=true aff=0
kube-system/dns:dns/UDP ext=false itl=false etl=false aff=60
default/front:https/TCP ext=true itl=false etl=false aff=0
default/far:http/TCP ext=false itl=true etl=false aff=0
default/near:http/TCP ext=false itl=true etl=false aff=0
default/rolling:http/TCP ext=false itl=false etl=false aff=0`
	if got != want {
		t.Errorf("planned (headless and ExternalName Services must not be):\n%s\nwant\n%s", got, want)
	}
}

// The proxy's own DNS address is left alone while its Service has no endpoints.
func TestSkip(t *testing.T) {
	dns := plantest.Service("kube-system", "kube-dns", "10.96.0.10", []core.ServicePort{plantest.Port("dns", 53, 53, core.ProtocolUDP)}, nil)
	skip := func(ip string, port int32, _ core.Protocol) bool { return ip == "10.96.0.10" && port == 53 }
	if p := plan.Build(plan.Input{Services: []*core.Service{dns}, Skip: skip}); len(p.Services) != 0 {
		t.Errorf("skipped service planned: %+v", p.Services[0])
	}
	sl := plantest.Slice("kube-system", "kube-dns", "a", []discovery.EndpointPort{plantest.EPort("dns", 53, core.ProtocolUDP)}, plantest.EP{IP: "10.244.1.53"})
	if p := plan.Build(plan.Input{Services: []*core.Service{dns}, Slices: []*discovery.EndpointSlice{sl}, Skip: skip}); len(p.Services) != 1 {
		t.Errorf("with endpoints the service must be proxied")
	}
}
