package netpol

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
)

const node = "node-a"

func pod(ns, name, ip, nodeName string, lbls map[string]string, ports ...core.ContainerPort) *core.Pod {
	return &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, Labels: lbls},
		Spec:       core.PodSpec{NodeName: nodeName, Containers: []core.Container{{Name: "c", Ports: ports}}},
		Status:     core.PodStatus{Phase: core.PodRunning, PodIP: ip, PodIPs: []core.PodIP{{IP: ip}}},
	}
}

func namespace(name string, lbls map[string]string) *core.Namespace {
	l := map[string]string{"kubernetes.io/metadata.name": name}
	for k, v := range lbls {
		l[k] = v
	}
	return &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: name, Labels: l}}
}

func policy(ns, name string, sel map[string]string, tweak func(*networking.NetworkPolicySpec)) *networking.NetworkPolicy {
	np := &networking.NetworkPolicy{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: networking.NetworkPolicySpec{PodSelector: meta.LabelSelector{MatchLabels: sel}}}
	if tweak != nil {
		tweak(&np.Spec)
	}
	return np
}

func ptr[T any](v T) *T { return &v }

func tcp(port int) networking.NetworkPolicyPort {
	p := intstr.FromInt(port)
	return networking.NetworkPolicyPort{Protocol: ptr(core.ProtocolTCP), Port: &p}
}

func named(name string) networking.NetworkPolicyPort {
	p := intstr.FromString(name)
	return networking.NetworkPolicyPort{Protocol: ptr(core.ProtocolTCP), Port: &p}
}

func sel(kv ...string) *meta.LabelSelector {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &meta.LabelSelector{MatchLabels: m}
}

// cluster: namespaces default and team-b (team=b); web and db pods here, a client on
// another node, and a pod of team-b here.
func cluster() Input {
	return Input{
		NodeName:   node,
		Namespaces: []*core.Namespace{namespace("default", nil), namespace("team-b", map[string]string{"team": "b"})},
		Pods: []*core.Pod{
			pod("default", "web", "10.244.1.2", node, map[string]string{"app": "web"}, core.ContainerPort{Name: "http", ContainerPort: 8080}),
			pod("default", "db", "10.244.1.3", node, map[string]string{"app": "db"}),
			pod("default", "client", "10.244.2.5", "node-b", map[string]string{"role": "client"}),
			pod("team-b", "api", "10.244.1.9", node, map[string]string{"role": "client"}, core.ContainerPort{Name: "http", ContainerPort: 9090}),
			pod("team-b", "batch", "10.244.2.6", "node-b", map[string]string{"app": "batch"}),
		},
	}
}

// view is a plan in the words a reader checks: targets and each chain's rules as text.
func view(p *Plan) map[string][]string {
	sets := map[string]string{}
	for _, s := range p.PeerSets {
		sets[s.Name] = "{" + strings.Join(s.IPs, " ") + "}"
	}
	ports := map[string]string{}
	for _, s := range p.PortSets {
		var els []string
		for _, e := range s.Elements {
			els = append(els, e.IP+":"+itoa(e.Port))
		}
		ports[s.Name] = "{" + strings.Join(els, " ") + "}"
	}
	out := map[string][]string{}
	chains := map[string]*Chain{}
	for _, c := range p.Chains {
		chains[c.Name] = c
	}
	for _, d := range []Direction{Ingress, Egress} {
		ts := p.Ingress
		if d == Egress {
			ts = p.Egress
		}
		for _, t := range ts {
			key := string(d) + " " + t.IP
			for _, cn := range t.Chains {
				c := chains[cn]
				if len(c.Rules) == 0 {
					out[key] = append(out[key], c.Policy+": deny")
				}
				for _, r := range c.Rules {
					peer := "any"
					switch {
					case r.Peer.Set != "":
						peer = sets[r.Peer.Set]
					case r.Peer.CIDR != "":
						peer = r.Peer.CIDR
						if len(r.Peer.Except) > 0 {
							peer += " except " + strings.Join(r.Peer.Except, ",")
						}
					}
					port := r.Port.String()
					if r.Port.Set != "" {
						port += " " + ports[r.Port.Set]
					}
					out[key] = append(out[key], c.Policy+": "+peer+" "+port)
				}
			}
		}
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

func itoa(n int32) string { return intstr.FromInt(int(n)).String() }

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		policies []*networking.NetworkPolicy
		want     map[string][]string
	}{
		{"no policies: nothing isolated", nil, map[string][]string{}},
		{"default deny ingress: empty podSelector, no rules",
			[]*networking.NetworkPolicy{policy("default", "deny", nil, func(s *networking.NetworkPolicySpec) {
				s.PolicyTypes = []networking.PolicyType{"Ingress"}
			})},
			map[string][]string{
				"ingress 10.244.1.2": {"default/deny: deny"},
				"ingress 10.244.1.3": {"default/deny: deny"},
			}},
		{"default deny egress",
			[]*networking.NetworkPolicy{policy("default", "deny", nil, func(s *networking.NetworkPolicySpec) {
				s.PolicyTypes = []networking.PolicyType{"Egress"}
			})},
			map[string][]string{
				"egress 10.244.1.2": {"default/deny: deny"},
				"egress 10.244.1.3": {"default/deny: deny"},
			}},
		{"podSelector peer and port: pods of the policy's namespace only",
			[]*networking.NetworkPolicy{policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
				s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}},
					Ports: []networking.NetworkPolicyPort{tcp(8080)}}}
			})},
			map[string][]string{"ingress 10.244.1.2": {"default/web: {10.244.2.5} TCP/8080"}}},
		{"namespaceSelector peer: every pod of the selected namespaces",
			[]*networking.NetworkPolicy{policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
				s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{NamespaceSelector: sel("team", "b")}}}}
			})},
			map[string][]string{"ingress 10.244.1.2": {"default/web: {10.244.1.9 10.244.2.6} any port"}}},
		{"both selectors in one peer: selected pods of selected namespaces",
			[]*networking.NetworkPolicy{policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
				s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{
					{NamespaceSelector: &meta.LabelSelector{}, PodSelector: sel("role", "client")}}}}
			})},
			map[string][]string{"ingress 10.244.1.2": {"default/web: {10.244.1.9 10.244.2.5} any port"}}},
		{"ipBlock with except, endPort, protocol without port",
			[]*networking.NetworkPolicy{policy("default", "db", map[string]string{"app": "db"}, func(s *networking.NetworkPolicySpec) {
				p := intstr.FromInt(5000)
				s.Egress = []networking.NetworkPolicyEgressRule{{
					To:    []networking.NetworkPolicyPeer{{IPBlock: &networking.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.244.0.0/16"}}}},
					Ports: []networking.NetworkPolicyPort{{Protocol: ptr(core.ProtocolTCP), Port: &p, EndPort: ptr[int32](5100)}, {Protocol: ptr(core.ProtocolUDP)}},
				}}
				s.PolicyTypes = []networking.PolicyType{"Egress"}
			})},
			map[string][]string{"egress 10.244.1.3": {
				"default/db: 10.0.0.0/8 except 10.244.0.0/16 TCP/5000-5100",
				"default/db: 10.0.0.0/8 except 10.244.0.0/16 UDP",
			}}},
		{"named port: each pod's own number",
			[]*networking.NetworkPolicy{policy("default", "web", nil, func(s *networking.NetworkPolicySpec) {
				s.Ingress = []networking.NetworkPolicyIngressRule{{Ports: []networking.NetworkPolicyPort{named("http")}}}
			})},
			map[string][]string{
				"ingress 10.244.1.2": {"default/web: any TCP/http {10.244.1.2:8080 10.244.1.9:9090}"},
				"ingress 10.244.1.3": {"default/web: any TCP/http {10.244.1.2:8080 10.244.1.9:9090}"},
			}},
		{"policies add up; the pod chain lists each; pods elsewhere are not isolated here",
			[]*networking.NetworkPolicy{
				policy("default", "a", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
					s.Ingress = []networking.NetworkPolicyIngressRule{{Ports: []networking.NetworkPolicyPort{tcp(80)}}}
				}),
				policy("default", "b", nil, func(s *networking.NetworkPolicySpec) {
					s.Ingress = []networking.NetworkPolicyIngressRule{{Ports: []networking.NetworkPolicyPort{tcp(443)}}}
				}),
				policy("team-b", "c", map[string]string{"app": "batch"}, nil), // batch runs on node-b
			},
			map[string][]string{
				"ingress 10.244.1.2": {"default/a: any TCP/80", "default/b: any TCP/443"},
				"ingress 10.244.1.3": {"default/b: any TCP/443"},
			}},
		{"egress rules without policyTypes imply Egress too",
			[]*networking.NetworkPolicy{policy("team-b", "api", nil, func(s *networking.NetworkPolicySpec) {
				s.Egress = []networking.NetworkPolicyEgressRule{{To: []networking.NetworkPolicyPeer{{PodSelector: sel("app", "batch")}}}}
			})},
			map[string][]string{
				"ingress 10.244.1.9": {"team-b/api: deny"},
				"egress 10.244.1.9":  {"team-b/api: {10.244.2.6} any port"},
			}},
		{"a peer selecting nothing allows nothing",
			[]*networking.NetworkPolicy{policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
				s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("app", "nobody")}}}}
			})},
			map[string][]string{"ingress 10.244.1.2": {"default/web: {} any port"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := cluster()
			in.Policies = tt.policies
			got := view(Build(in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan:\n got  %v\n want %v", got, tt.want)
			}
		})
	}
}

// Pods that cannot hold traffic (host network, finished, without an address) are neither
// isolated nor peers; a selector shared by many policies makes one set.
func TestBuildMembersAndSharedSets(t *testing.T) {
	in := cluster()
	hostNet := pod("default", "agent", "10.250.0.11", node, map[string]string{"role": "client"})
	hostNet.Spec.HostNetwork = true
	done := pod("default", "job", "10.244.1.7", node, map[string]string{"role": "client"})
	done.Status.Phase = core.PodSucceeded
	pending := pod("default", "new", "", node, map[string]string{"role": "client"})
	pending.Status.PodIPs = nil
	in.Pods = append(in.Pods, hostNet, done, pending)
	allow := func(name string) *networking.NetworkPolicy {
		return policy("default", name, nil, func(s *networking.NetworkPolicySpec) {
			s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}}}}
		})
	}
	in.Policies = []*networking.NetworkPolicy{allow("one"), allow("two")}
	p := Build(in)
	if len(p.PeerSets) != 1 || strings.Join(p.PeerSets[0].IPs, " ") != "10.244.2.5" {
		t.Fatalf("peer sets: %+v, want one set holding only 10.244.2.5", p.PeerSets)
	}
	var isolated []string
	for _, tg := range p.Ingress {
		isolated = append(isolated, tg.IP)
	}
	if got := strings.Join(isolated, " "); got != "10.244.1.2 10.244.1.3" {
		t.Errorf("isolated: %s, want web and db only", got)
	}
}

// The cluster DNS that skiff-proxy serves is a peer as kube-system's kube-dns pods would
// be: a policy allowing egress to them allows it, one that does not, blocks it.
func TestBuildExtraEndpoints(t *testing.T) {
	in := cluster()
	in.Extra = []Endpoint{{IP: "10.96.0.10", Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"},
		Ports: []NamedPort{{Name: "dns", Protocol: core.ProtocolUDP, Port: 53}}}}
	udpDNS := intstr.FromString("dns")
	in.Policies = []*networking.NetworkPolicy{policy("default", "dns", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
		s.PolicyTypes = []networking.PolicyType{"Egress"}
		s.Egress = []networking.NetworkPolicyEgressRule{{
			To:    []networking.NetworkPolicyPeer{{NamespaceSelector: sel("kubernetes.io/metadata.name", "kube-system"), PodSelector: sel("k8s-app", "kube-dns")}},
			Ports: []networking.NetworkPolicyPort{{Protocol: ptr(core.ProtocolUDP), Port: &udpDNS}},
		}}
	})}
	got := view(Build(in))
	want := map[string][]string{"egress 10.244.1.2": {"default/dns: {10.96.0.10} UDP/dns {10.96.0.10:53}"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan:\n got  %v\n want %v", got, want)
	}
}
