package netpol

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/networking"
)

// everything is a plan using every kind of match.
func everything() *Plan {
	in := cluster()
	p := intstr.FromInt(5000)
	in.Policies = []*networking.NetworkPolicy{
		policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
			s.Ingress = []networking.NetworkPolicyIngressRule{
				{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}}, Ports: []networking.NetworkPolicyPort{tcp(8080), named("http")}},
				{From: []networking.NetworkPolicyPeer{{IPBlock: &networking.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16", "10.2.0.0/16"}}}}},
			}
			s.Egress = []networking.NetworkPolicyEgressRule{{Ports: []networking.NetworkPolicyPort{
				{Protocol: ptr(core.ProtocolTCP), Port: &p, EndPort: ptr[int32](5100)}, {Protocol: ptr(core.ProtocolUDP)}, {Protocol: ptr(core.ProtocolSCTP)}}}}
			s.PolicyTypes = []networking.PolicyType{"Ingress", "Egress"}
		}),
		policy("default", "deny", nil, nil),
	}
	return Build(in)
}

func TestRender(t *testing.T) {
	got := string(Render(everything()))
	for _, want := range []string{
		"add table ip skiff-netpol\ndelete table ip skiff-netpol\ntable ip skiff-netpol {\n",
		"\t\ttype ipv4_addr . inet_proto . inet_service\n\t\telements = {\n\t\t\t10.244.1.2 . tcp . 8080, 10.244.1.9 . tcp . 9090\n",
		"ip saddr @peer-",
		" meta l4proto tcp th dport 8080 accept comment \"default/web\"\n",
		" ip daddr . meta l4proto . th dport @port-tcp-http accept",
		"\t\tip saddr 10.0.0.0/8 ip saddr != { 10.1.0.0/16, 10.2.0.0/16 } accept comment \"default/web\"\n",
		"\t\tmeta l4proto tcp th dport 5000-5100 accept",
		"\t\tmeta l4proto udp accept",
		"\t\tmeta l4proto sctp accept",
		"\t\tcounter drop comment \"default/web isolated for ingress\"\n",
		"\t\telements = {\n\t\t\t10.244.1.2 : jump pod-in-10-244-1-2, 10.244.1.3 : jump pod-in-10-244-1-3\n",
		"\tchain egress {\n\t\ttype filter hook forward priority -10; policy accept;\n\t\tct state established,related accept\n\t\tip saddr vmap @egress-pods\n\t}\n",
		"\tchain egress-local {\n\t\ttype filter hook input priority -10; policy accept;\n",
		"\tchain ingress {\n\t\ttype filter hook forward priority -9; policy accept;\n\t\tct state established,related accept\n\t\tip daddr vmap @ingress-pods\n\t}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	// The pod chain of web jumps to both policies, db's only to deny.
	if !strings.Contains(got, "chain pod-in-10-244-1-3 {\n\t\tjump in-") || strings.Count(got, "\t\tjump in-") != 3 {
		t.Errorf("pod chains:\n%s", got)
	}
}

func TestRenderEmptyDeletesTheTable(t *testing.T) {
	if got := string(Render(&Plan{})); got != "add table ip skiff-netpol\ndelete table ip skiff-netpol\n" {
		t.Errorf("empty plan: %q", got)
	}
}
