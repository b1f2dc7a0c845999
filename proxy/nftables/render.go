// Package nftables programs a plan with nftables, as kube-proxy's nftables mode does: one
// `nft -f` transaction per sync writes table `ip skiff`, which holds everything skiff
// owns, so the kernel switches from the old ruleset to the new one atomically. A full sync
// rewrites every chain and map; a partial one touches only the chains and map elements
// that changed.
//
// Dispatch is by verdict maps rather than rule lists (one lookup whatever the number of
// Services), and endpoints are picked by numgen inside the Service's chain, so there is
// one chain per Service port, not one per endpoint:
//
//	nat-prerouting, nat-output (dstnat) → services:
//	    ip daddr . meta l4proto . th dport vmap @service-ips       cluster/external/LB IPs
//	    fib daddr type local ... vmap @service-nodeports            node ports
//	service-<hash>-<ns>/<svc>/<proto>/<port>   masquerade off-cluster sources, then
//	    numgen random mod N-i == 0 ... dnat to endpoint i (each endpoint 1/N)
//	local-<hash>-...                           the same over the node's own endpoints
//	external-<hash>-...                        externalTrafficPolicy handling
//	endpoint-<hash>-...__<ip>/<port>           only with ClientIP affinity: the endpoint's
//	    dynamic set of clients (update @affinity-...), then dnat
//	filter-input/forward/output → service-endpoints-check, nodeport-endpoints-check:
//	    @no-endpoint-services / @no-endpoint-nodeports → reject (or drop)
//	nat-postrouting (srcnat) → masquerading: hairpin (ip saddr . ip daddr @hairpin, a pod
//	    reaching itself) and what mark-for-masquerade marked are masqueraded
package nftables

import (
	"bytes"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/proxy/plan"
)

// Table is skiff's table (family ip).
const Table = "skiff"

const masqBit = "0x00004000"

// State is what the table holds before a sync.
type State struct {
	Exists bool
	Chains map[string]bool
	Sets   map[string]bool
}

// Rendered is the ruleset of a plan, and its full nft -f input.
type Rendered struct {
	Text  []byte
	Rules int // rules plus map and set elements
	// Chains and Sets are what the table holds afterwards.
	Chains, Sets map[string]bool
	w            *writer
}

// base chains: name → declaration.
var baseChains = [][2]string{
	{"nat-prerouting", "{ type nat hook prerouting priority dstnat; policy accept; }"},
	{"nat-output", "{ type nat hook output priority -100; policy accept; }"},
	{"nat-postrouting", "{ type nat hook postrouting priority srcnat; policy accept; }"},
	{"filter-input", "{ type filter hook input priority filter - 1; policy accept; }"},
	{"filter-forward", "{ type filter hook forward priority filter - 1; policy accept; }"},
	{"filter-output", "{ type filter hook output priority filter - 1; policy accept; }"},
}

var fixedChains = []string{"services", "mark-for-masquerade", "masquerading", "service-endpoints-check",
	"nodeport-endpoints-check", "reject-chain", "forward"}

// The maps, and the set, whose elements skiff writes (the affinity sets are filled by the
// kernel).
type collection struct{ kind, name, decl string }

var collections = []collection{
	{"map", "service-ips", "{ type ipv4_addr . inet_proto . inet_service : verdict; }"},
	{"map", "service-nodeports", "{ type inet_proto . inet_service : verdict; }"},
	{"map", "no-endpoint-services", "{ type ipv4_addr . inet_proto . inet_service : verdict; }"},
	{"map", "no-endpoint-nodeports", "{ type inet_proto . inet_service : verdict; }"},
	{"set", "hairpin", "{ type ipv4_addr . ipv4_addr; }"},
}

type writer struct {
	chains    []string
	haveChain map[string]bool
	rules     map[string]*bytes.Buffer
	sets      map[string]string // affinity sets: name → declaration
	// elements per map or set, in order, and by key (→ the whole element).
	elements map[string][]string
	keys     map[string]map[string]string
	n        int
}

func (w *writer) chain(name string) {
	if !w.haveChain[name] {
		w.haveChain[name] = true
		w.chains = append(w.chains, name)
		w.rules[name] = &bytes.Buffer{}
	}
}

func (w *writer) rule(chain string, parts ...string) {
	b := w.rules[chain]
	b.WriteString("add rule ip " + Table + " " + chain)
	for _, p := range parts {
		b.WriteByte(' ')
		b.WriteString(p)
	}
	b.WriteByte('\n')
	w.n++
}

// element adds "key : verdict" (or a set's "key") to m. A key already there keeps its
// first value (two Services may claim one external IP and port; the API server keeps
// cluster IPs and node ports unique): a duplicate would fail the whole transaction.
func (w *writer) element(m, e string) {
	key, _, _ := strings.Cut(e, " : ")
	if _, dup := w.keys[m][key]; dup {
		return
	}
	w.keys[m][key] = e
	w.elements[m] = append(w.elements[m], e)
	w.n++
}

func proto(sp *plan.ServicePort) string { return strings.ToLower(string(sp.Protocol)) }

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// suffix names one service port's chains, readable as kube-proxy's: HASH-ns/svc/tcp/port.
func suffix(sp *plan.ServicePort) string {
	port := sp.PortName
	if port == "" {
		port = itoa(sp.Port)
	}
	return sp.Hash()[:8] + "-" + sp.Namespace + "/" + sp.Service + "/" + proto(sp) + "/" + port
}

func endpointChain(sp *plan.ServicePort, e plan.Endpoint) string {
	return "endpoint-" + sp.EndpointHash(e)[:8] + "-" + strings.TrimPrefix(suffix(sp), sp.Hash()[:8]+"-") + "__" + e.IP + "/" + itoa(e.Port)
}

func affinitySet(sp *plan.ServicePort, e plan.Endpoint) string {
	// The timeout is part of the name: a set's timeout cannot change in place.
	return "affinity-" + plan.Hash(sp.EndpointHash(e)+"/"+itoa(sp.AffinitySeconds))
}

// Render computes the ruleset of p and the transaction that writes it whole over the
// table as st describes it.
func Render(p *plan.Plan, st State) *Rendered {
	w := &writer{haveChain: map[string]bool{}, rules: map[string]*bytes.Buffer{}, sets: map[string]string{},
		elements: map[string][]string{}, keys: map[string]map[string]string{}}
	for _, c := range collections {
		w.keys[c.name] = map[string]string{}
	}
	for _, c := range baseChains {
		w.chain(c[0])
	}
	for _, c := range fixedChains {
		w.chain(c)
	}
	w.rule("nat-prerouting", "jump services")
	w.rule("nat-output", "jump services")
	w.rule("nat-postrouting", "jump masquerading")
	w.rule("masquerading", "ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random")
	w.rule("masquerading", "meta mark &", masqBit, "== 0 return")
	w.rule("masquerading", "meta mark set meta mark ^", masqBit)
	w.rule("masquerading", "masquerade fully-random")
	w.rule("mark-for-masquerade", "meta mark set meta mark |", masqBit)
	w.rule("filter-input", "ct state new jump nodeport-endpoints-check")
	w.rule("filter-input", "ct state new jump service-endpoints-check")
	w.rule("filter-forward", "ct state new jump service-endpoints-check")
	w.rule("filter-forward", "jump forward")
	w.rule("filter-output", "ct state new jump service-endpoints-check")
	w.rule("forward", "ct state invalid drop")
	// TCP gets a reset, not an ICMP error: see the iptables backend (ICMP rate limit).
	w.rule("reject-chain", "meta l4proto tcp reject with tcp reset")
	w.rule("reject-chain", "reject")
	w.rule("services", "ip daddr . meta l4proto . th dport vmap @service-ips")
	w.rule("services", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports")
	w.rule("service-endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
	w.rule("nodeport-endpoints-check", "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports")

	for _, sp := range p.Services {
		servicePort(w, p.ClusterCIDR, sp)
	}
	r := &Rendered{Rules: w.n, Chains: w.haveChain, Sets: map[string]bool{}, w: w}
	for s := range w.sets {
		r.Sets[s] = true
	}
	r.Text, _ = r.write(st, nil)
	return r
}

// Partial is the transaction that turns the table from prev (the last applied rendering)
// into r, touching only what changed; changed is false when nothing did.
func (r *Rendered) Partial(prev *Rendered) (text []byte, changed bool) {
	return r.write(State{Exists: true, Chains: prev.Chains, Sets: prev.Sets}, prev)
}

func (r *Rendered) write(st State, prev *Rendered) ([]byte, bool) {
	w := r.w
	var b bytes.Buffer
	b.Grow(w.n * 96)
	add := func(parts ...string) {
		for i, p := range parts {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p)
		}
		b.WriteByte('\n')
	}
	changed := false
	// Declarations ("add" of what exists is a no-op).
	if prev == nil {
		add("add table ip", Table)
		for _, c := range baseChains {
			add("add chain ip", Table, c[0], c[1])
		}
		for _, c := range collections {
			add("add", c.kind, "ip", Table, c.name, c.decl)
		}
	}
	var newChains, rewrite []string
	for _, c := range w.chains {
		if prev != nil && prev.Chains[c] {
			if !bytes.Equal(w.rules[c].Bytes(), prev.w.rules[c].Bytes()) {
				rewrite = append(rewrite, c)
			}
			continue
		}
		if prev != nil || !isBase(c) {
			newChains = append(newChains, c)
		}
		rewrite = append(rewrite, c)
	}
	for _, c := range newChains {
		add("add chain ip", Table, c)
	}
	setNames := make([]string, 0, len(w.sets))
	for s := range w.sets {
		if prev == nil || !prev.Sets[s] {
			setNames = append(setNames, s)
		}
	}
	sort.Strings(setNames)
	for _, s := range setNames {
		// Affinity sets are never flushed: that would forget every client.
		add("add set ip", Table, s, w.sets[s])
	}
	var staleChains, staleSets []string
	for c := range st.Chains {
		if !w.haveChain[c] {
			staleChains = append(staleChains, c)
		}
	}
	for s := range st.Sets {
		if _, ok := w.sets[s]; !ok && !isCollection(s) {
			staleSets = append(staleSets, s)
		}
	}
	sort.Strings(staleChains)
	sort.Strings(staleSets)
	// Flush what is rewritten and what goes (stale chains may jump to each other).
	for _, c := range rewrite {
		if prev != nil && !prev.Chains[c] {
			continue // new: empty
		}
		add("flush chain ip", Table, c)
	}
	for _, c := range staleChains {
		add("flush chain ip", Table, c)
	}
	// Elements: a full write flushes and refills; a partial one deletes what went or changed.
	var adds []collection
	var addElems [][]string
	for _, c := range collections {
		var want []string
		if prev == nil {
			add("flush", c.kind, "ip", Table, c.name)
			want = w.elements[c.name]
		} else {
			var del []string
			for k, e := range prev.w.keys[c.name] {
				if cur, ok := w.keys[c.name][k]; !ok || cur != e {
					del = append(del, k)
				}
			}
			sort.Strings(del)
			if len(del) > 0 {
				add("delete element ip", Table, c.name, "{", strings.Join(del, ", "), "}")
				changed = true
			}
			for _, e := range w.elements[c.name] {
				k, _, _ := strings.Cut(e, " : ")
				if prev.w.keys[c.name][k] != e {
					want = append(want, e)
				}
			}
		}
		if len(want) > 0 {
			adds = append(adds, c)
			addElems = append(addElems, want)
		}
	}
	for _, c := range staleChains {
		add("delete chain ip", Table, c)
	}
	for _, s := range staleSets {
		add("delete set ip", Table, s)
	}
	for _, c := range rewrite {
		b.Write(w.rules[c].Bytes())
	}
	for i, c := range adds {
		// Elements in batches: one line per element is slower to parse.
		els := addElems[i]
		for len(els) > 0 {
			n := min(len(els), 256)
			add("add element ip", Table, c.name, "{", strings.Join(els[:n], ", "), "}")
			els = els[n:]
		}
	}
	if len(rewrite)+len(newChains)+len(setNames)+len(staleChains)+len(staleSets)+len(adds) > 0 {
		changed = true
	}
	return b.Bytes(), changed
}

func isBase(c string) bool {
	for _, b := range baseChains {
		if b[0] == c {
			return true
		}
	}
	return false
}

func isCollection(name string) bool {
	for _, c := range collections {
		if c.name == name {
			return true
		}
	}
	return false
}

func servicePort(w *writer, clusterCIDR string, sp *plan.ServicePort) {
	sfx := suffix(sp)
	svc, svl, ext := "service-"+sfx, "local-"+sfx, "external-"+sfx
	cluster, local := sp.ClusterEndpoints, sp.LocalEndpoints
	pr, port := proto(sp), itoa(sp.Port)

	if len(cluster) == 0 {
		if sp.ClusterIP != "" {
			w.element("no-endpoint-services", sp.ClusterIP+" . "+pr+" . "+port+" : goto reject-chain")
		}
		for _, ip := range append(append([]string{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
			w.element("no-endpoint-services", ip+" . "+pr+" . "+port+" : goto reject-chain")
		}
		if sp.NodePort != 0 {
			w.element("no-endpoint-nodeports", pr+" . "+itoa(sp.NodePort)+" : goto reject-chain")
		}
		return
	}

	if sp.ClusterIP != "" {
		switch {
		case sp.InternalLocal && len(local) == 0:
			w.element("no-endpoint-services", sp.ClusterIP+" . "+pr+" . "+port+" : drop")
		case sp.InternalLocal:
			w.element("service-ips", sp.ClusterIP+" . "+pr+" . "+port+" : goto "+svl)
		default:
			w.element("service-ips", sp.ClusterIP+" . "+pr+" . "+port+" : goto "+svc)
		}
	}

	if sp.HasExternal() {
		w.chain(ext)
		if sp.ExternalLocal {
			if clusterCIDR != "" {
				w.rule(ext, "ip saddr", clusterCIDR, "goto", svc)
			}
			w.rule(ext, "fib saddr type local jump mark-for-masquerade")
			w.rule(ext, "fib saddr type local goto", svc)
			if len(local) > 0 {
				w.rule(ext, "goto", svl)
			} else {
				for _, ip := range append(append([]string{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
					w.element("no-endpoint-services", ip+" . "+pr+" . "+port+" : drop")
				}
				if sp.NodePort != 0 {
					w.element("no-endpoint-nodeports", pr+" . "+itoa(sp.NodePort)+" : drop")
				}
			}
		} else {
			w.rule(ext, "jump mark-for-masquerade")
			w.rule(ext, "goto", svc)
		}
		for _, ip := range append(append([]string{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
			w.element("service-ips", ip+" . "+pr+" . "+port+" : goto "+ext)
		}
		if sp.NodePort != 0 {
			w.element("service-nodeports", pr+" . "+itoa(sp.NodePort)+" : goto "+ext)
		}
	}

	if sp.UsesClusterChain() {
		spread(w, clusterCIDR, sp, svc, cluster)
	}
	if sp.UsesLocalChain() && len(local) > 0 {
		spread(w, clusterCIDR, sp, svl, local)
	}
	for _, e := range sp.ChainEndpoints() {
		w.element("hairpin", e.IP+" . "+e.IP)
		if sp.AffinitySeconds == 0 {
			continue
		}
		c := endpointChain(sp, e)
		w.chain(c)
		s := affinitySet(sp, e)
		w.sets[s] = "{ type ipv4_addr; flags dynamic,timeout; timeout " + itoa(sp.AffinitySeconds) + "s; }"
		w.rule(c, "update @"+s, "{ ip saddr }")
		w.rule(c, "meta l4proto", pr, "dnat to", e.String())
	}
}

// spread fills a load-balancing chain: masquerade off-cluster sources to the cluster IP,
// stick to a recent endpoint (ClientIP affinity), else pick one at random.
func spread(w *writer, clusterCIDR string, sp *plan.ServicePort, chain string, eps []plan.Endpoint) {
	w.chain(chain)
	if sp.ClusterIP != "" && clusterCIDR != "" {
		w.rule(chain, "ip daddr", sp.ClusterIP, proto(sp), "dport", itoa(sp.Port), "ip saddr !=", clusterCIDR, "jump mark-for-masquerade")
	}
	var m strings.Builder
	if sp.AffinitySeconds > 0 {
		for _, e := range eps {
			w.rule(chain, "ip saddr @"+affinitySet(sp, e), "goto", endpointChain(sp, e))
		}
		for i, e := range eps {
			if i > 0 {
				m.WriteString(", ")
			}
			m.WriteString(strconv.Itoa(i) + " : goto " + endpointChain(sp, e))
		}
		w.rule(chain, "numgen random mod", strconv.Itoa(len(eps)), "vmap {", m.String(), "}")
		return
	}
	// Rule i of n matches with probability 1/(n-i), each drawing its own number: every
	// endpoint gets 1/n. (A "dnat to numgen random mod n map { ... }" per Service reads
	// better but makes the kernel create an anonymous map per Service, which costs
	// quadratic time: 15 s of kernel CPU for 10,000 Services against 1 s for these rules.)
	for i, e := range eps {
		if n := len(eps) - i; n > 1 {
			w.rule(chain, "numgen random mod", strconv.Itoa(n), "== 0 meta l4proto", proto(sp), "dnat to", e.String())
		} else {
			w.rule(chain, "meta l4proto", proto(sp), "dnat to", e.String())
		}
	}
}
