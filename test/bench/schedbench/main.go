// Command schedbench measures the scheduler the way Kubernetes' scheduler_perf does: an API
// server (over embedded etcd) and the scheduler in one process, N plain Node objects (no
// agents), then M pods created as fast as possible; it reports pods scheduled per second from
// the first create to the last binding, and the create→bound latency. Each (nodes, pods,
// workload) case runs against a fresh etcd. It is a benchmark, not a test.
//
//	go run ./test/bench/schedbench                      # the matrix: 1,000/10,000 and 5,000/30,000 × workloads
//	go run ./test/bench/schedbench -nodes 1000 -pods 10000 -workload plain
//
// Workloads: plain (requests only), spread (a zone topology spread constraint, DoNotSchedule,
// maxSkew 1, over groups of pods), anti-affinity (required pod anti-affinity on the hostname
// within groups of pods: one pod of a group per node).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/scheduler"
	"github.com/skiff-sh/skiff/storage"
)

var (
	nodesFlag   = flag.Int("nodes", 0, "nodes (with -pods and -workload: run one case instead of the matrix)")
	podsFlag    = flag.Int("pods", 0, "pods to create")
	workload    = flag.String("workload", "plain", "plain, spread or anti-affinity (one case), or a comma-separated list")
	concurrency = flag.Int("concurrency", 32, "pod creates in flight")
	groupSize   = flag.Int("group", 100, "pods per spread / anti-affinity group")
	zones       = flag.Int("zones", 10, "zones the nodes are spread over")
	verbose     = flag.Bool("v", false, "log the scheduler's warnings")
	cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
)

type benchCase struct {
	nodes, pods int
	workload    string
}

type result struct {
	benchCase
	elapsed          time.Duration
	bound            int
	p50, p99         time.Duration
	createRate       float64
	written, dropped uint64
}

func main() {
	flag.Parse()
	var cases []benchCase
	workloads := strings.Split(*workload, ",")
	if *nodesFlag > 0 && *podsFlag > 0 {
		for _, w := range workloads {
			cases = append(cases, benchCase{*nodesFlag, *podsFlag, w})
		}
	} else {
		if !isFlagSet("workload") {
			workloads = []string{"plain", "spread", "anti-affinity"}
		}
		for _, size := range [][2]int{{1000, 10000}, {5000, 30000}} {
			for _, w := range workloads {
				cases = append(cases, benchCase{size[0], size[1], w})
			}
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "schedbench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var results []result
	for _, c := range cases {
		fmt.Fprintf(os.Stderr, "schedbench: %d nodes, %d pods, %s ...\n", c.nodes, c.pods, c.workload)
		r, err := run(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "schedbench:", err)
			pprof.StopCPUProfile()
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "schedbench:   %.0f pods/s\n", float64(r.bound)/r.elapsed.Seconds())
		results = append(results, r)
	}
	fmt.Printf("# schedbench: %d CPUs (GOMAXPROCS %d), %d creates in flight, %s\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), *concurrency, time.Now().Format(time.RFC3339))
	fmt.Println("| workload | nodes | pods | scheduled/s (first create → last bind) | create→bound p50 | p99 | pods created/s | events written / dropped |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %d | %d | **%.0f** | %s | %s | %.0f | %d / %d |\n", r.workload, r.nodes, r.pods,
			float64(r.bound)/r.elapsed.Seconds(), r.p50, r.p99, r.createRate, r.written, r.dropped)
	}
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func run(c benchCase) (result, error) {
	res := result{benchCase: c}
	dir, err := os.MkdirTemp("", "schedbench-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
		return res, err
	}
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	if err != nil {
		return res, err
	}
	defer e.Close()
	defer cancel() // stop the watch caches before etcd
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	api, err := apiserver.New(ctx, apiserver.Config{Logger: quiet}, storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
	if err != nil {
		return res, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: api.Handler()}
	go srv.Serve(ln)
	defer srv.Close()
	host := "http://" + ln.Addr().String()

	// Separate clients, as separate processes would have: the load generator's and the
	// scheduler's (unthrottled, as skiff-scheduler runs by default).
	load, err := client.New(&client.Config{Host: host, UserAgent: "schedbench"})
	if err != nil {
		return res, err
	}
	schedClient, err := client.New(&client.Config{Host: host, UserAgent: "skiff-scheduler"})
	if err != nil {
		return res, err
	}
	nodes := client.For[core.Node](load, client.Resource{Version: "v1", Resource: "nodes"})
	namespaces := client.For[core.Namespace](load, client.Resource{Version: "v1", Resource: "namespaces"})
	if _, err := namespaces.Create(ctx, &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "bench"}}); err != nil {
		return res, fmt.Errorf("create namespace: %w", err)
	}
	pods := client.For[core.Pod](load, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})

	if err := parallel(c.nodes, *concurrency, func(i int) error {
		_, err := nodes.Create(ctx, benchNode(i))
		return err
	}); err != nil {
		return res, fmt.Errorf("create nodes: %w", err)
	}

	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	s, err := scheduler.New(scheduler.Config{Client: schedClient, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		return res, err
	}
	schedCtx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- s.Run(schedCtx) }()
	defer func() { stopSched(); <-schedDone }()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		if n, _, _ := s.Cache().Counts(); s.Ready() && n == c.nodes {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("scheduler did not see %d nodes within 2 minutes", c.nodes)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Watch bindings from now on, with our own client.
	list, err := pods.List(ctx, "bench", client.ListOptions{Limit: 1})
	if err != nil {
		return res, err
	}
	w, err := pods.Watch(ctx, "bench", client.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return res, err
	}
	defer w.Stop()
	acked := make([]atomic.Int64, c.pods) // unix nanos when each create was acknowledged
	var boundCount atomic.Int64
	var lastBind atomic.Int64
	lat := make([]time.Duration, 0, c.pods)
	var latMu sync.Mutex
	allBound := make(chan struct{})
	go func() {
		seen := make(map[string]bool, c.pods)
		for ev := range w.ResultChan() {
			if ev.Type != meta.Modified && ev.Type != meta.Added {
				continue
			}
			p := ev.Object
			if p.Spec.NodeName == "" || seen[p.Name] {
				continue
			}
			seen[p.Name] = true
			now := time.Now()
			var idx int
			fmt.Sscanf(p.Name, "pod-%d", &idx)
			if idx >= 0 && idx < c.pods {
				if a := acked[idx].Load(); a > 0 {
					latMu.Lock()
					lat = append(lat, now.Sub(time.Unix(0, a)))
					latMu.Unlock()
				}
			}
			lastBind.Store(now.UnixNano())
			if boundCount.Add(1) == int64(c.pods) {
				close(allBound)
				return
			}
		}
	}()

	start := time.Now()
	if err := parallel(c.pods, *concurrency, func(i int) error {
		_, err := pods.Create(ctx, benchPod(i, c.workload))
		if err == nil {
			acked[i].Store(time.Now().UnixNano())
		}
		return err
	}); err != nil {
		return res, fmt.Errorf("create pods: %w", err)
	}
	res.createRate = float64(c.pods) / time.Since(start).Seconds()
	select {
	case <-allBound:
	case <-time.After(10 * time.Minute):
		return res, fmt.Errorf("only %d of %d pods bound after 10 minutes", boundCount.Load(), c.pods)
	}
	res.bound = int(boundCount.Load())
	res.elapsed = time.Unix(0, lastBind.Load()).Sub(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		res.p50 = lat[len(lat)/2].Round(time.Millisecond)
		res.p99 = lat[len(lat)*99/100].Round(time.Millisecond)
	}
	// Events are written in the background; give the recorder a moment to finish what it queued.
	res.written, _, res.dropped = s.EventStats()
	return res, nil
}

func benchNode(i int) *core.Node {
	name := fmt.Sprintf("node-%05d", i)
	rl := core.ResourceList{
		core.ResourceCPU:    resource.MustParse("32"),
		core.ResourceMemory: resource.MustParse("128Gi"),
		core.ResourcePods:   resource.MustParse("110"),
	}
	return &core.Node{
		ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{
			core.LabelHostname:     name,
			core.LabelTopologyZone: fmt.Sprintf("zone-%d", i%*zones),
		}},
		Status: core.NodeStatus{Capacity: rl, Allocatable: rl,
			Conditions: []core.NodeCondition{{Type: core.NodeReady, Status: core.ConditionTrue}}},
	}
}

func benchPod(i int, workload string) *core.Pod {
	group := fmt.Sprintf("g%d", i / *groupSize)
	p := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: "bench", Labels: map[string]string{"group": group}},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
			Resources: core.ResourceRequirements{Requests: core.ResourceList{
				core.ResourceCPU: resource.MustParse("100m"), core.ResourceMemory: resource.MustParse("128Mi")}}}}},
	}
	sel := &meta.LabelSelector{MatchLabels: map[string]string{"group": group}}
	switch workload {
	case "spread":
		p.Spec.TopologySpreadConstraints = []core.TopologySpreadConstraint{{
			MaxSkew: 1, TopologyKey: core.LabelTopologyZone, WhenUnsatisfiable: core.DoNotSchedule, LabelSelector: sel}}
	case "anti-affinity":
		p.Spec.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{{LabelSelector: sel, TopologyKey: core.LabelHostname}}}}
	}
	return p
}

// parallel runs op(0..n-1) on conc goroutines and returns the first error.
func parallel(n, conc int, op func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || first.Load() != nil {
					return
				}
				if err := op(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}
