// Package iptables programs a plan with iptables: the whole ruleset of skiff's own chains
// is written as one iptables-restore --noflush input and applied in one exec, so a sync is
// atomic (the kernel sees all of it or none of it) however many Services there are.
//
// The chains follow kube-proxy's iptables mode:
//
//	nat    PREROUTING, OUTPUT  → SKIFF-SERVICES: cluster IP → SKIFF-SVC-x (or SKIFF-SVL-x for
//	                              internalTrafficPolicy Local), external/LB IP → SKIFF-EXT-x,
//	                              then local addresses → SKIFF-NODEPORTS: node port → SKIFF-EXT-x
//	       SKIFF-EXT-x          externally-facing traffic: masquerade (policy Cluster) or keep
//	                              the source and use local endpoints (policy Local)
//	       SKIFF-SVC-x          masquerade from outside the pod CIDR; ClientIP affinity
//	                              (`recent`); `statistic --mode random` spread over SKIFF-SEP-y
//	       SKIFF-SEP-y          hairpin masquerade; DNAT to the endpoint
//	       POSTROUTING          → SKIFF-POSTROUTING: MASQUERADE what SKIFF-MARK-MASQ marked
//	filter INPUT, FORWARD, OUTPUT → SKIFF-SERVICES / SKIFF-EXTERNAL-SERVICES: REJECT new
//	                              connections to service ports without endpoints (TCP with a
//	                              reset, other protocols icmp-port-unreachable; DROP when
//	                              only a Local policy finds none), SKIFF-FORWARD: accept
//	                              marked and established service traffic, drop INVALID
package iptables

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/proxy/plan"
)

// Chain names. Every chain skiff owns starts with Prefix.
const (
	Prefix            = "SKIFF-"
	ChainServices     = "SKIFF-SERVICES"
	ChainExternal     = "SKIFF-EXTERNAL-SERVICES"
	ChainForward      = "SKIFF-FORWARD"
	ChainNodePorts    = "SKIFF-NODEPORTS"
	ChainPostrouting  = "SKIFF-POSTROUTING"
	ChainMarkMasq     = "SKIFF-MARK-MASQ"
	svcPrefix         = "SKIFF-SVC-"
	svlPrefix         = "SKIFF-SVL-"
	extPrefix         = "SKIFF-EXT-"
	sepPrefix         = "SKIFF-SEP-"
	masqMark          = "0x4000"
	masqMarkMask      = "0x4000/0x4000"
	localhostExcluded = "127.0.0.0/8"
)

// Jump is a rule in a built-in chain that leads to one of ours.
type Jump struct {
	Table, Chain string
	// Rule is the rule spec without -A/-I CHAIN.
	Rule string
}

// Jumps are the rules skiff keeps in the built-in chains.
var Jumps = []Jump{
	{"filter", "INPUT", `-m conntrack --ctstate NEW -m comment --comment "skiff external services" -j SKIFF-EXTERNAL-SERVICES`},
	{"filter", "FORWARD", `-m comment --comment "skiff forwarding rules" -j SKIFF-FORWARD`},
	{"filter", "FORWARD", `-m conntrack --ctstate NEW -m comment --comment "skiff service portals" -j SKIFF-SERVICES`},
	{"filter", "FORWARD", `-m conntrack --ctstate NEW -m comment --comment "skiff external services" -j SKIFF-EXTERNAL-SERVICES`},
	{"filter", "OUTPUT", `-m conntrack --ctstate NEW -m comment --comment "skiff service portals" -j SKIFF-SERVICES`},
	{"nat", "PREROUTING", `-m comment --comment "skiff service portals" -j SKIFF-SERVICES`},
	{"nat", "OUTPUT", `-m comment --comment "skiff service portals" -j SKIFF-SERVICES`},
	{"nat", "POSTROUTING", `-m comment --comment "skiff postrouting rules" -j SKIFF-POSTROUTING`},
}

// State is what is known of the kernel's tables before a sync.
type State struct {
	// Chains are skiff's chains present now, per table ("nat", "filter").
	Chains map[string]map[string]bool
	// MissingJumps are the Jumps not present (they are inserted by the sync).
	MissingJumps []Jump
}

// Rendered is the ruleset of a plan, and its full iptables-restore input.
type Rendered struct {
	Text []byte
	// Rules is how many rules skiff's chains hold afterwards.
	Rules int
	// Chains are the chains the input keeps, per table.
	Chains map[string]map[string]bool
	tables []*table
}

type table struct {
	name   string
	chains []string
	have   map[string]bool
	// Rules are kept per chain and written chain by chain: iptables-nft's restore is several
	// times slower when consecutive rules go to different chains.
	rules map[string]*bytes.Buffer
	size  int
	n     int
}

func newTable(name string) *table {
	return &table{name: name, have: map[string]bool{}, rules: map[string]*bytes.Buffer{}}
}

func (t *table) chain(name string) {
	if !t.have[name] {
		t.have[name] = true
		t.chains = append(t.chains, name)
		t.rules[name] = &bytes.Buffer{}
	}
}

// rule appends "-A chain args..." to a declared chain.
func (t *table) rule(chain string, args ...string) {
	b := t.rules[chain]
	l := b.Len()
	b.WriteString("-A ")
	b.WriteString(chain)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	b.WriteByte('\n')
	t.size += b.Len() - l
	t.n++
}

func comment(s string) string { return `-m comment --comment "` + s + `"` }

func proto(sp *plan.ServicePort) string {
	p := "tcp"
	switch sp.Protocol {
	case "UDP":
		p = "udp"
	case "SCTP":
		p = "sctp"
	}
	return p
}

// dst is "-d ip/32 -p tcp -m tcp --dport N".
func dst(ip string, sp *plan.ServicePort, port int32) string {
	p := proto(sp)
	return "-d " + ip + "/32 -p " + p + " -m " + p + " --dport " + strconv.Itoa(int(port))
}

func dport(sp *plan.ServicePort, port int32) string {
	p := proto(sp)
	return "-p " + p + " -m " + p + " --dport " + strconv.Itoa(int(port))
}

// probability is kube-proxy's format: enough digits that 1/n is exact enough.
func probability(n int) string { return strconv.FormatFloat(1.0/float64(n), 'f', 10, 64) }

// Render writes the restore input for p, deleting stale chains and inserting missing jumps
// as st says.
func Render(p *plan.Plan, st State) *Rendered {
	filter, nat := newTable("filter"), newTable("nat")
	for _, c := range []string{ChainServices, ChainExternal, ChainForward} {
		filter.chain(c)
	}
	for _, c := range []string{ChainServices, ChainNodePorts, ChainPostrouting, ChainMarkMasq} {
		nat.chain(c)
	}

	filter.rule(ChainForward, "-m conntrack --ctstate INVALID -j DROP")
	filter.rule(ChainForward, comment("skiff forwarding rules"), "-m mark --mark", masqMarkMask, "-j ACCEPT")
	filter.rule(ChainForward, comment("skiff forwarding conntrack rule"), "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
	nat.rule(ChainPostrouting, "-m mark ! --mark", masqMarkMask, "-j RETURN")
	nat.rule(ChainPostrouting, "-j MARK --xor-mark", masqMark)
	nat.rule(ChainPostrouting, comment("skiff service traffic requiring SNAT"), "-j MASQUERADE --random-fully")
	nat.rule(ChainMarkMasq, "-j MARK --or-mark", masqMark)

	for _, sp := range p.Services {
		servicePort(filter, nat, p.ClusterCIDR, sp)
	}
	// Node ports last: anything to a local address not matched above.
	nat.rule(ChainServices, comment("skiff service nodeports; NOTE: this must be the last rule in this chain"),
		"-m addrtype --dst-type LOCAL ! -d", localhostExcluded, "-j", ChainNodePorts)

	r := &Rendered{Chains: map[string]map[string]bool{"filter": filter.have, "nat": nat.have},
		tables: []*table{filter, nat}, Rules: filter.n + nat.n}
	r.Text, _ = r.write(st, nil)
	return r
}

// Partial is the restore input that turns the kernel from prev (the last applied
// rendering) into r: only chains whose rules changed are declared (which flushes them)
// and rewritten, chains prev had and r has not are deleted, the others are left as they
// are. changed is false when there is nothing to do.
func (r *Rendered) Partial(prev *Rendered) (text []byte, changed bool) {
	return r.write(State{Chains: prev.Chains}, prev)
}

// write renders the restore input. With prev, chains whose rules are the same as in prev
// are skipped.
func (r *Rendered) write(st State, prev *Rendered) ([]byte, bool) {
	var prevRules map[string]map[string]*bytes.Buffer
	if prev != nil {
		prevRules = map[string]map[string]*bytes.Buffer{}
		for _, t := range prev.tables {
			prevRules[t.name] = t.rules
		}
	}
	var b bytes.Buffer
	size := 0
	for _, t := range r.tables {
		size += t.size + 64*len(t.chains)
	}
	b.Grow(size)
	changed := false
	for _, t := range r.commitOrder(prev) {
		var stale, write []string
		for c := range st.Chains[t.name] {
			if !t.have[c] {
				stale = append(stale, c)
			}
		}
		sort.Strings(stale)
		for _, c := range t.chains {
			if prev != nil && prev.Chains[t.name][c] && bytes.Equal(t.rules[c].Bytes(), prevRules[t.name][c].Bytes()) {
				continue
			}
			write = append(write, c)
		}
		var jumps []Jump
		for _, j := range st.MissingJumps {
			if j.Table == t.name {
				jumps = append(jumps, j)
			}
		}
		if len(write)+len(stale)+len(jumps) > 0 {
			changed = true
		}
		b.WriteString("*" + t.name + "\n")
		for _, c := range write {
			b.WriteString(":" + c + " - [0:0]\n")
		}
		for _, c := range stale {
			b.WriteString(":" + c + " - [0:0]\n")
		}
		for _, j := range jumps {
			b.WriteString("-I " + j.Chain + " 1 " + j.Rule + "\n")
		}
		for _, c := range write {
			b.Write(t.rules[c].Bytes())
		}
		for _, c := range stale {
			b.WriteString("-X " + c + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.Bytes(), changed
}

// commitOrder is the order the tables are written in. Each table's COMMIT is a transaction
// of its own (in iptables-nft as in legacy), so between the two a packet meets the new
// rules of one table and the old of the other. nat goes first, so a Service gaining its
// first endpoint has its DNAT in place before its REJECT goes (while both are there the
// REJECT, which matches the Service address, never sees the DNATed packets); the other way
// round a connection attempted between the commits would match neither, and its SYN would
// be lost (the client retries after a second). When the filter table gains rules (a
// Service lost its endpoints: a new REJECT), filter goes first for the same reason in
// reverse. A sync with both kinds of change leaves one of them a window of a few
// milliseconds.
func (r *Rendered) commitOrder(prev *Rendered) []*table {
	var filter, nat *table
	for _, t := range r.tables {
		switch t.name {
		case "filter":
			filter = t
		case "nat":
			nat = t
		}
	}
	if filter == nil || nat == nil {
		return r.tables
	}
	if prev != nil {
		var old *table
		for _, t := range prev.tables {
			if t.name == "filter" {
				old = t
			}
		}
		if old != nil && gainsRules(old, filter) {
			return []*table{filter, nat}
		}
	}
	return []*table{nat, filter}
}

// gainsRules says whether cur holds a rule old does not.
func gainsRules(old, cur *table) bool {
	had := map[string]bool{}
	for c, buf := range old.rules {
		for _, l := range strings.Split(buf.String(), "\n") {
			had[c+" "+l] = true
		}
	}
	for c, buf := range cur.rules {
		for _, l := range strings.Split(buf.String(), "\n") {
			if !had[c+" "+l] {
				return true
			}
		}
	}
	return false
}

func servicePort(filter, nat *table, clusterCIDR string, sp *plan.ServicePort) {
	h := sp.Hash()
	svc, svl, ext := svcPrefix+h, svlPrefix+h, extPrefix+h
	cluster, local := sp.ClusterEndpoints, sp.LocalEndpoints
	name := sp.Name

	if len(cluster) == 0 {
		// Nothing can answer: refuse at once rather than let connections time out. TCP is
		// refused with a reset, not Kubernetes' icmp-port-unreachable: an ICMP error shares
		// the kernel's per-host rate limit (icmp_ratelimit, one a second after a burst) with
		// the redirects a node sends when it would route a Service address back out the
		// interface it came in on, so a client trying a few times in a row had its SYN go
		// unanswered until a retransmit. A reset is not rate-limited; the client sees the
		// same ECONNREFUSED.
		reject := "-j REJECT --reject-with icmp-port-unreachable"
		if sp.Protocol == "TCP" || sp.Protocol == "" {
			reject = "-j REJECT --reject-with tcp-reset"
		}
		why := comment(name + " has no endpoints")
		if sp.ClusterIP != "" {
			filter.rule(ChainServices, why, dst(sp.ClusterIP, sp, sp.Port), reject)
		}
		for _, ip := range sp.ExternalIPs {
			filter.rule(ChainExternal, why, dst(ip, sp, sp.Port), reject)
		}
		for _, ip := range sp.LoadBalancerIPs {
			filter.rule(ChainExternal, why, dst(ip, sp, sp.Port), reject)
		}
		if sp.NodePort != 0 {
			filter.rule(ChainExternal, why, "-m addrtype --dst-type LOCAL", dport(sp, sp.NodePort), reject)
		}
		return
	}

	// Cluster IP.
	if sp.ClusterIP != "" {
		if sp.InternalLocal && len(local) == 0 {
			filter.rule(ChainServices, comment(name+" has no local endpoints"), dst(sp.ClusterIP, sp, sp.Port), "-j DROP")
		} else {
			target := svc
			if sp.InternalLocal {
				target = svl
			}
			nat.rule(ChainServices, comment(name+" cluster IP"), dst(sp.ClusterIP, sp, sp.Port), "-j", target)
		}
	}

	// Externally-facing addresses.
	if sp.HasExternal() {
		nat.chain(ext)
		if sp.ExternalLocal {
			if clusterCIDR != "" {
				nat.rule(ext, comment("pod traffic for "+name+" external destinations"), "-s", clusterCIDR, "-j", svc)
			}
			nat.rule(ext, comment("masquerade LOCAL traffic for "+name+" external destinations"), "-m addrtype --src-type LOCAL -j", ChainMarkMasq)
			nat.rule(ext, comment("route LOCAL traffic for "+name+" external destinations"), "-m addrtype --src-type LOCAL -j", svc)
			if len(local) > 0 {
				nat.rule(ext, "-j", svl)
			} else {
				why := comment(name + " has no local endpoints")
				for _, ip := range sp.ExternalIPs {
					filter.rule(ChainExternal, why, dst(ip, sp, sp.Port), "-j DROP")
				}
				for _, ip := range sp.LoadBalancerIPs {
					filter.rule(ChainExternal, why, dst(ip, sp, sp.Port), "-j DROP")
				}
				if sp.NodePort != 0 {
					filter.rule(ChainExternal, why, "-m addrtype --dst-type LOCAL", dport(sp, sp.NodePort), "-j DROP")
				}
			}
		} else {
			nat.rule(ext, comment("masquerade traffic for "+name+" external destinations"), "-j", ChainMarkMasq)
			nat.rule(ext, "-j", svc)
		}
		for _, ip := range sp.ExternalIPs {
			nat.rule(ChainServices, comment(name+" external IP"), dst(ip, sp, sp.Port), "-j", ext)
		}
		for _, ip := range sp.LoadBalancerIPs {
			nat.rule(ChainServices, comment(name+" loadbalancer IP"), dst(ip, sp, sp.Port), "-j", ext)
		}
		if sp.NodePort != 0 {
			nat.rule(ChainNodePorts, comment(name), dport(sp, sp.NodePort), "-j", ext)
		}
	}

	// The load-balancing chains and one chain per endpoint they use.
	if sp.UsesClusterChain() {
		spread(nat, clusterCIDR, sp, svc, cluster)
	}
	if sp.UsesLocalChain() && len(local) > 0 {
		spread(nat, clusterCIDR, sp, svl, local)
	}
	p := proto(sp)
	for _, e := range sp.ChainEndpoints() {
		sep := sepPrefix + sp.EndpointHash(e)
		nat.chain(sep)
		nat.rule(sep, comment(name), "-s", e.IP+"/32", "-j", ChainMarkMasq)
		if sp.AffinitySeconds > 0 {
			nat.rule(sep, comment(name), "-p", p, "-m recent --name", sep, "--set --mask 255.255.255.255 --rsource -m", p, "-j DNAT --to-destination", e.String())
		} else {
			nat.rule(sep, comment(name), "-p", p, "-m", p, "-j DNAT --to-destination", e.String())
		}
	}
}

// spread fills a load-balancing chain: masquerade off-cluster sources to the cluster IP,
// stick to a recent endpoint (ClientIP affinity), else pick one at random, each with equal
// chance (rule i of n matches with probability 1/(n-i)).
func spread(nat *table, clusterCIDR string, sp *plan.ServicePort, chain string, eps []plan.Endpoint) {
	nat.chain(chain)
	if sp.ClusterIP != "" && clusterCIDR != "" {
		nat.rule(chain, comment(sp.Name+" cluster IP"), "! -s", clusterCIDR, dst(sp.ClusterIP, sp, sp.Port), "-j", ChainMarkMasq)
	}
	if sp.AffinitySeconds > 0 {
		secs := strconv.Itoa(int(sp.AffinitySeconds))
		for _, e := range eps {
			sep := sepPrefix + sp.EndpointHash(e)
			nat.rule(chain, comment(sp.Name+" -> "+e.String()), "-m recent --name", sep, "--rcheck --seconds", secs, "--reap --mask 255.255.255.255 --rsource -j", sep)
		}
	}
	for i, e := range eps {
		sep := sepPrefix + sp.EndpointHash(e)
		if n := len(eps) - i; n > 1 {
			nat.rule(chain, comment(sp.Name+" -> "+e.String()), "-m statistic --mode random --probability", probability(n), "-j", sep)
		} else {
			nat.rule(chain, comment(sp.Name+" -> "+e.String()), "-j", sep)
		}
	}
}
