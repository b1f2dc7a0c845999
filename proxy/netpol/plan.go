// Package netpol turns NetworkPolicies, Pods and Namespaces into what one node must
// enforce, and enforces it with nftables.
//
// Build is a pure function from the cluster's objects to a Plan: which of this node's pods
// are isolated in each direction, which policies apply to each, and each policy's rules as
// matches on sets of addresses. Render writes a Plan as one nft script that replaces the
// node's policy table atomically (Backend runs it). Pod addresses are always matched
// through sets (one per distinct peer selector, one per named port), never a rule per
// pod pair, so a rule's cost does not grow with the number of pods it selects.
//
// Semantics are Kubernetes' (networking.k8s.io/v1): a pod selected by no policy of a
// direction is not isolated in it; a selected pod accepts in that direction only what
// some selecting policy's rule allows (the union); a rule allows when one of its peers
// (or any peer, if none is given) and one of its ports (or any port) match. Replies to
// allowed connections are matched by conntrack, not by the rules.
package netpol

import (
	"crypto/sha256"
	"encoding/base32"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
)

// Direction is Ingress or Egress.
type Direction string

// Directions.
const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Input is everything a node's plan is built from (shared objects: Build never mutates).
type Input struct {
	// NodeName is this node: only its pods are isolated here (the other nodes isolate
	// theirs), but pods of every node are peers.
	NodeName   string
	Policies   []*networking.NetworkPolicy
	Pods       []*core.Pod
	Namespaces []*core.Namespace
	// Extra are endpoints that are not pods but answer for some (the cluster DNS that
	// skiff-proxy serves itself, standing in for kube-system's kube-dns pods): they are
	// peers like pods, never isolated.
	Extra []Endpoint
}

// Endpoint is an address that policies can select as if it were a pod.
type Endpoint struct {
	IP        string
	Namespace string
	Labels    map[string]string
	// Ports are its named ports.
	Ports []NamedPort
}

// NamedPort is a named container port.
type NamedPort struct {
	Name     string
	Protocol core.Protocol
	Port     int32
}

// Plan is what one node enforces.
type Plan struct {
	// Targets are this node's isolated pods, per direction, sorted by IP.
	Ingress, Egress []Target
	// Chains are the policies' chains (one per policy and direction that isolates some
	// local pod), sorted by name.
	Chains []*Chain
	// PeerSets are the address sets the chains' rules name, sorted by name.
	PeerSets []*PeerSet
	// PortSets are the named-port sets the chains' rules name, sorted by name.
	PortSets []*PortSet
}

// Target is an isolated local pod and the chains of the policies that select it.
type Target struct {
	IP  string
	Pod string // namespace/name, for comments
	// Chains are names of Plan.Chains, sorted: the pod accepts what any of them accepts.
	Chains []string
}

// Chain is one policy in one direction: its rules, each of which accepts what it matches.
type Chain struct {
	Name      string
	Policy    string // namespace/name
	Direction Direction
	Rules     []Rule
}

// Rule is one accept rule: the peer matches and the port matches.
type Rule struct {
	Peer Peer
	Port Port
}

// Peer is who may be on the other end: everyone (no peers given), the members of a
// PeerSet, or an address block minus exceptions.
type Peer struct {
	Set    string // PeerSet name; "" with CIDR "" means any peer
	CIDR   string
	Except []string
}

// Any says whether the peer matches everyone.
func (p Peer) Any() bool { return p.Set == "" && p.CIDR == "" }

// Port is which destination port: any port (Protocol ""),
// every port of a protocol (Port 0), a port or range (Port..EndPort), or a named port
// (Set: a PortSet holding each pod's address, protocol and port of that name).
type Port struct {
	Protocol core.Protocol
	Port     int32
	EndPort  int32
	Set      string
}

// PeerSet is a set of pod addresses chosen by one selector.
type PeerSet struct {
	Name string
	// Selector says what chose the members (for comments).
	Selector string
	IPs      []string // sorted, unique
}

// PortSet holds the (address, protocol, port) of every pod with a named port.
type PortSet struct {
	Name     string
	Protocol core.Protocol
	PortName string
	Elements []PortElement // sorted
}

// PortElement is one pod's port of a name.
type PortElement struct {
	IP   string
	Port int32
}

// Stats of a plan.
type Stats struct {
	Policies, IsolatedIngress, IsolatedEgress, Rules, SetElements int
}

// Stats counts a plan.
func (p *Plan) Stats() Stats {
	s := Stats{Policies: len(p.Chains), IsolatedIngress: len(p.Ingress), IsolatedEgress: len(p.Egress)}
	for _, c := range p.Chains {
		s.Rules += len(c.Rules)
	}
	for _, ps := range p.PeerSets {
		s.SetElements += len(ps.IPs)
	}
	for _, ps := range p.PortSets {
		s.SetElements += len(ps.Elements)
	}
	return s
}

// Empty says whether nothing is isolated here (no table is needed).
func (p *Plan) Empty() bool { return len(p.Ingress) == 0 && len(p.Egress) == 0 }

// member is a pod (or Extra endpoint) as the planner sees it.
type member struct {
	ip        string
	namespace string
	labels    map[string]string
	ports     []NamedPort
	local     bool
	name      string
}

type builder struct {
	in        Input
	members   []member
	byNS      map[string][]int // namespace → indexes in members
	nsLabels  map[string]map[string]string
	nsNames   []string
	peerSets  map[string]*PeerSet
	portSets  map[string]*PortSet
	targets   map[Direction]map[string]*Target
	chains    []*Chain
	selectors map[string]labels.Selector
}

// Build plans what in.NodeName enforces.
func Build(in Input) *Plan {
	b := &builder{in: in, byNS: map[string][]int{}, nsLabels: map[string]map[string]string{},
		peerSets: map[string]*PeerSet{}, portSets: map[string]*PortSet{},
		targets: map[Direction]map[string]*Target{Ingress: {}, Egress: {}}, selectors: map[string]labels.Selector{}}
	for _, ns := range in.Namespaces {
		b.nsLabels[ns.Name] = ns.Labels
		b.nsNames = append(b.nsNames, ns.Name)
	}
	slices.Sort(b.nsNames)
	for _, pod := range in.Pods {
		for _, m := range podMembers(pod, in.NodeName) {
			b.byNS[m.namespace] = append(b.byNS[m.namespace], len(b.members))
			b.members = append(b.members, m)
		}
	}
	for _, e := range in.Extra {
		if a, err := netip.ParseAddr(e.IP); err != nil || !a.Is4() {
			continue
		}
		b.byNS[e.Namespace] = append(b.byNS[e.Namespace], len(b.members))
		b.members = append(b.members, member{ip: e.IP, namespace: e.Namespace, labels: e.Labels, ports: e.Ports})
	}

	policies := slices.Clone(in.Policies)
	slices.SortFunc(policies, func(x, y *networking.NetworkPolicy) int {
		return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
	})
	for _, np := range policies {
		b.policy(np)
	}

	p := &Plan{Chains: b.chains}
	for _, d := range []Direction{Ingress, Egress} {
		var ts []Target
		for _, t := range b.targets[d] {
			slices.Sort(t.Chains)
			ts = append(ts, *t)
		}
		slices.SortFunc(ts, func(x, y Target) int { return compareIPs(x.IP, y.IP) })
		if d == Ingress {
			p.Ingress = ts
		} else {
			p.Egress = ts
		}
	}
	slices.SortFunc(p.Chains, func(x, y *Chain) int { return strings.Compare(x.Name, y.Name) })
	for _, s := range b.peerSets {
		p.PeerSets = append(p.PeerSets, s)
	}
	slices.SortFunc(p.PeerSets, func(x, y *PeerSet) int { return strings.Compare(x.Name, y.Name) })
	for _, s := range b.portSets {
		slices.SortFunc(s.Elements, func(x, y PortElement) int {
			if c := compareIPs(x.IP, y.IP); c != 0 {
				return c
			}
			return int(x.Port) - int(y.Port)
		})
		s.Elements = slices.Compact(s.Elements)
		p.PortSets = append(p.PortSets, s)
	}
	slices.SortFunc(p.PortSets, func(x, y *PortSet) int { return strings.Compare(x.Name, y.Name) })
	return p
}

// podMembers are a pod's addresses as policy members: running (or about to run) pods
// with an IPv4 address of their own. Host-network pods share the node's address and are
// neither selected nor selectable, as in most Kubernetes network plugins.
func podMembers(pod *core.Pod, node string) []member {
	if pod.Spec.HostNetwork || pod.Status.Phase == core.PodSucceeded || pod.Status.Phase == core.PodFailed {
		return nil
	}
	ips := []string{pod.Status.PodIP}
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	var ports []NamedPort
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "" {
				continue
			}
			proto := cp.Protocol
			if proto == "" {
				proto = core.ProtocolTCP
			}
			ports = append(ports, NamedPort{Name: cp.Name, Protocol: proto, Port: cp.ContainerPort})
		}
	}
	var out []member
	seen := map[string]bool{}
	for _, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil || !a.Is4() || seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		out = append(out, member{ip: a.String(), namespace: pod.Namespace, labels: pod.Labels, ports: ports,
			local: node != "" && pod.Spec.NodeName == node, name: pod.Namespace + "/" + pod.Name})
	}
	return out
}

func (b *builder) selector(ls *meta.LabelSelector) labels.Selector {
	key := labels.FormatLabelSelector(ls)
	if s, ok := b.selectors[key]; ok {
		return s
	}
	s, err := labels.SelectorFromLabelSelector(ls)
	if err != nil {
		// The API refuses invalid selectors; one that slipped through selects nothing
		// rather than everything.
		s = nothing{}
	}
	b.selectors[key] = s
	return s
}

// nothing is a selector that matches no labels.
type nothing struct{ labels.Selector }

func (nothing) Matches(labels.Labels) bool { return false }

func (b *builder) policy(np *networking.NetworkPolicy) {
	key := np.Namespace + "/" + np.Name
	sel := b.selector(&np.Spec.PodSelector)
	var local []member
	for _, i := range b.byNS[np.Namespace] {
		if m := b.members[i]; m.local && sel.Matches(labels.Set(m.labels)) {
			local = append(local, m)
		}
	}
	if len(local) == 0 {
		return // isolates nothing here
	}
	for _, d := range []Direction{Ingress, Egress} {
		if !hasType(np, d) {
			continue
		}
		c := &Chain{Name: chainName(key, d), Policy: key, Direction: d}
		if d == Ingress {
			for _, r := range np.Spec.Ingress {
				c.Rules = append(c.Rules, b.rules(np, r.From, r.Ports)...)
			}
		} else {
			for _, r := range np.Spec.Egress {
				c.Rules = append(c.Rules, b.rules(np, r.To, r.Ports)...)
			}
		}
		b.chains = append(b.chains, c)
		for _, m := range local {
			t := b.targets[d][m.ip]
			if t == nil {
				t = &Target{IP: m.ip, Pod: m.name}
				b.targets[d][m.ip] = t
			}
			t.Chains = append(t.Chains, c.Name)
		}
	}
}

// hasType: policyTypes as defaulted by the API server; an object stored without them
// (written around the API) is read as Kubernetes' default would have made it.
func hasType(np *networking.NetworkPolicy, d Direction) bool {
	types := np.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networking.PolicyType{networking.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			types = append(types, networking.PolicyTypeEgress)
		}
	}
	want := networking.PolicyTypeIngress
	if d == Egress {
		want = networking.PolicyTypeEgress
	}
	return slices.Contains(types, want)
}

// rules are one policy rule's accept rules: every peer with every port.
func (b *builder) rules(np *networking.NetworkPolicy, peers []networking.NetworkPolicyPeer, ports []networking.NetworkPolicyPort) []Rule {
	var ps []Peer
	if len(peers) == 0 {
		ps = []Peer{{}}
	}
	for _, p := range peers {
		if peer, ok := b.peer(np.Namespace, p); ok {
			ps = append(ps, peer)
		}
	}
	var pts []Port
	if len(ports) == 0 {
		pts = []Port{{}}
	}
	for _, p := range ports {
		pts = append(pts, b.port(p))
	}
	var out []Rule
	for _, peer := range ps {
		for _, port := range pts {
			out = append(out, Rule{Peer: peer, Port: port})
		}
	}
	return out
}

// peer turns a NetworkPolicyPeer into a Peer; ok is false for one that can match no IPv4
// address (an IPv6 block: skiff's pod network is IPv4).
func (b *builder) peer(policyNS string, p networking.NetworkPolicyPeer) (Peer, bool) {
	if p.IPBlock != nil {
		cidr, err := netip.ParsePrefix(p.IPBlock.CIDR)
		if err != nil || !cidr.Addr().Is4() {
			return Peer{}, false
		}
		out := Peer{CIDR: cidr.Masked().String()}
		for _, e := range p.IPBlock.Except {
			if ex, err := netip.ParsePrefix(e); err == nil && ex.Addr().Is4() {
				out.Except = append(out.Except, ex.Masked().String())
			}
		}
		slices.Sort(out.Except)
		return out, true
	}
	// podSelector alone: pods of the policy's namespace; namespaceSelector alone: every
	// pod of the selected namespaces; both: the selected pods of the selected namespaces.
	var namespaces []string
	desc := ""
	if p.NamespaceSelector != nil {
		nsSel := b.selector(p.NamespaceSelector)
		for _, ns := range b.nsNames {
			if nsSel.Matches(labels.Set(b.nsLabels[ns])) {
				namespaces = append(namespaces, ns)
			}
		}
		desc = "namespaces " + selectorText(p.NamespaceSelector)
	} else {
		namespaces = []string{policyNS}
		desc = "namespace " + policyNS
	}
	podSel := labels.Everything()
	if p.PodSelector != nil {
		podSel = b.selector(p.PodSelector)
		desc += " pods " + selectorText(p.PodSelector)
	}
	name := setName("peer", desc)
	if _, ok := b.peerSets[name]; ok {
		return Peer{Set: name}, true
	}
	var ips []string
	for _, ns := range namespaces {
		for _, i := range b.byNS[ns] {
			if m := b.members[i]; podSel.Matches(labels.Set(m.labels)) {
				ips = append(ips, m.ip)
			}
		}
	}
	// Extra endpoints may sit in namespaces no Namespace object lists yet (kube-system
	// always exists in a real cluster): a namespace selector reads their namespace's
	// labels, and a namespace the cache lacks gets the name label every namespace has.
	if p.NamespaceSelector != nil {
		for _, e := range b.in.Extra {
			if _, known := b.nsLabels[e.Namespace]; known {
				continue
			}
			nsl := map[string]string{"kubernetes.io/metadata.name": e.Namespace}
			if b.selector(p.NamespaceSelector).Matches(labels.Set(nsl)) && podSel.Matches(labels.Set(e.Labels)) {
				ips = append(ips, e.IP)
			}
		}
	}
	slices.SortFunc(ips, compareIPs)
	b.peerSets[name] = &PeerSet{Name: name, Selector: desc, IPs: slices.Compact(ips)}
	return Peer{Set: name}, true
}

func selectorText(ls *meta.LabelSelector) string {
	s := labels.FormatLabelSelector(ls)
	if s == "<none>" {
		return "(all)"
	}
	return s
}

func (b *builder) port(p networking.NetworkPolicyPort) Port {
	proto := core.ProtocolTCP
	if p.Protocol != nil {
		proto = *p.Protocol
	}
	switch {
	case p.Port == nil:
		return Port{Protocol: proto}
	case p.Port.Type == intstr.Int:
		out := Port{Protocol: proto, Port: p.Port.IntVal}
		if p.EndPort != nil && *p.EndPort > p.Port.IntVal {
			out.EndPort = *p.EndPort
		}
		return out
	}
	name := p.Port.StrVal
	set := "port-" + strings.ToLower(string(proto)) + "-" + name
	if _, ok := b.portSets[set]; !ok {
		ps := &PortSet{Name: set, Protocol: proto, PortName: name}
		for _, m := range b.members {
			for _, np := range m.ports {
				if np.Name == name && np.Protocol == proto {
					ps.Elements = append(ps.Elements, PortElement{IP: m.ip, Port: np.Port})
				}
			}
		}
		b.portSets[set] = ps
	}
	return Port{Protocol: proto, Set: set}
}

// chainName is a policy's chain in a direction: short, stable, and safe as an nft name.
func chainName(policy string, d Direction) string {
	prefix := "in-"
	if d == Egress {
		prefix = "out-"
	}
	return prefix + hash(policy)
}

func setName(kind, key string) string { return kind + "-" + hash(key) }

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:])[:16])
}

func compareIPs(a, b string) int {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	if errX != nil || errY != nil {
		return strings.Compare(a, b)
	}
	return x.Compare(y)
}

// String is the port as the comment of its rule shows it.
func (p Port) String() string {
	switch {
	case p.Protocol == "":
		return "any port"
	case p.Set != "":
		return string(p.Protocol) + "/" + strings.TrimPrefix(p.Set, "port-"+strings.ToLower(string(p.Protocol))+"-")
	case p.Port == 0:
		return string(p.Protocol)
	case p.EndPort != 0:
		return string(p.Protocol) + "/" + strconv.Itoa(int(p.Port)) + "-" + strconv.Itoa(int(p.EndPort))
	}
	return string(p.Protocol) + "/" + strconv.Itoa(int(p.Port))
}
