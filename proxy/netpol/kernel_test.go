package netpol

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/internal/kerneltest"
)

// The kernel tests build a node of their own out of network namespaces:
//
//	netns web   10.244.1.2 (app=web; serves :8080 "http")  ┐
//	netns cli   10.244.1.3 (role=client)                    ├ veths on bridge br0 of
//	netns other 10.244.1.4 (no labels)                      ┘ netns node: 10.244.1.1/24,
//	                                                          also serving :5353 itself
//	netns remote 10.244.2.5 (role=client, "another node")  ─ routed over 10.250.0.0/24
//
// Pods of the node talk across the bridge (br_netfilter hands that to netfilter); the
// remote pod's traffic is routed, as between skiff's nodes.

const (
	webIP    = "10.244.1.2"
	cliIP    = "10.244.1.3"
	otherIP  = "10.244.1.4"
	nodeIP   = "10.244.1.1"
	remoteIP = "10.244.2.5"
)

type topo struct {
	node, web, cli, other, remote string
}

var nsCounter atomic.Int32

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func newTopo(t *testing.T) *topo {
	t.Helper()
	kerneltest.Need(t, "nft")
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
		t.Skip("br_netfilter is not loaded (modprobe br_netfilter): bridged pod traffic would bypass netfilter")
	}
	id := fmt.Sprintf("snp%d-%d", os.Getpid(), nsCounter.Add(1))
	tp := &topo{node: id + "-node", web: id + "-web", cli: id + "-cli", other: id + "-oth", remote: id + "-rem"}
	all := []string{tp.node, tp.web, tp.cli, tp.other, tp.remote}
	t.Cleanup(func() {
		for _, ns := range all {
			_ = sh("ip", "netns", "del", ns)
		}
	})
	steps := [][]string{}
	for _, ns := range all {
		steps = append(steps, []string{"ip", "netns", "add", ns}, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	steps = append(steps,
		[]string{"ip", "-n", tp.node, "link", "add", "br0", "type", "bridge"},
		[]string{"ip", "-n", tp.node, "addr", "add", nodeIP + "/24", "dev", "br0"},
		[]string{"ip", "-n", tp.node, "link", "set", "br0", "up"},
		[]string{"ip", "netns", "exec", tp.node, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"},
	)
	for i, p := range []struct{ ns, ip string }{{tp.web, webIP}, {tp.cli, cliIP}, {tp.other, otherIP}} {
		v := fmt.Sprintf("v%d", i)
		steps = append(steps,
			[]string{"ip", "-n", tp.node, "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", p.ns},
			[]string{"ip", "-n", tp.node, "link", "set", v, "master", "br0", "up"},
			[]string{"ip", "-n", p.ns, "addr", "add", p.ip + "/24", "dev", "eth0"},
			[]string{"ip", "-n", p.ns, "link", "set", "eth0", "up"},
			[]string{"ip", "-n", p.ns, "route", "add", "default", "via", nodeIP},
		)
	}
	steps = append(steps,
		[]string{"ip", "-n", tp.node, "link", "add", "vrem", "type", "veth", "peer", "name", "eth0", "netns", tp.remote},
		[]string{"ip", "-n", tp.node, "addr", "add", "10.250.0.1/24", "dev", "vrem"},
		[]string{"ip", "-n", tp.node, "link", "set", "vrem", "up"},
		[]string{"ip", "-n", tp.node, "route", "add", "10.244.2.0/24", "via", "10.250.0.2"},
		[]string{"ip", "-n", tp.remote, "addr", "add", "10.250.0.2/24", "dev", "eth0"},
		[]string{"ip", "-n", tp.remote, "addr", "add", remoteIP + "/32", "dev", "lo"},
		[]string{"ip", "-n", tp.remote, "link", "set", "eth0", "up"},
		[]string{"ip", "-n", tp.remote, "route", "add", "default", "via", "10.250.0.1", "src", remoteIP},
	)
	for _, s := range steps {
		if err := sh(s...); err != nil {
			t.Fatal(err)
		}
	}
	// A real node always tracks connections (the service proxy's rules use conntrack), so
	// a connection made before the first policy is known to conntrack. A namespace tracks
	// only once some rule asks for it: this one does, as the proxy's would.
	ct := "table ip conntrack-on {\n chain c {\n type filter hook prerouting priority 0;\n ct state invalid counter\n }\n}\n"
	if _, err := execer.InNetns(tp.node)(context.Background(), []byte(ct), "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	srv := &kerneltest.Topology{}
	srv.Serve(t, tp.web, "tcp", webIP+":8080")
	srv.Serve(t, tp.web, "tcp", webIP+":9000")
	srv.Serve(t, tp.remote, "tcp", remoteIP+":8080")
	srv.Serve(t, tp.node, "tcp", nodeIP+":5353")
	return tp
}

// objects are the cluster the plans are built from, matching the namespaces.
func (tp *topo) input(policies ...*networking.NetworkPolicy) Input {
	return Input{
		NodeName:   node,
		Namespaces: []*core.Namespace{namespace("default", nil)},
		Pods: []*core.Pod{
			pod("default", "web", webIP, node, map[string]string{"app": "web"}, core.ContainerPort{Name: "http", ContainerPort: 8080}),
			pod("default", "cli", cliIP, node, map[string]string{"role": "client"}),
			pod("default", "other", otherIP, node, nil),
			pod("default", "remote", remoteIP, "node-b", map[string]string{"role": "client"}),
		},
		Extra:    []Endpoint{{IP: nodeIP, Namespace: "kube-system", Labels: map[string]string{"k8s-app": "kube-dns"}}},
		Policies: policies,
	}
}

// reach dials addr from namespace ns: nil when connected and answered, else the error. A
// dropped SYN shows as a timeout: the deadline bounds how long the test waits for a
// packet that will never be answered, it is not a measurement.
func reach(ns, addr string) error {
	c, err := kerneltest.Dial(ns, addr, 1500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_, _, err = c.Ask()
	return err
}

func blocked(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}

type probe struct {
	name, from, to string
	allowed        bool
}

func (tp *topo) check(t *testing.T, probes []probe) {
	t.Helper()
	for _, p := range probes {
		err := reach(p.from, p.to)
		switch {
		case p.allowed && err != nil:
			t.Errorf("%s: %s → %s: %v, want it allowed", p.name, p.from, p.to, err)
		case !p.allowed && !blocked(err):
			t.Errorf("%s: %s → %s: %v, want it dropped (a timeout)", p.name, p.from, p.to, err)
		}
	}
}

func TestKernel(t *testing.T) {
	tp := newTopo(t)
	ctx := context.Background()
	run := execer.InNetns(tp.node)
	b := New(run)
	t.Cleanup(func() { _ = b.Cleanup(context.Background()) })
	apply := func(t *testing.T, policies ...*networking.NetworkPolicy) {
		t.Helper()
		if _, err := b.Sync(ctx, Build(tp.input(policies...)), false); err != nil {
			t.Fatal(err)
		}
	}
	web := webIP + ":8080"
	denyIngress := policy("default", "deny", nil, func(s *networking.NetworkPolicySpec) { s.PolicyTypes = []networking.PolicyType{"Ingress"} })
	denyEgress := policy("default", "deny-egress", nil, func(s *networking.NetworkPolicySpec) { s.PolicyTypes = []networking.PolicyType{"Egress"} })
	webDenyEgress := policy("default", "web-deny-egress", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
		s.PolicyTypes = []networking.PolicyType{"Egress"}
	})
	allowClients := policy("default", "web", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
		s.Ingress = []networking.NetworkPolicyIngressRule{{From: []networking.NetworkPolicyPeer{{PodSelector: sel("role", "client")}},
			Ports: []networking.NetworkPolicyPort{named("http")}}}
	})

	t.Run("no policy: everything flows", func(t *testing.T) {
		apply(t)
		tp.check(t, []probe{{"same node", tp.cli, web, true}, {"other node", tp.remote, web, true}, {"to the node", tp.web, nodeIP + ":5353", true}})
	})
	t.Run("default deny ingress blocks on the bridge and across nodes", func(t *testing.T) {
		apply(t, denyIngress)
		tp.check(t, []probe{
			{"same node", tp.cli, web, false}, {"other node", tp.remote, web, false},
			{"egress is not isolated", tp.web, remoteIP + ":8080", true},
		})
	})
	t.Run("an allow policy lets labelled clients through, on the named port only", func(t *testing.T) {
		apply(t, denyIngress, allowClients)
		tp.check(t, []probe{
			{"client, same node", tp.cli, web, true}, {"client, other node", tp.remote, web, true},
			{"unlabelled pod", tp.other, web, false}, {"client, another port", tp.cli, webIP + ":9000", false},
		})
	})
	t.Run("a pod relabelled into a peer selector is let in (the set alone refilled)", func(t *testing.T) {
		in := tp.input(denyIngress, allowClients)
		if _, err := b.Sync(ctx, Build(in), false); err != nil {
			t.Fatal(err)
		}
		in.Pods[2].Labels = map[string]string{"role": "client"} // other
		ran, err := b.Sync(ctx, Build(in), false)
		if err != nil || !ran {
			t.Fatalf("sync: %v %v", ran, err)
		}
		tp.check(t, []probe{{"relabelled", tp.other, web, true}})
	})
	t.Run("a connection made before a deny keeps working; replies of allowed connections pass", func(t *testing.T) {
		apply(t)
		c, err := kerneltest.Dial(tp.cli, web, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// web may not start anything (egress denied), and only clients reach it: its
		// replies to the client are ESTABLISHED.
		apply(t, webDenyEgress, allowClients)
		if _, _, err := c.Ask(); err != nil {
			t.Errorf("established connection after the policy: %v", err)
		}
		tp.check(t, []probe{{"new connection from a client", tp.cli, web, true}, {"web starting one", tp.web, remoteIP + ":8080", false}})
	})
	t.Run("egress: ipBlock with except, ports with endPort, traffic to the node itself", func(t *testing.T) {
		apply(t, policy("default", "web-out", map[string]string{"app": "web"}, func(s *networking.NetworkPolicySpec) {
			s.PolicyTypes = []networking.PolicyType{"Egress"}
			s.Egress = []networking.NetworkPolicyEgressRule{{
				To:    []networking.NetworkPolicyPeer{{IPBlock: &networking.IPBlock{CIDR: "10.244.0.0/16", Except: []string{"10.244.1.0/24"}}}},
				Ports: []networking.NetworkPolicyPort{{Protocol: ptr(core.ProtocolTCP), Port: ptr(intstr.FromInt(8000)), EndPort: ptr[int32](8100)}},
			}}
		}))
		tp.check(t, []probe{
			{"in the block, in the range", tp.web, remoteIP + ":8080", true},
			{"excepted", tp.web, cliIP + ":8080", false},
			{"the node (cluster DNS lives there) is egress too", tp.web, nodeIP + ":5353", false},
		})
	})
	t.Run("egress to the cluster DNS, allowed like kube-dns pods", func(t *testing.T) {
		apply(t, denyEgress, policy("default", "dns", nil, func(s *networking.NetworkPolicySpec) {
			s.PolicyTypes = []networking.PolicyType{"Egress"}
			s.Egress = []networking.NetworkPolicyEgressRule{{To: []networking.NetworkPolicyPeer{{
				NamespaceSelector: &meta.LabelSelector{}, PodSelector: sel("k8s-app", "kube-dns")}}}}
		}))
		tp.check(t, []probe{{"to DNS", tp.cli, nodeIP + ":5353", true}, {"elsewhere", tp.cli, remoteIP + ":8080", false}})
	})
	t.Run("removing the policies opens everything again", func(t *testing.T) {
		apply(t)
		tp.check(t, []probe{{"same node", tp.other, web, true}})
		out, err := run(ctx, nil, "nft", "list", "tables")
		if err != nil || strings.Contains(string(out), Table) {
			t.Errorf("tables after the last policy went: %s %v", out, err)
		}
	})
}
