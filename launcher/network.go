package launcher

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
)

// nodeNetwork puts each containerd node of a cluster in a network namespace of its own,
// joined to the host by a veth on one bridge, so that nodes have distinct addresses and
// pod traffic between them really crosses "the wire":
//
//	host: bridge skiffPORT 10.250.X.1/24  ── veth ──  netns skiffPORT-node-1: eth0 10.250.X.11
//	                                      ── veth ──  netns skiffPORT-node-2: eth0 10.250.X.12
//
// Names and the subnet derive from the API server's port, which is unique among the
// clusters running on one machine. The API server also listens on the bridge address, so
// the processes inside the namespaces reach it.
type nodeNetwork struct {
	bridge string
	prefix string // netns and veth names start with it
	subnet [3]byte
	nodes  int
}

func newNodeNetwork(port, nodes int) *nodeNetwork {
	return &nodeNetwork{
		bridge: fmt.Sprintf("skiff%d", port),
		prefix: fmt.Sprintf("skiff%d", port),
		subnet: [3]byte{10, 250, byte(port % 256)},
		nodes:  nodes,
	}
}

func (n *nodeNetwork) hostIP() string { return n.ip(1) }

func (n *nodeNetwork) ip(host int) string {
	return fmt.Sprintf("%d.%d.%d.%d", n.subnet[0], n.subnet[1], n.subnet[2], host)
}

// nodeIP is node i's (1-based) address.
func (n *nodeNetwork) nodeIP(i int) string { return n.ip(10 + i) }

// netns is node i's network namespace name (in /run/netns).
func (n *nodeNetwork) netns(i int) string { return fmt.Sprintf("%s-node-%d", n.prefix, i) }

// veth is the host end of node i's link; IFNAMSIZ allows 15 characters.
func (n *nodeNetwork) veth(i int) string { return fmt.Sprintf("%sv%d", n.prefix, i) }

// enter wraps a command so that it runs in node i's network namespace (only the network:
// unlike `ip netns exec`, nsenter leaves the mount namespace alone, so containerd's mounts
// stay visible to the host and a restarted agent).
func (n *nodeNetwork) enter(i int, bin string, args ...string) (string, []string) {
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		nsenter = "nsenter"
	}
	return nsenter, append([]string{"--net=/run/netns/" + n.netns(i), "--", bin}, args...)
}

// setUp creates the bridge and the namespaces, removing what a crashed run left first.
func (n *nodeNetwork) setUp() error {
	n.tearDown()
	cmds := [][]string{
		{"link", "add", n.bridge, "type", "bridge"},
		{"addr", "add", n.hostIP() + "/24", "dev", n.bridge},
		{"link", "set", n.bridge, "up"},
	}
	for i := 1; i <= n.nodes; i++ {
		ns := n.netns(i)
		cmds = append(cmds,
			[]string{"netns", "add", ns},
			[]string{"link", "add", n.veth(i), "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"link", "set", n.veth(i), "master", n.bridge, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
			[]string{"-n", ns, "addr", "add", n.nodeIP(i) + "/24", "dev", "eth0"},
			[]string{"-n", ns, "link", "set", "eth0", "up"},
			[]string{"-n", ns, "route", "add", "default", "via", n.hostIP()},
			// A node sends the host's packets for an unknown address (a Service without
			// endpoints) back out eth0, and would tell the host so with an ICMP redirect;
			// redirects share the per-host ICMP rate limit with the Service's
			// port-unreachable refusals (UDP), which then go missing. A node's only way
			// out is the host: there is nothing better to redirect to.
			[]string{"netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0",
				"net.ipv4.conf.default.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0"},
		)
	}
	for _, c := range cmds {
		if err := ip(c...); err != nil {
			n.tearDown()
			return err
		}
	}
	// The host forwards between the bridge and its routes to pods and Services (each node
	// agent turns forwarding on in its own namespace).
	return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644)
}

// routeHost makes the host reach a node's pods through that node. It never takes over a
// route of another device (another cluster's: see routes.go).
func (n *nodeNetwork) routeHost(cidr, via string) error {
	routes, err := hostRoutes()
	if err != nil {
		return err
	}
	if r, ok := foreignRoute(routes, cidr, n.bridge); ok {
		return fmt.Errorf("%s is already routed to %s (another cluster?): not replacing it", r.dst, r.dev)
	}
	return ip("route", "replace", cidr, "via", via, "dev", n.bridge)
}

// tearDown removes the namespaces (their veths go with them) and the bridge (its routes
// go with it). It is quiet about what is not there.
func (n *nodeNetwork) tearDown() {
	for i := 1; i <= n.nodes; i++ {
		// The veth first: a namespace outlives `ip netns del` while the kernel (or a process)
		// still holds it, and its end of the pair would keep the name taken.
		if _, err := net.InterfaceByName(n.veth(i)); err == nil {
			_ = ip("link", "del", n.veth(i))
		}
		_ = ip("netns", "del", n.netns(i))
	}
	// A namespace of a previous run with more nodes.
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), n.prefix+"-node-") {
				_ = ip("netns", "del", e.Name())
			}
		}
	}
	if _, err := net.InterfaceByName(n.bridge); err == nil {
		_ = ip("link", "del", n.bridge)
	}
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
