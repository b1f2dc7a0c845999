package netpol

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
)

// Table is the nftables table (family ip) that holds every policy rule of a node. It is
// apart from the service proxy's rules (iptables chains or table ip skiff), so either can
// be rewritten without the other; netfilter runs both, and a packet passes only if both
// let it.
const Table = "skiff-netpol"

// Hook priorities: before the filter tables of iptables (0), so a denied packet costs
// nothing more. Egress is judged first, then ingress: a packet between two isolated pods
// of this node must pass both, and an accept ends only the base chain that gave it.
const (
	egressPriority  = -10
	ingressPriority = -9
)

// Render writes the nft script that replaces the policy table with p, atomically (nft -f
// applies a script as one transaction). An empty plan deletes the table: a node without
// isolated pods keeps no policy hooks at all.
//
// The table:
//
//	map ingress-pods / egress-pods   isolated local pod IP → jump its pod chain
//	chain pod-in-IP / pod-out-IP     jump each selecting policy's chain; then drop
//	chain in-H / out-H               one policy: accept what a rule matches, else return
//	set peer-H                       the addresses a peer selector chose
//	set port-PROTO-NAME              address . protocol . port of every named port NAME
//	chain egress (forward, input)    established/related accept; saddr vmap @egress-pods
//	chain ingress (forward)          established/related accept; daddr vmap @ingress-pods
//
// Ingress is judged in the forward hook, where every packet to a pod passes (from pods of
// this node over the bridge, as br_netfilter hands bridged IP to netfilter, and from other
// nodes and the host by routing) after the Service DNAT, so the destination is the pod.
// Egress is judged in forward and in input (a pod talking to its node: the cluster DNS
// that skiff-proxy serves, node ports). Traffic the node itself starts (probes, the host
// reaching pods) leaves through output and is not judged, as most plugins allow it.
func Render(p *Plan) []byte {
	var b bytes.Buffer
	b.WriteString("add table ip " + Table + "\ndelete table ip " + Table + "\n")
	if p.Empty() {
		return b.Bytes()
	}
	b.WriteString("table ip " + Table + " {\n")
	for _, o := range objects(p) {
		b.WriteString("\t" + o.kind + " " + o.name + " {\n")
		for _, h := range o.head {
			b.WriteString("\t\t" + h + "\n")
		}
		if o.kind == "chain" {
			for _, r := range o.lines {
				b.WriteString("\t\t" + r + "\n")
			}
		} else {
			elements(&b, len(o.lines), func(i int) string { return o.lines[i] })
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// object is one named part of the policy table.
type object struct {
	kind  string // "set", "map" or "chain"
	name  string
	head  []string // a set's or map's type; a base chain's hook
	lines []string // a set's or map's elements; a chain's rules
}

func (o object) key() string { return o.kind + " " + o.name }

// objects are the parts of p's table, in the order they are declared: sets, policy
// chains, pod chains and the verdict map of each direction, base chains.
func objects(p *Plan) []object {
	var out []object
	for _, s := range p.PeerSets {
		out = append(out, object{kind: "set", name: s.Name, head: []string{"type ipv4_addr"}, lines: slices.Clone(s.IPs)})
	}
	for _, s := range p.PortSets {
		proto := nftProto(s.Protocol)
		o := object{kind: "set", name: s.Name, head: []string{"type ipv4_addr . inet_proto . inet_service"}}
		for _, e := range s.Elements {
			o.lines = append(o.lines, e.IP+" . "+proto+" . "+strconv.Itoa(int(e.Port)))
		}
		out = append(out, o)
	}
	for _, c := range p.Chains {
		o := object{kind: "chain", name: c.Name}
		addr := "ip saddr"
		if c.Direction == Egress {
			addr = "ip daddr"
		}
		for _, r := range c.Rules {
			var b strings.Builder
			if !r.Peer.Any() {
				b.WriteString(peerMatch(addr, r.Peer) + " ")
			}
			if m := portMatch(r.Port); m != "" {
				b.WriteString(m + " ")
			}
			b.WriteString("accept comment " + quote(c.Policy))
			o.lines = append(o.lines, b.String())
		}
		out = append(out, o)
	}
	for _, d := range []Direction{Ingress, Egress} {
		targets, prefix := p.Ingress, "pod-in-"
		if d == Egress {
			targets, prefix = p.Egress, "pod-out-"
		}
		m := object{kind: "map", name: string(d) + "-pods", head: []string{"type ipv4_addr : verdict"}}
		for _, t := range targets {
			o := object{kind: "chain", name: prefix + dashed(t.IP)}
			for _, c := range t.Chains {
				o.lines = append(o.lines, "jump "+c)
			}
			o.lines = append(o.lines, "counter drop comment "+quote(t.Pod+" isolated for "+string(d)))
			out = append(out, o)
			m.lines = append(m.lines, t.IP+" : jump "+o.name)
		}
		out = append(out, m)
	}
	base := func(name, hook string, prio int, match string) {
		out = append(out, object{kind: "chain", name: name,
			head:  []string{"type filter hook " + hook + " priority " + strconv.Itoa(prio) + "; policy accept;"},
			lines: []string{"ct state established,related accept", match}})
	}
	base("egress", "forward", egressPriority, "ip saddr vmap @egress-pods")
	base("egress-local", "input", egressPriority, "ip saddr vmap @egress-pods")
	base("ingress", "forward", ingressPriority, "ip daddr vmap @ingress-pods")
	return out
}

// update is the nft script that turns the table holding prev into cur in one
// transaction, touching only what differs: new sets and chains are added, chains whose
// rules changed are flushed and refilled, set and map elements are added and deleted one
// by one, and chains and sets that went are emptied and deleted after everything that
// referred to them was rewritten. ok is false where that cannot be done (a declaration
// changed, a base chain changed): the caller replaces the table. An empty script means
// nothing changed.
func update(prev, cur []object) (script []byte, ok bool) {
	old := map[string]object{}
	for _, o := range prev {
		old[o.key()] = o
	}
	now := map[string]bool{}
	for _, o := range cur {
		now[o.key()] = true
		if p, seen := old[o.key()]; (seen && !slices.Equal(p.head, o.head)) || (!seen && o.kind == "chain" && len(o.head) > 0) {
			return nil, false
		}
	}
	var gone []object
	for _, o := range prev {
		if !now[o.key()] {
			if len(o.head) > 0 && o.kind == "chain" {
				return nil, false
			}
			gone = append(gone, o)
		}
	}
	var b bytes.Buffer
	T := " ip " + Table + " "
	// New sets and maps, empty, then new chains, empty: everything below may refer to them.
	for _, o := range cur {
		if _, seen := old[o.key()]; !seen && o.kind != "chain" {
			b.WriteString("add " + o.kind + T + o.name + " { " + strings.Join(o.head, " ") + "; }\n")
		}
	}
	for _, o := range cur {
		if _, seen := old[o.key()]; !seen && o.kind == "chain" {
			b.WriteString("add chain" + T + o.name + "\n")
		}
	}
	// Set elements, then chains' rules, then the verdict maps (whose elements jump to chains).
	for _, kind := range []string{"set", "chain", "map"} {
		for _, o := range cur {
			if o.kind != kind {
				continue
			}
			p, seen := old[o.key()]
			if kind == "chain" {
				if seen && slices.Equal(p.lines, o.lines) {
					continue
				}
				if seen {
					b.WriteString("flush chain" + T + o.name + "\n")
				}
				for _, r := range o.lines {
					b.WriteString("add rule" + T + o.name + " " + r + "\n")
				}
				continue
			}
			del, add := elementDelta(p.lines, o.lines)
			if kind == "map" {
				for i, e := range del {
					del[i], _, _ = strings.Cut(e, " : ") // a map element is deleted by its key
				}
			}
			elementLines(&b, "delete element"+T+o.name, del)
			elementLines(&b, "add element"+T+o.name, add)
		}
	}
	// What went: chains emptied first (so no chain still jumps to another that goes, and
	// no rule still names a set that goes), then deleted, then the sets and maps.
	for _, o := range gone {
		if o.kind == "chain" {
			b.WriteString("flush chain" + T + o.name + "\n")
		}
	}
	for _, o := range gone {
		if o.kind == "chain" {
			b.WriteString("delete chain" + T + o.name + "\n")
		}
	}
	for _, o := range gone {
		if o.kind != "chain" {
			b.WriteString("delete " + o.kind + T + o.name + "\n")
		}
	}
	return b.Bytes(), true
}

// elementDelta are the elements of prev not in cur, and of cur not in prev.
func elementDelta(prev, cur []string) (del, add []string) {
	in := func(list []string) map[string]bool {
		m := make(map[string]bool, len(list))
		for _, e := range list {
			m[e] = true
		}
		return m
	}
	p, c := in(prev), in(cur)
	for _, e := range prev {
		if !c[e] {
			del = append(del, e)
		}
	}
	for _, e := range cur {
		if !p[e] {
			add = append(add, e)
		}
	}
	return del, add
}

// elementLines writes cmd { elements } a few elements per line (nothing for none).
func elementLines(b *bytes.Buffer, cmd string, els []string) {
	if len(els) == 0 {
		return
	}
	b.WriteString(cmd + " {")
	for i, e := range els {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%8 == 0 {
			b.WriteString("\n\t")
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(e)
	}
	b.WriteString("\n}\n")
}

// elements writes a set's elements, a few per line (nft reads long lines slowly).
func elements(b *bytes.Buffer, n int, el func(int) string) {
	if n == 0 {
		return
	}
	b.WriteString("\t\telements = {")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if i%8 == 0 {
			b.WriteString("\n\t\t\t")
		} else {
			b.WriteByte(' ')
		}
		b.WriteString(el(i))
	}
	b.WriteString("\n\t\t}\n")
}

func peerMatch(addr string, p Peer) string {
	if p.Set != "" {
		return addr + " @" + p.Set
	}
	s := addr + " " + p.CIDR
	if len(p.Except) > 0 {
		s += " " + addr + " != { " + strings.Join(p.Except, ", ") + " }"
	}
	return s
}

func portMatch(p Port) string {
	switch {
	case p.Protocol == "":
		return ""
	case p.Set != "":
		return "ip daddr . meta l4proto . th dport @" + p.Set
	case p.Port == 0:
		return "meta l4proto " + nftProto(p.Protocol)
	case p.EndPort != 0:
		return "meta l4proto " + nftProto(p.Protocol) + " th dport " + strconv.Itoa(int(p.Port)) + "-" + strconv.Itoa(int(p.EndPort))
	}
	return "meta l4proto " + nftProto(p.Protocol) + " th dport " + strconv.Itoa(int(p.Port))
}

func nftProto(p core.Protocol) string {
	switch p {
	case core.ProtocolUDP:
		return "udp"
	case core.ProtocolSCTP:
		return "sctp"
	}
	return "tcp"
}

func dashed(ip string) string { return strings.ReplaceAll(ip, ".", "-") }

// quote makes s an nft string: comments are at most 128 bytes and may not hold quotes.
func quote(s string) string {
	s = strings.ReplaceAll(s, `"`, "")
	if len(s) > 120 {
		s = s[:120]
	}
	return `"` + s + `"`
}
