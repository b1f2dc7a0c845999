// Command netpolbench measures NetworkPolicy enforcement (docs/PERFORMANCE.md):
//
//   - sync time: plan + render + one `nft -f` into an empty network namespace, for P
//     policies over 1,000 pods, with the node holding 100 of the pods (a 10-node cluster)
//     and all 1,000 (the worst case), then the sync after one pod's labels changed;
//     "reference" is nft loading an empty table in the same namespace;
//   - connection setup: TCP connect+close between two pods of one node across its bridge,
//     without policies and with the 1,000-policy ruleset in force (20 alternating rounds of
//     500 in ABBA order; each pair of rounds gives a ratio, and every connect() is timed so
//     its percentiles can be compared) (the server pod selected
//     by 11 policies, one of which allows the client), alternating rounds in the same run;
//     the ratio is with / without. The node tracks connections in both (as the service
//     proxy's rules make every node do).
//
// Needs root, nft, ip and nsenter. Everything happens in namespaces it makes and deletes.
//
//	go build -o /tmp/netpolbench ./test/bench/netpolbench && sudo /tmp/netpolbench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/netpol"
)

const (
	pods       = 1000
	namespaces = 20
	apps       = 50
	node       = "node-0"
	serverIP   = "10.244.0.2"
	clientIP   = "10.244.0.3"
)

func main() {
	policyCounts := flag.String("policies", "100,1000", "policy counts to measure")
	runs := flag.Int("runs", 3, "syncs per case (the median is reported)")
	connOnly := flag.Bool("connections-only", false, "measure connection setup only (the ruleset of -policies' last count, 100 pods on the node)")
	conns := flag.Int("conns", 500, "connections per round of the connection-setup measure")
	rounds := flag.Int("rounds", 20, "rounds of each (alternating)")
	flag.Parse()
	if err := run(*policyCounts, *runs, *conns, *rounds, *connOnly); err != nil {
		fmt.Fprintln(os.Stderr, "netpolbench:", err)
		os.Exit(1)
	}
}

// cluster: 1,000 pods in 20 namespaces, labels app=aN (50 apps) and role=rN (10 roles);
// pod i runs on node-(i % nodes). Pod 0 is the server (app=a0), pod 1 the client (role=r3),
// both on node-0 with the addresses of the namespaces the connection measure builds.
func cluster(nodes int) ([]*core.Pod, []*core.Namespace) {
	var nss []*core.Namespace
	for n := range namespaces {
		name := "ns" + strconv.Itoa(n)
		nss = append(nss, &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: name,
			Labels: map[string]string{"kubernetes.io/metadata.name": name, "team": "t" + strconv.Itoa(n%5)}}})
	}
	var out []*core.Pod
	for i := range pods {
		ip := fmt.Sprintf("10.244.%d.%d", i/250, 2+i%250)
		lbls := map[string]string{"app": "a" + strconv.Itoa(i%apps), "role": "r" + strconv.Itoa(i%10)}
		ns := "ns" + strconv.Itoa(i%namespaces)
		switch i {
		case 0:
			ip, ns, lbls = serverIP, "ns0", map[string]string{"app": "a0", "role": "server"}
		case 1:
			ip, ns, lbls = clientIP, "ns0", map[string]string{"app": "a1", "role": "r3"}
		}
		out = append(out, &core.Pod{
			ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: "p" + strconv.Itoa(i), Labels: lbls},
			Spec: core.PodSpec{NodeName: "node-" + strconv.Itoa(i%nodes), Containers: []core.Container{{Name: "c",
				Ports: []core.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			Status: core.PodStatus{Phase: core.PodRunning, PodIP: ip, PodIPs: []core.PodIP{{IP: ip}}},
		})
	}
	return out, nss
}

// policies: P policies; policy j lives in namespace ns(j%20), selects app=a(j%50) there and
// allows ingress from role=r(j%10) pods of its namespace and from namespaces team=t(j%5) on
// the named port http and 9000-9100, plus egress to 10.0.0.0/8 except 10.1.0.0/16. The
// server (ns0, app=a0) is selected by every policy j ≡ 0 (mod 100) (10 of 1,000), none of
// which allows the client (role=r3); one more policy does.
func policies(n int) []*networking.NetworkPolicy {
	tcp := core.ProtocolTCP
	http := intstr.FromString("http")
	lo := intstr.FromInt(9000)
	var out []*networking.NetworkPolicy
	for j := range n {
		out = append(out, &networking.NetworkPolicy{
			ObjectMeta: meta.ObjectMeta{Namespace: "ns" + strconv.Itoa(j%namespaces), Name: "p" + strconv.Itoa(j)},
			Spec: networking.NetworkPolicySpec{
				PodSelector: meta.LabelSelector{MatchLabels: map[string]string{"app": "a" + strconv.Itoa(j%apps)}},
				Ingress: []networking.NetworkPolicyIngressRule{{
					From: []networking.NetworkPolicyPeer{
						{PodSelector: &meta.LabelSelector{MatchLabels: map[string]string{"role": "r" + strconv.Itoa(j%10)}}},
						{NamespaceSelector: &meta.LabelSelector{MatchLabels: map[string]string{"team": "t" + strconv.Itoa(j%5)}},
							PodSelector: &meta.LabelSelector{MatchLabels: map[string]string{"role": "r9"}}},
					},
					Ports: []networking.NetworkPolicyPort{{Protocol: &tcp, Port: &http}, {Protocol: &tcp, Port: &lo, EndPort: ptr[int32](9100)}},
				}},
				Egress: []networking.NetworkPolicyEgressRule{{To: []networking.NetworkPolicyPeer{{
					IPBlock: &networking.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}}}}},
				PolicyTypes: []networking.PolicyType{"Ingress", "Egress"},
			},
		})
	}
	// The client's way in: a policy selecting the server, allowing role=r3 on 8080.
	p := intstr.FromInt(8080)
	out = append(out, &networking.NetworkPolicy{
		ObjectMeta: meta.ObjectMeta{Namespace: "ns0", Name: "zz-allow-client"},
		Spec: networking.NetworkPolicySpec{
			PodSelector: meta.LabelSelector{MatchLabels: map[string]string{"app": "a0"}},
			Ingress: []networking.NetworkPolicyIngressRule{{
				From:  []networking.NetworkPolicyPeer{{PodSelector: &meta.LabelSelector{MatchLabels: map[string]string{"role": "r3"}}}},
				Ports: []networking.NetworkPolicyPort{{Protocol: &tcp, Port: &p}},
			}},
			PolicyTypes: []networking.PolicyType{"Ingress"},
		},
	})
	return out
}

func ptr[T any](v T) *T { return &v }

// childCPU is the user+system time of the finished child processes (nsenter and nft).
func childCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func run(counts string, runs, conns, rounds int, connOnly bool) error {
	if os.Getuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	id := fmt.Sprintf("npb%d", os.Getpid())
	nodeNS, srvNS, cliNS := id+"-node", id+"-srv", id+"-cli"
	defer func() {
		for _, ns := range []string{nodeNS, srvNS, cliNS} {
			_ = sh("ip", "netns", "del", ns)
		}
	}()
	if err := topology(nodeNS, srvNS, cliNS); err != nil {
		return err
	}
	ctx := context.Background()
	exe := execer.InNetns(nodeNS)
	if connOnly {
		cs := strings.Split(counts, ",")
		n, err := strconv.Atoi(strings.TrimSpace(cs[len(cs)-1]))
		if err != nil {
			return err
		}
		ps, nss := cluster(10)
		return connections(ctx, exe, srvNS, cliNS, netpol.Build(netpol.Input{NodeName: node, Policies: policies(n), Pods: ps, Namespaces: nss}), conns, rounds)
	}

	// Reference: an empty table, the same way.
	var ref, refCPU []time.Duration
	for range runs {
		start, cpu0 := time.Now(), childCPU()
		if _, err := exe(ctx, []byte("add table ip ref\ndelete table ip ref\ntable ip ref {\n}\n"), "nft", "-f", "-"); err != nil {
			return err
		}
		ref, refCPU = append(ref, time.Since(start)), append(refCPU, childCPU()-cpu0)
	}
	fmt.Printf("reference (nft -f of an empty table, same namespace): %s, CPU %s\n\n", median(ref).Round(10*time.Microsecond), median(refCPU).Round(time.Millisecond))
	fmt.Println("| policies | pods on the node | chains | rules | set elements | plan | render | plan + nft -f | nft CPU | a local pod relabelled | a peer relabelled | ratio to reference (wall) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	var big *netpol.Plan
	for _, c := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return err
		}
		for _, nodes := range []int{10, 1} {
			ps, nss := cluster(nodes)
			pols := policies(n)
			var plans, renders, firsts, changes, cpus, peers []time.Duration
			var pl *netpol.Plan
			for range runs {
				b := netpol.New(exe)
				if err := b.Cleanup(ctx); err != nil {
					return err
				}
				start := time.Now()
				pl = netpol.Build(netpol.Input{NodeName: node, Policies: pols, Pods: ps, Namespaces: nss})
				plans = append(plans, time.Since(start))
				rs := time.Now()
				_ = netpol.Render(pl)
				renders = append(renders, time.Since(rs))
				start = time.Now()
				cpu0 := childCPU()
				if _, err := b.Sync(ctx, pl, false); err != nil {
					return err
				}
				firsts = append(firsts, time.Since(start)+plans[len(plans)-1])
				cpus = append(cpus, childCPU()-cpu0)
				// A local pod's labels change (other policies select it): plan and apply again.
				ps[10].Labels = map[string]string{"app": "a30", "role": "r0"}
				start = time.Now()
				pl2 := netpol.Build(netpol.Input{NodeName: node, Policies: pols, Pods: ps, Namespaces: nss})
				if _, err := b.Sync(ctx, pl2, false); err != nil {
					return err
				}
				changes = append(changes, time.Since(start))
				ps[10].Labels = map[string]string{"app": "a10", "role": "r0"}
				if _, err := b.Sync(ctx, netpol.Build(netpol.Input{NodeName: node, Policies: pols, Pods: ps, Namespaces: nss}), false); err != nil {
					return err
				}
				// A pod of another node joins a peer selector (team t0 namespaces, role r9):
				// only set elements change.
				ps[25].Labels = map[string]string{"app": "a25", "role": "r9"}
				start = time.Now()
				pl3 := netpol.Build(netpol.Input{NodeName: node, Policies: pols, Pods: ps, Namespaces: nss})
				if _, err := b.Sync(ctx, pl3, false); err != nil {
					return err
				}
				peers = append(peers, time.Since(start))
				ps[25].Labels = map[string]string{"app": "a25", "role": "r5"}
			}
			st := pl.Stats()
			local := pods / nodes
			fmt.Printf("| %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %.0f× |\n", n+1, local, st.Policies, st.Rules, st.SetElements,
				median(plans).Round(10*time.Microsecond), median(renders).Round(10*time.Microsecond),
				median(firsts).Round(time.Millisecond), median(cpus).Round(time.Millisecond), median(changes).Round(time.Millisecond),
				median(peers).Round(time.Millisecond),
				float64(median(firsts))/float64(median(ref)))
			if nodes == 10 {
				big = pl
			}
		}
	}
	fmt.Println("\n(\"plan + nft -f\": a first sync into an empty namespace; the relabels are plan + a partial sync: a local pod's chain, map and set elements; a peer's set elements)")
	if big == nil {
		return nil
	}
	return connections(ctx, exe, srvNS, cliNS, big, conns, rounds)
}

// connections measures TCP connection setup client → server across the bridge, without
// policies and with plan p in force, alternating rounds.
func connections(ctx context.Context, exe execer.Func, srvNS, cliNS string, p *netpol.Plan, conns, rounds int) error {
	var ln net.Listener
	if err := in(srvNS, func() (err error) { ln, err = net.Listen("tcp", serverIP+":8080"); return }); err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	b := netpol.New(exe)
	// Every connect's own time too: other load only ever lengthens one, so the low
	// percentiles of thousands are the steadiest view of the path's cost.
	dials := map[bool][]time.Duration{}
	round := func(withPolicies bool) (time.Duration, error) {
		var err error
		if withPolicies {
			_, err = b.Sync(ctx, p, true)
		} else {
			err = b.Cleanup(ctx)
		}
		if err != nil {
			return 0, err
		}
		var d time.Duration
		err = in(cliNS, func() error {
			dialer := net.Dialer{Timeout: 2 * time.Second}
			start := time.Now()
			for range conns {
				t0 := time.Now()
				c, err := dialer.Dial("tcp", serverIP+":8080")
				if err != nil {
					return err
				}
				dials[withPolicies] = append(dials[withPolicies], time.Since(t0))
				_ = c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT pile-up over the rounds
				c.Close()
			}
			d = time.Since(start) / time.Duration(conns)
			return nil
		})
		return d, err
	}
	// Rounds go in pairs, in ABBA order (without, with, with, without, ...) so that a
	// drift of the machine's other load hits both sides alike; each pair gives a ratio, and
	// the median of those ratios with its quartiles is the answer (a ratio of whole-run
	// medians mixes rounds measured under different loads).
	var without, with []time.Duration
	var ratios []float64
	for k := range rounds {
		order := []bool{false, true}
		if k%2 == 1 {
			order = []bool{true, false}
		}
		var pair [2]time.Duration
		for _, withPolicies := range order {
			d, err := round(withPolicies)
			if err != nil {
				return fmt.Errorf("connection round %d: %w", k, err)
			}
			if withPolicies {
				with, pair[1] = append(with, d), d
			} else {
				without, pair[0] = append(without, d), d
			}
		}
		ratios = append(ratios, float64(pair[1])/float64(pair[0]))
	}
	_ = b.Cleanup(ctx)
	slices.Sort(ratios)
	q := func(f float64) float64 { return ratios[int(f*float64(len(ratios)-1)+0.5)] }
	fmt.Printf("\nconnection setup (connect+close, %d per round, %d round pairs in ABBA order, %d-chain ruleset):\n", conns, rounds, len(p.Chains))
	fmt.Printf("  per connection: without policies median %s (fastest round %s), with median %s (fastest round %s)\n",
		median(without).Round(100*time.Nanosecond), slices.Min(without).Round(100*time.Nanosecond),
		median(with).Round(100*time.Nanosecond), slices.Min(with).Round(100*time.Nanosecond))
	fmt.Printf("  with ÷ without, per pair of rounds: median %.3f, quartiles %.3f–%.3f, range %.3f–%.3f\n", q(0.5), q(0.25), q(0.75), ratios[0], ratios[len(ratios)-1])
	pct := func(d []time.Duration, f float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(f*float64(len(s)-1))]
	}
	for _, f := range []float64{0.1, 0.25, 0.5, 0.9} {
		a, b := pct(dials[false], f), pct(dials[true], f)
		fmt.Printf("  connect() alone, p%.0f of %d: without %s, with %s, ratio %.3f\n", f*100, len(dials[false]),
			a.Round(100*time.Nanosecond), b.Round(100*time.Nanosecond), float64(b)/float64(a))
	}
	return nil
}

// topology: node namespace with bridge br0 10.244.0.1/24 (forwarding, br_netfilter on),
// and two pod namespaces on it.
func topology(nodeNS, srvNS, cliNS string) error {
	steps := [][]string{}
	for _, ns := range []string{nodeNS, srvNS, cliNS} {
		steps = append(steps, []string{"ip", "netns", "add", ns}, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	steps = append(steps,
		[]string{"ip", "-n", nodeNS, "link", "add", "br0", "type", "bridge"},
		[]string{"ip", "-n", nodeNS, "addr", "add", "10.244.0.1/24", "dev", "br0"},
		[]string{"ip", "-n", nodeNS, "link", "set", "br0", "up"},
		[]string{"ip", "netns", "exec", nodeNS, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"},
	)
	for i, p := range []struct{ ns, ip string }{{srvNS, serverIP}, {cliNS, clientIP}} {
		v := "v" + strconv.Itoa(i)
		steps = append(steps,
			[]string{"ip", "-n", nodeNS, "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", p.ns},
			[]string{"ip", "-n", nodeNS, "link", "set", v, "master", "br0", "up"},
			[]string{"ip", "-n", p.ns, "addr", "add", p.ip + "/24", "dev", "eth0"},
			[]string{"ip", "-n", p.ns, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return err
		}
	}
	ct := "table ip conntrack-on {\n chain c {\n type filter hook prerouting priority 0;\n ct state invalid counter\n }\n}\n"
	_, err := execer.InNetns(nodeNS)(context.Background(), []byte(ct), "nft", "-f", "-")
	return err
}

// in runs fn on a thread in namespace ns.
func in(ns string, fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		return err
	}
	defer netns.Set(orig)
	return fn()
}
