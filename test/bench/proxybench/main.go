// Command proxybench measures the service proxy's sync: N Services of E endpoints each are
// planned, rendered and applied in one exec (iptables-restore or nft -f) inside a network
// namespace made for the run (the host's tables are never touched). It is a benchmark,
// not a test; it needs root.
//
// Reported per mode and size: plan and render time; the first sync into an empty
// namespace; a sync after one endpoint changed (the whole ruleset is rewritten); a full
// resync (kernel state re-read, then rewritten); the reference — the same tool loading a
// file that declares the same chains with no rules — and the first-sync/reference ratio;
// the CPU time the tools used for the first sync (wall times grow when other work shares
// the machine; CPU time much less); the Go heap holding the objects, the plan and the
// rendered text.
//
//	go run ./test/bench/proxybench                          # 1,000 and 10,000 Services × 10
//	go run ./test/bench/proxybench -services 1000 -modes iptables -runs 5
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/proxy/execer"
	"github.com/skiff-sh/skiff/proxy/iptables"
	"github.com/skiff-sh/skiff/proxy/nftables"
	"github.com/skiff-sh/skiff/proxy/plan"
	"github.com/skiff-sh/skiff/proxy/plan/plantest"
)

var (
	servicesFlag  = flag.String("services", "1000,10000", "comma-separated numbers of Services")
	endpointsFlag = flag.Int("endpoints", 10, "endpoints per Service")
	modesFlag     = flag.String("modes", "iptables,iptables-legacy,nftables", "comma-separated modes (iptables is the system's flavour; iptables-legacy the x_tables one)")
	firstOnly     = flag.Bool("first-only", false, "measure the first sync only (for sizes where the others take minutes)")
	timeoutFlag   = flag.Duration("timeout", 10*time.Minute, "give up on one sync after this long (reported as >timeout)")
	runsFlag      = flag.Int("runs", 3, "measurements per case (the median is reported)")
)

func main() {
	flag.Parse()
	if os.Getuid() != 0 {
		fmt.Fprintln(os.Stderr, "proxybench: needs root (it programs a network namespace of its own)")
		os.Exit(1)
	}
	fmt.Printf("%-15s %8s %6s %9s %9s %10s %10s %10s %10s %10s %7s %8s %9s\n",
		"mode", "services", "eps", "plan", "render", "first", "first-cpu", "1-change", "full", "reference", "ratio", "rules", "heap")
	for _, ns := range strings.Split(*servicesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(ns))
		if err != nil {
			fatal(err)
		}
		for _, mode := range strings.Split(*modesFlag, ",") {
			if err := runCase(strings.TrimSpace(mode), n, *endpointsFlag); err != nil {
				fatal(err)
			}
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "proxybench:", err)
	os.Exit(1)
}

// objects makes n ClusterIP Services (every tenth a NodePort) with e ready endpoints each.
func objects(n, e int, bump int) ([]*core.Service, []*discovery.EndpointSlice) {
	svcs := make([]*core.Service, 0, n)
	slices := make([]*discovery.EndpointSlice, 0, n)
	for i := range n {
		name := fmt.Sprintf("svc-%05d", i)
		port := core.ServicePort{Name: "http", Port: 80, Protocol: core.ProtocolTCP}
		if i%10 == 0 {
			port.NodePort = int32(30000 + (i/10)%2700)
		}
		s := plantest.Service("bench", name, fmt.Sprintf("10.%d.%d.%d", 96+i>>16, (i>>8)&255, i&255), []core.ServicePort{port}, nil)
		if port.NodePort != 0 {
			s.Spec.Type = core.ServiceTypeNodePort
		}
		svcs = append(svcs, s)
		eps := make([]plantest.EP, 0, e)
		for j := range e {
			k := i*e + j + bump*boolInt(i == 0 && j == 0)
			eps = append(eps, plantest.EP{IP: fmt.Sprintf("10.%d.%d.%d", 128+k>>16, (k>>8)&255, k&255), Node: "n" + strconv.Itoa(j%3)})
		}
		slices = append(slices, plantest.Slice("bench", name, "a", []discovery.EndpointPort{plantest.EPort("http", 8080, core.ProtocolTCP)}, eps...))
	}
	return svcs, slices
}

func boolInt(b bool) int {
	if b {
		return 1 << 22
	}
	return 0
}

type backend interface {
	Sync(ctx context.Context, p *plan.Plan, full bool) (int, error)
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func runCase(mode string, n, e int) error {
	ctx := context.Background()
	var planT, renderT, firstT, firstCPU, changeT, fullT, refT []time.Duration
	var rules int
	var heap uint64
	for run := range *runsFlag {
		ns := fmt.Sprintf("proxybench-%d-%d", os.Getpid(), run)
		if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
			return fmt.Errorf("ip netns add: %v: %s", err, out)
		}
		exe := execer.InNetns(ns)
		err := func() error {
			defer exec.Command("ip", "netns", "del", ns).Run()
			svcs, sl := objects(n, e, 0)
			in := plan.Input{NodeName: "n0", ClusterCIDR: "10.244.0.0/16", Services: svcs, Slices: sl}
			t0 := time.Now()
			p := plan.Build(in)
			planT = append(planT, time.Since(t0))

			var b backend
			var text []byte
			var chains []string
			t0 = time.Now()
			switch mode {
			case "iptables", "iptables-legacy":
				r := iptables.Render(p, iptables.State{MissingJumps: iptables.Jumps})
				text, rules = r.Text, r.Rules
				for t, cs := range r.Chains {
					for c := range cs {
						chains = append(chains, t+" "+c)
					}
				}
				b = iptables.NewCommand(exe, mode)
			case "nftables":
				r := nftables.Render(p, nftables.State{})
				text, rules = r.Text, r.Rules
				for c := range r.Chains {
					chains = append(chains, c)
				}
				b = nftables.New(exe)
			default:
				return fmt.Errorf("unknown mode %q", mode)
			}
			renderT = append(renderT, time.Since(t0))
			// The heap holding the objects (as the informer caches would), the plan and its
			// rendering: about what the proxy holds for this cluster.
			runtime.GC()
			var mem runtime.MemStats
			runtime.ReadMemStats(&mem)
			heap = mem.HeapAlloc
			runtime.KeepAlive(svcs)
			runtime.KeepAlive(sl)
			runtime.KeepAlive(p)
			runtime.KeepAlive(text)

			// The reference: the same tool loading the same chains, empty.
			ref := reference(mode, chains)
			t0 = time.Now()
			if err := loadReference(ctx, exe, mode, ref); err != nil {
				return err
			}
			refT = append(refT, time.Since(t0))
			if err := cleanReference(ctx, exe, mode, chains); err != nil {
				return err
			}

			cpu0 := childCPU()
			t0 = time.Now()
			sctx, cancel := context.WithTimeout(ctx, *timeoutFlag)
			_, err := b.Sync(sctx, p, true)
			timedOut := sctx.Err() == context.DeadlineExceeded
			cancel()
			if timedOut {
				fmt.Printf("%-15s %8d %6d  first sync did not finish within %s\n", mode, n, e, *timeoutFlag)
				firstT = nil
				return errTimeout
			}
			if err != nil {
				return fmt.Errorf("first sync: %w", err)
			}
			firstT = append(firstT, time.Since(t0))
			firstCPU = append(firstCPU, childCPU()-cpu0)
			if *firstOnly {
				changeT, fullT = append(changeT, 0), append(fullT, 0)
				return nil
			}

			svcs2, sl2 := objects(n, e, 1)
			t0 = time.Now()
			p2 := plan.Build(plan.Input{NodeName: "n0", ClusterCIDR: "10.244.0.0/16", Services: svcs2, Slices: sl2})
			if _, err := b.Sync(ctx, p2, false); err != nil {
				return fmt.Errorf("sync after one change: %w", err)
			}
			changeT = append(changeT, time.Since(t0))

			t0 = time.Now()
			if _, err := b.Sync(ctx, p2, true); err != nil {
				return fmt.Errorf("full resync: %w", err)
			}
			fullT = append(fullT, time.Since(t0))
			return nil
		}()
		if err == errTimeout {
			return nil
		}
		if err != nil {
			return err
		}
	}
	first, ref := median(firstT), median(refT)
	fmt.Printf("%-15s %8d %6d %9s %9s %10s %10s %10s %10s %10s %6.1fx %8d %8.1fM\n", mode, n, e,
		ms(median(planT)), ms(median(renderT)), ms(first), ms(median(firstCPU)), ms(median(changeT)), ms(median(fullT)), ms(ref),
		float64(first)/float64(ref), rules, float64(heap)/(1<<20))
	return nil
}

var errTimeout = fmt.Errorf("timeout")

// childCPU is the user+system time of the finished child processes (the restore tools): a
// measure that, unlike wall time, does not grow when other work shares the machine.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reference(mode string, chains []string) []byte {
	var b bytes.Buffer
	slices.Sort(chains)
	switch mode {
	case "iptables", "iptables-legacy":
		for _, t := range []string{"filter", "nat"} {
			b.WriteString("*" + t + "\n")
			for _, c := range chains {
				if tb, name, _ := strings.Cut(c, " "); tb == t {
					b.WriteString(":" + name + " - [0:0]\n")
				}
			}
			b.WriteString("COMMIT\n")
		}
	case "nftables":
		b.WriteString("add table ip skiffref\n")
		for _, c := range chains {
			b.WriteString("add chain ip skiffref " + c + "\n")
		}
	}
	return b.Bytes()
}

func loadReference(ctx context.Context, exe execer.Func, mode string, text []byte) error {
	var err error
	if mode != "nftables" {
		_, err = exe(ctx, text, mode+"-restore", "-w", "--noflush")
	} else {
		_, err = exe(ctx, text, "nft", "-f", "-")
	}
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	return nil
}

func cleanReference(ctx context.Context, exe execer.Func, mode string, chains []string) error {
	var err error
	if mode != "nftables" {
		var b bytes.Buffer
		for _, t := range []string{"filter", "nat"} {
			b.WriteString("*" + t + "\n")
			for _, c := range chains {
				if tb, name, _ := strings.Cut(c, " "); tb == t {
					b.WriteString("-X " + name + "\n")
				}
			}
			b.WriteString("COMMIT\n")
		}
		_, err = exe(ctx, b.Bytes(), mode+"-restore", "-w", "--noflush")
	} else {
		_, err = exe(ctx, []byte("delete table ip skiffref\n"), "nft", "-f", "-")
	}
	return err
}
