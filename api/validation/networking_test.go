package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
)

func validNetworkPolicy() *networking.NetworkPolicy {
	port := intstr.FromInt(80)
	named := intstr.FromString("http")
	return &networking.NetworkPolicy{
		ObjectMeta: objectMeta("allow-web", "default"),
		Spec: networking.NetworkPolicySpec{
			PodSelector: meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Ingress: []networking.NetworkPolicyIngressRule{{
				Ports: []networking.NetworkPolicyPort{{Protocol: ptr(core.ProtocolTCP), Port: &port, EndPort: ptr[int32](90)}, {Port: &named}},
				From: []networking.NetworkPolicyPeer{
					{PodSelector: &meta.LabelSelector{MatchLabels: map[string]string{"role": "client"}},
						NamespaceSelector: &meta.LabelSelector{MatchLabels: map[string]string{"team": "a"}}},
					{IPBlock: &networking.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}},
				},
			}},
			Egress:      []networking.NetworkPolicyEgressRule{{To: []networking.NetworkPolicyPeer{{NamespaceSelector: &meta.LabelSelector{}}}}},
			PolicyTypes: []networking.PolicyType{networking.PolicyTypeIngress, networking.PolicyTypeEgress},
		},
	}
}

func TestValidateNetworkPolicy(t *testing.T) {
	in := func(np *networking.NetworkPolicy) *networking.NetworkPolicyIngressRule { return &np.Spec.Ingress[0] }
	runCreateCases(t, validNetworkPolicy, true, []objectCase[networking.NetworkPolicy]{
		{name: "valid"},
		{name: "default deny: empty selector, no rules", mutate: func(np *networking.NetworkPolicy) {
			np.Spec = networking.NetworkPolicySpec{PolicyTypes: []networking.PolicyType{"Ingress"}}
		}},
		{name: "invalid cidr", mutate: func(np *networking.NetworkPolicy) { in(np).From[1].IPBlock.CIDR = "10.0.0.0/33" },
			want: []string{"spec.ingress[0].from[1].ipBlock.cidr" + invalid}},
		{name: "cidr required", mutate: func(np *networking.NetworkPolicy) { in(np).From[1].IPBlock.CIDR = "" },
			want: []string{"spec.ingress[0].from[1].ipBlock.cidr" + required}},
		{name: "except not a subset", mutate: func(np *networking.NetworkPolicy) {
			in(np).From[1].IPBlock.Except = []string{"192.168.0.0/16", "10.0.0.0/8"}
		},
			want: []string{"spec.ingress[0].from[1].ipBlock.except[0]" + invalid, "spec.ingress[0].from[1].ipBlock.except[1]" + invalid}},
		{name: "except not a cidr", mutate: func(np *networking.NetworkPolicy) { in(np).From[1].IPBlock.Except = []string{"10.1.0.0"} },
			want: []string{"spec.ingress[0].from[1].ipBlock.except[0]" + invalid}},
		{name: "ipBlock with a selector", mutate: func(np *networking.NetworkPolicy) { in(np).From[1].PodSelector = &meta.LabelSelector{} },
			want: []string{"spec.ingress[0].from[1]" + forbidden}},
		{name: "empty peer", mutate: func(np *networking.NetworkPolicy) { np.Spec.Egress[0].To[0] = networking.NetworkPolicyPeer{} },
			want: []string{"spec.egress[0].to[0]" + required}},
		{name: "bad selector operator", mutate: func(np *networking.NetworkPolicy) {
			in(np).From[0].PodSelector.MatchExpressions = []meta.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}
		}, want: []string{"spec.ingress[0].from[0].podSelector.matchExpressions[0].operator" + invalid}},
		{name: "bad selector label", mutate: func(np *networking.NetworkPolicy) { np.Spec.PodSelector.MatchLabels = map[string]string{"app": "web!"} },
			want: []string{"spec.podSelector.matchLabels" + invalid}},
		{name: "bad namespace selector", mutate: func(np *networking.NetworkPolicy) {
			np.Spec.Egress[0].To[0].NamespaceSelector.MatchExpressions = []meta.LabelSelectorRequirement{{Key: "a", Operator: meta.LabelSelectorOpIn}}
		}, want: []string{"spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values" + required}},
		{name: "protocol", mutate: func(np *networking.NetworkPolicy) { in(np).Ports[0].Protocol = ptr[core.Protocol]("ICMP") },
			want: []string{"spec.ingress[0].ports[0].protocol" + notSupported}},
		{name: "port out of range", mutate: func(np *networking.NetworkPolicy) {
			p := intstr.FromInt(70000)
			in(np).Ports[0].Port, in(np).Ports[0].EndPort = &p, nil
		},
			want: []string{"spec.ingress[0].ports[0].port" + invalid}},
		{name: "endPort below port", mutate: func(np *networking.NetworkPolicy) { in(np).Ports[0].EndPort = ptr[int32](79) },
			want: []string{"spec.ingress[0].ports[0].endPort" + invalid}},
		{name: "endPort out of range", mutate: func(np *networking.NetworkPolicy) { in(np).Ports[0].EndPort = ptr[int32](65536) },
			want: []string{"spec.ingress[0].ports[0].endPort" + invalid}},
		{name: "endPort with a named port", mutate: func(np *networking.NetworkPolicy) { in(np).Ports[1].EndPort = ptr[int32](90) },
			want: []string{"spec.ingress[0].ports[1].endPort" + invalid}},
		{name: "endPort without a port", mutate: func(np *networking.NetworkPolicy) { in(np).Ports[0].Port = nil },
			want: []string{"spec.ingress[0].ports[0].endPort" + invalid}},
		{name: "bad port name", mutate: func(np *networking.NetworkPolicy) { p := intstr.FromString("HTTP_1"); in(np).Ports[1].Port = &p },
			want: []string{"spec.ingress[0].ports[1].port" + invalid, "spec.ingress[0].ports[1].port" + invalid}},
		{name: "policy type", mutate: func(np *networking.NetworkPolicy) { np.Spec.PolicyTypes = []networking.PolicyType{"Sideways"} },
			want: []string{"spec.policyTypes[0]" + notSupported}},
		{name: "three policy types", mutate: func(np *networking.NetworkPolicy) {
			np.Spec.PolicyTypes = []networking.PolicyType{"Ingress", "Egress", "Ingress"}
		},
			want: []string{"spec.policyTypes" + invalid}},
		{name: "namespace required", mutate: func(np *networking.NetworkPolicy) { np.Namespace = "" }, want: []string{"metadata.namespace" + required}},
	})
	runUpdateCases(t, validNetworkPolicy, true, []updateCase[networking.NetworkPolicy]{
		{name: "rules change", mutate: func(np *networking.NetworkPolicy) { np.Spec.Ingress = nil }},
		{name: "new invalid cidr", mutate: func(np *networking.NetworkPolicy) { in(np).From[1].IPBlock.CIDR = "10.0.0.0/99" },
			want: []string{"spec.ingress[0].from[1].ipBlock.cidr" + invalid}},
	})
}

// The messages are Kubernetes' own: kubectl users see them.
func TestNetworkPolicyMessages(t *testing.T) {
	np := validNetworkPolicy()
	np.Spec.Ingress[0].From[1].IPBlock.CIDR = "300.0.0.0/8"
	np.Spec.Ingress[0].Ports[0].EndPort = ptr[int32](10)
	got := Validate(np, true).ToAggregate().Error()
	for _, want := range []string{
		`spec.ingress[0].from[1].ipBlock.cidr: Invalid value: "300.0.0.0/8": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)`,
		"spec.ingress[0].ports[0].endPort: Invalid value: 80: must be greater than or equal to `port`",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
}

func validServiceCIDR() *networking.ServiceCIDR {
	return &networking.ServiceCIDR{ObjectMeta: objectMeta("kubernetes", ""), Spec: networking.ServiceCIDRSpec{CIDRs: []string{"10.96.0.0/12"}}}
}

func TestValidateServiceCIDR(t *testing.T) {
	runCreateCases(t, validServiceCIDR, false, []objectCase[networking.ServiceCIDR]{
		{name: "valid"},
		{name: "dual stack", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = append(s.Spec.CIDRs, "fd00:10:96::/112") }},
		{name: "none", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = nil }, want: []string{"spec.cidrs" + required}},
		{name: "not canonical", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = []string{"10.96.0.1/12"} }, want: []string{"spec.cidrs[0]" + invalid}},
		{name: "not a cidr", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = []string{"10.96.0.0"} }, want: []string{"spec.cidrs[0]" + invalid}},
		{name: "two of a family", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = append(s.Spec.CIDRs, "10.128.0.0/16") }, want: []string{"spec.cidrs" + invalid}},
		{name: "three", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = []string{"10.0.0.0/8", "fd00::/64", "10.1.0.0/16"} }, want: []string{"spec.cidrs" + invalid}},
		{name: "namespaced", mutate: func(s *networking.ServiceCIDR) { s.Namespace = "default" }, want: []string{"metadata.namespace" + forbidden}},
	})
	runUpdateCases(t, validServiceCIDR, false, []updateCase[networking.ServiceCIDR]{
		{name: "labels", mutate: func(s *networking.ServiceCIDR) { s.Labels = map[string]string{"a": "b"} }},
		{name: "add the other family", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = append(s.Spec.CIDRs, "fd00::/108") }},
		{name: "change", mutate: func(s *networking.ServiceCIDR) { s.Spec.CIDRs = []string{"10.100.0.0/16"} }, want: []string{"spec.cidrs[0]" + invalid}},
	})
}

func validIPAddress() *networking.IPAddress {
	return &networking.IPAddress{ObjectMeta: objectMeta("10.96.0.10", ""), Spec: networking.IPAddressSpec{
		ParentRef: &networking.ParentReference{Resource: "services", Namespace: "kube-system", Name: "kube-dns"}}}
}

func TestValidateIPAddress(t *testing.T) {
	runCreateCases(t, validIPAddress, false, []objectCase[networking.IPAddress]{
		{name: "valid"},
		{name: "ipv6", mutate: func(ip *networking.IPAddress) { ip.Name = "fd00::a" }},
		{name: "not an ip", mutate: func(ip *networking.IPAddress) { ip.Name = "web" }, want: []string{"metadata.name" + invalid}},
		{name: "leading zeros", mutate: func(ip *networking.IPAddress) { ip.Name = "10.96.0.010" }, want: []string{"metadata.name" + invalid}},
		{name: "not canonical", mutate: func(ip *networking.IPAddress) { ip.Name = "fd00:0::a" }, want: []string{"metadata.name" + invalid}},
		{name: "no parent", mutate: func(ip *networking.IPAddress) { ip.Spec.ParentRef = nil }, want: []string{"spec.parentRef" + required}},
		{name: "parent without a name", mutate: func(ip *networking.IPAddress) { ip.Spec.ParentRef.Name = "" }, want: []string{"spec.parentRef.name" + required}},
		{name: "parent resource", mutate: func(ip *networking.IPAddress) { ip.Spec.ParentRef.Resource = "a/b" }, want: []string{"spec.parentRef.resource" + invalid}},
		{name: "parent group", mutate: func(ip *networking.IPAddress) { ip.Spec.ParentRef.Group = "Bad_Group" }, want: []string{"spec.parentRef.group" + invalid}},
	})
	runUpdateCases(t, validIPAddress, false, []updateCase[networking.IPAddress]{
		{name: "labels", mutate: func(ip *networking.IPAddress) { ip.Labels = map[string]string{"a": "b"} }},
		{name: "reparent", mutate: func(ip *networking.IPAddress) { ip.Spec.ParentRef.Name = "other" }, want: []string{"spec.parentRef" + invalid}},
	})
}
