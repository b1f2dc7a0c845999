// Command schedbench measures the scheduler the way Kubernetes' scheduler_perf does: an API
// server (over embedded etcd) and the scheduler in one process, N plain Node objects (no
// agents), then M pods. It is a benchmark, not a test; each case runs against a fresh etcd.
//
// Two modes:
//   - stream: pods are created as fast as possible while the scheduler runs; reported is pods
//     scheduled per second from the first create to the last binding, and the latency from a
//     create being acknowledged to the pod being seen bound;
//   - backlog: the pods are created first, then the scheduler starts and drains them; reported
//     is pods per second from the scheduler's start (informer sync included) to the last binding.
//
// Workloads: plain (requests only); spread (a zone topology spread constraint, DoNotSchedule,
// maxSkew 1, within groups of -group pods); anti-affinity (required pod anti-affinity on the
// hostname within groups: one pod of a group per node).
//
//	go run ./test/bench/schedbench                 # the matrix: 1,000/10,000 and 5,000/30,000
//	go run ./test/bench/schedbench -nodes 1000 -pods 10000 -workload plain -mode backlog
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
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
	nodesFlag   = flag.Int("nodes", 0, "nodes (with -pods: run these cases instead of the matrix)")
	podsFlag    = flag.Int("pods", 0, "pods")
	workloads   = flag.String("workload", "plain,spread,anti-affinity", "comma-separated workloads: plain, spread, anti-affinity")
	modes       = flag.String("mode", "stream,backlog", "comma-separated modes: stream, backlog (backlog runs the plain workload only)")
	concurrency = flag.Int("concurrency", 64, "pod creates in flight")
	groupSize   = flag.Int("group", 100, "pods per spread / anti-affinity group")
	zones       = flag.Int("zones", 10, "zones the nodes are spread over")
	verbose     = flag.Bool("v", false, "log the scheduler's warnings")
	cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	pprofAddr   = flag.String("pprof", "", "serve net/http/pprof on this address during the run")
)

type benchCase struct {
	nodes, pods    int
	workload, mode string
}

type result struct {
	benchCase
	elapsed          time.Duration
	p50, p99         time.Duration
	createRate       float64
	written, dropped uint64
}

func main() {
	flag.Parse()
	sizes := [][2]int{{1000, 10000}, {5000, 30000}}
	if *nodesFlag > 0 && *podsFlag > 0 {
		sizes = [][2]int{{*nodesFlag, *podsFlag}}
	}
	var cases []benchCase
	for _, size := range sizes {
		for _, m := range strings.Split(*modes, ",") {
			for _, w := range strings.Split(*workloads, ",") {
				if m == "backlog" && w != "plain" && len(strings.Split(*workloads, ",")) > 1 {
					continue
				}
				cases = append(cases, benchCase{size[0], size[1], w, m})
			}
		}
	}
	if *pprofAddr != "" {
		go http.ListenAndServe(*pprofAddr, nil)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		check(err)
		check(pprof.StartCPUProfile(f))
		defer pprof.StopCPUProfile()
	}
	var results []result
	for _, c := range cases {
		fmt.Fprintf(os.Stderr, "schedbench: %s %s, %d nodes, %d pods ...\n", c.mode, c.workload, c.nodes, c.pods)
		r, err := run(c)
		if err != nil {
			pprof.StopCPUProfile()
			check(err)
		}
		fmt.Fprintf(os.Stderr, "schedbench:   %.0f pods/s\n", float64(c.pods)/r.elapsed.Seconds())
		results = append(results, r)
	}
	fmt.Printf("# schedbench: %d CPUs, %d creates in flight, %s\n\n", runtime.NumCPU(), *concurrency, time.Now().Format(time.RFC3339))
	fmt.Println("| mode | workload | nodes | pods | pods scheduled/s | create→bound p50 | p99 | pods created/s | events written / dropped |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		p50, p99, created := r.p50.String(), r.p99.String(), fmt.Sprintf("%.0f", r.createRate)
		if r.mode == "backlog" {
			p50, p99 = "—", "—"
		}
		fmt.Printf("| %s | %s | %d | %d | **%.0f** | %s | %s | %s | %d / %d |\n", r.mode, r.workload, r.nodes, r.pods,
			float64(r.pods)/r.elapsed.Seconds(), p50, p99, created, r.written, r.dropped)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedbench:", err)
		os.Exit(1)
	}
}

// run measures one case against a fresh etcd and API server.
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
	api, err := apiserver.New(ctx, apiserver.Config{Logger: quiet, Insecure: true}, storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
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
	pods := client.For[core.Pod](load, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	namespaces := client.For[core.Namespace](load, client.Resource{Version: "v1", Resource: "namespaces"})
	if _, err := namespaces.Create(ctx, &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "bench"}}); err != nil {
		return res, fmt.Errorf("create namespace: %w", err)
	}
	if err := parallel(c.nodes, *concurrency, func(i int) error {
		_, err := nodes.Create(ctx, benchNode(i))
		return err
	}); err != nil {
		return res, fmt.Errorf("create nodes: %w", err)
	}

	// Watch bindings with the load generator's client, from before the first pod.
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
	bound := newBindTracker(c.pods, acked)
	go bound.follow(w)

	createAll := func() error {
		start := time.Now()
		err := parallel(c.pods, *concurrency, func(i int) error {
			_, err := pods.Create(ctx, benchPod(i, c.workload))
			if err == nil {
				acked[i].Store(time.Now().UnixNano())
			}
			return err
		})
		res.createRate = float64(c.pods) / time.Since(start).Seconds()
		return err
	}
	var start time.Time
	var s *benchScheduler
	if c.mode == "backlog" {
		if err := createAll(); err != nil {
			return res, fmt.Errorf("create pods: %w", err)
		}
		start = time.Now()
		if s, err = startScheduler(ctx, schedClient, 0); err != nil {
			return res, err
		}
		defer s.stop()
	} else {
		if s, err = startScheduler(ctx, schedClient, c.nodes); err != nil {
			return res, err
		}
		defer s.stop()
		start = time.Now()
		if err := createAll(); err != nil {
			return res, fmt.Errorf("create pods: %w", err)
		}
	}
	select {
	case <-bound.all:
	case <-time.After(15 * time.Minute):
		return res, fmt.Errorf("only %d of %d pods bound after 15 minutes", bound.count.Load(), c.pods)
	}
	res.elapsed = time.Unix(0, bound.last.Load()).Sub(start)
	res.p50, res.p99 = bound.percentiles()
	res.written, _, res.dropped = s.EventStats()
	return res, nil
}

// bindTracker follows a pod watch and records when each pod was first seen bound.
type bindTracker struct {
	want  int
	acked []atomic.Int64
	count atomic.Int64
	last  atomic.Int64 // unix nanos of the last binding seen
	all   chan struct{}
	mu    sync.Mutex
	lat   []time.Duration // create acknowledged → bound
}

func newBindTracker(want int, acked []atomic.Int64) *bindTracker {
	return &bindTracker{want: want, acked: acked, all: make(chan struct{})}
}

func (b *bindTracker) follow(w client.Watcher[*core.Pod]) {
	seen := make(map[string]bool, b.want)
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
		if _, err := fmt.Sscanf(p.Name, "pod-%d", &idx); err == nil && idx >= 0 && idx < len(b.acked) {
			if a := b.acked[idx].Load(); a > 0 {
				b.mu.Lock()
				b.lat = append(b.lat, now.Sub(time.Unix(0, a)))
				b.mu.Unlock()
			}
		}
		b.last.Store(now.UnixNano())
		if b.count.Add(1) == int64(b.want) {
			close(b.all)
			return
		}
	}
}

func (b *bindTracker) percentiles() (p50, p99 time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lat) == 0 {
		return 0, 0
	}
	sort.Slice(b.lat, func(i, j int) bool { return b.lat[i] < b.lat[j] })
	return b.lat[len(b.lat)/2].Round(time.Millisecond), b.lat[len(b.lat)*99/100].Round(time.Millisecond)
}

// benchScheduler is a scheduler running in this process.
type benchScheduler struct {
	*scheduler.Scheduler
	stop func()
}

// startScheduler runs a scheduler and, when nodes > 0, waits until its cache has them.
func startScheduler(ctx context.Context, c *client.Client, nodes int) (*benchScheduler, error) {
	level := slog.LevelError
	if *verbose {
		level = slog.LevelWarn
	}
	s, err := scheduler.New(scheduler.Config{Client: c, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	bs := &benchScheduler{Scheduler: s, stop: func() { cancel(); <-done }}
	for deadline := time.Now().Add(2 * time.Minute); nodes > 0; {
		if n, _, _ := s.Cache().Counts(); s.Ready() && n == nodes {
			break
		}
		if time.Now().After(deadline) {
			bs.stop()
			return nil, fmt.Errorf("scheduler did not see %d nodes within 2 minutes", nodes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return bs, nil
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
