// Package ipvs programs a plan with IPVS, as kube-proxy's ipvs mode does: a virtual
// server per Service address and port (cluster IP, external and load-balancer IPs, node
// port on each node address) with the Service's endpoints as real servers (masquerading
// forwarding, scheduler rr or as configured, persistence for ClientIP affinity), the
// virtual addresses on a port-less bridge so the node accepts them, and one iptables rule
// that masquerades IPVS traffic from outside the pod network.
//
// It needs a kernel with IPVS (/proc/net/ip_vs) and ipvsadm; where either is missing the
// mode is refused at start. A sync runs ipvsadm-restore once with the differences
// between the kernel's table (ipvsadm -Sn) and the plan, so unchanged virtual servers and
// their connections are never touched.
//
// Not covered (unlike the iptables and nftables modes): rejecting connections to Services
// without endpoints (IPVS answers them with an ICMP port unreachable itself, once the
// virtual server exists with no real server), hairpin masquerade, and
// externalTrafficPolicy Local keeping the source of node-port traffic from pods.
package ipvs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/plan"
)

// ProcFile exists when the kernel has IPVS.
var ProcFile = "/proc/net/ip_vs"

// Interface holds the virtual addresses.
const Interface = "skiff-ipvs0"

// ErrNoIPVS is Check's error on a kernel without IPVS.
var ErrNoIPVS = errors.New("ipvs mode: this kernel has no IPVS (" + ProcFile + " is missing: load the ip_vs module, or use --mode iptables or nftables)")

// Check says whether the kernel has IPVS and ipvsadm is installed.
func Check() error {
	if _, err := os.Stat(ProcFile); err != nil {
		return ErrNoIPVS
	}
	for _, p := range []string{"ipvsadm", "ipvsadm-restore"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("ipvs mode needs %s (apt-get install ipvsadm): %w", p, err)
		}
	}
	return nil
}

// Table is the kernel's IPVS table, as "-A ..." virtual server lines mapped to their
// "-a ..." real server lines, in ipvsadm -Sn's form.
type Table map[string][]string

// virtualKey is the "-t VIP:PORT" part of a line ("-A -t 10.96.0.1:443 -s rr" → "-t 10.96.0.1:443").
func virtualKey(line string) string {
	f := strings.Fields(line)
	if len(f) < 3 {
		return line
	}
	return f[1] + " " + f[2]
}

// Render is the table for p: nodeIPs are the addresses node ports are served on, scheduler
// the IPVS scheduler (rr when empty).
func Render(p *plan.Plan, nodeIPs []string, scheduler string) Table {
	if scheduler == "" {
		scheduler = "rr"
	}
	t := Table{}
	for _, sp := range p.Services {
		flag := map[string]string{"TCP": "-t", "UDP": "-u", "SCTP": "--sctp-service"}[string(sp.Protocol)]
		if flag == "" {
			continue
		}
		vs := func(ip string, port int32, eps []plan.Endpoint) {
			addr := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String()
			line := "-A " + flag + " " + addr + " -s " + scheduler
			if sp.AffinitySeconds > 0 {
				line += " -p " + strconv.Itoa(int(sp.AffinitySeconds))
			}
			if _, dup := t[line]; dup {
				return
			}
			var reals []string
			for _, e := range eps {
				reals = append(reals, "-a "+flag+" "+addr+" -r "+e.String()+" -m -w 1")
			}
			t[line] = reals
		}
		if sp.ClusterIP != "" {
			vs(sp.ClusterIP, sp.Port, sp.InternalEndpoints())
		}
		for _, ip := range append(append([]string{}, sp.ExternalIPs...), sp.LoadBalancerIPs...) {
			vs(ip, sp.Port, sp.ExternalEndpoints())
		}
		if sp.NodePort != 0 {
			for _, ip := range nodeIPs {
				vs(ip, sp.NodePort, sp.ExternalEndpoints())
			}
		}
	}
	return t
}

// VIPs are the virtual addresses of t other than the node's own.
func (t Table) VIPs(nodeIPs []string) []string {
	var out []string
	for line := range t {
		k := virtualKey(line)
		ap, err := netip.ParseAddrPort(strings.Fields(k)[1])
		if err != nil || slices.Contains(nodeIPs, ap.Addr().String()) || slices.Contains(out, ap.Addr().String()) {
			continue
		}
		out = append(out, ap.Addr().String())
	}
	sort.Strings(out)
	return out
}

// ParseSave reads ipvsadm -Sn output.
func ParseSave(out []byte) Table {
	t := Table{}
	byKey := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.Join(strings.Fields(sc.Text()), " ")
		switch {
		case strings.HasPrefix(line, "-A "):
			t[line] = nil
			byKey[virtualKey(line)] = line
		case strings.HasPrefix(line, "-a "):
			if vs, ok := byKey[virtualKey(line)]; ok {
				t[vs] = append(t[vs], line)
			}
		}
	}
	return t
}

// Diff is the ipvsadm-restore input that turns have into want: virtual servers that
// went or changed are deleted (-D) and re-added, real servers that went are removed (-d),
// new ones added (-a). Unchanged ones are not mentioned.
func Diff(have, want Table) []byte {
	var b bytes.Buffer
	haveByKey := map[string]string{}
	for line := range have {
		haveByKey[virtualKey(line)] = line
	}
	wantByKey := map[string]string{}
	for line := range want {
		wantByKey[virtualKey(line)] = line
	}
	var lines []string
	for k, line := range haveByKey {
		if w, ok := wantByKey[k]; !ok || w != line {
			lines = append(lines, "-D "+k)
		}
	}
	sort.Strings(lines)
	var keys []string
	for k := range wantByKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := wantByKey[k]
		old, existed := haveByKey[k]
		reals := slices.Clone(want[w])
		sort.Strings(reals)
		if !existed || old != w {
			lines = append(lines, w)
			lines = append(lines, reals...)
			continue
		}
		for _, r := range have[old] {
			if !slices.Contains(want[w], r) {
				f := strings.Fields(r) // -a -t VIP:PORT -r EP:PORT ...
				lines = append(lines, "-d "+f[1]+" "+f[2]+" -r "+f[4])
			}
		}
		for _, r := range reals {
			if !slices.Contains(have[old], r) {
				lines = append(lines, r)
			}
		}
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

// Backend applies plans with IPVS.
type Backend struct {
	exec      execer.Func
	Scheduler string
	// NodeIPs returns the addresses node ports are served on (default: the global IPv4
	// addresses of the node, from `ip -4 -o addr`).
	NodeIPs func(ctx context.Context) ([]string, error)
}

// New returns a backend running its programs through run (nil: on this host).
func New(run execer.Func) *Backend {
	if run == nil {
		run = execer.Local
	}
	b := &Backend{exec: run}
	b.NodeIPs = b.localIPs
	return b
}

// Name is the mode's name.
func (b *Backend) Name() string { return "ipvs" }

func (b *Backend) localIPs(ctx context.Context) ([]string, error) {
	out, err := b.exec(ctx, nil, "ip", "-4", "-o", "addr", "show", "scope", "global")
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] != Interface {
			if p, err := netip.ParsePrefix(f[3]); err == nil {
				ips = append(ips, p.Addr().String())
			}
		}
	}
	return ips, nil
}

// Sync applies p: the virtual addresses, the masquerade rule, then one ipvsadm-restore of
// the differences.
func (b *Backend) Sync(ctx context.Context, p *plan.Plan, _ bool) (int, error) {
	nodeIPs, err := b.NodeIPs(ctx)
	if err != nil {
		return 0, fmt.Errorf("ipvs: node addresses: %w", err)
	}
	want := Render(p, nodeIPs, b.Scheduler)
	var batch bytes.Buffer
	batch.WriteString("link add " + Interface + " type bridge\n")
	batch.WriteString("link set " + Interface + " up\n")
	for _, ip := range want.VIPs(nodeIPs) {
		batch.WriteString("addr replace " + ip + "/32 dev " + Interface + "\n")
	}
	// "link add" of an existing link fails: -force goes on past it.
	_, _ = b.exec(ctx, batch.Bytes(), "ip", "-force", "-batch", "-")
	// Without conntrack entries for IPVS connections the masquerade rule below never
	// applies (kube-proxy sets the same; the setting is per network namespace).
	if _, err := b.exec(ctx, nil, "sysctl", "-q", "-w", "net.ipv4.vs.conntrack=1"); err != nil {
		return 0, fmt.Errorf("ipvs: net.ipv4.vs.conntrack=1: %w", err)
	}
	if p.ClusterCIDR != "" {
		rules := "*nat\n:SKIFF-IPVS-POSTROUTING - [0:0]\n" +
			"-A SKIFF-IPVS-POSTROUTING -m ipvs --ipvs --vdir ORIGINAL --vmethod MASQ ! -s " + p.ClusterCIDR + " -j MASQUERADE\n" + "COMMIT\n"
		if _, err := b.exec(ctx, []byte(rules), "iptables-restore", "-w", "--noflush"); err != nil {
			return 0, fmt.Errorf("ipvs: masquerade rule: %w", err)
		}
		if _, err := b.exec(ctx, nil, "iptables", "-w", "-t", "nat", "-C", "POSTROUTING", "-j", "SKIFF-IPVS-POSTROUTING"); err != nil {
			if _, err := b.exec(ctx, nil, "iptables", "-w", "-t", "nat", "-I", "POSTROUTING", "-j", "SKIFF-IPVS-POSTROUTING"); err != nil {
				return 0, fmt.Errorf("ipvs: masquerade jump: %w", err)
			}
		}
	}
	out, err := b.exec(ctx, nil, "ipvsadm", "-Sn")
	if err != nil {
		return 0, fmt.Errorf("ipvsadm -Sn: %w", err)
	}
	diff := Diff(ParseSave(out), want)
	if len(diff) > 0 {
		if _, err := b.exec(ctx, diff, "ipvsadm-restore"); err != nil {
			return 0, fmt.Errorf("ipvsadm-restore: %w", err)
		}
	}
	n := 0
	for _, reals := range want {
		n += 1 + len(reals)
	}
	return n, nil
}

// Cleanup clears the IPVS table and removes the virtual address interface and the
// masquerade rule.
func (b *Backend) Cleanup(ctx context.Context) error {
	_, err := b.exec(ctx, nil, "ipvsadm", "-C")
	_, _ = b.exec(ctx, nil, "ip", "link", "del", Interface)
	_, _ = b.exec(ctx, nil, "iptables", "-w", "-t", "nat", "-D", "POSTROUTING", "-j", "SKIFF-IPVS-POSTROUTING")
	_, _ = b.exec(ctx, nil, "iptables", "-w", "-t", "nat", "-F", "SKIFF-IPVS-POSTROUTING")
	_, _ = b.exec(ctx, nil, "iptables", "-w", "-t", "nat", "-X", "SKIFF-IPVS-POSTROUTING")
	return err
}
