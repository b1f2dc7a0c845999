// Command podstartup measures pod startup latency on the node agent: from a pod's create
// being acknowledged to the pod being seen Running (and Ready) through a watch. It is a
// benchmark, not a test; every run starts a fresh cluster of real processes — the
// skiff-apiserver (embedded etcd), the skiff-scheduler with -scheduler (by default pods
// are created with spec.nodeName set: direct binding, the scheduler is not measured) and
// the skiff-nodeagent — and stops and cleans it up afterwards.
//
// Two cases:
//
//   - containerd: one containerd node (needs root; the agent starts its own containerd),
//     a busybox image imported locally (no registry), N pods running `sleep`. Reference,
//     in the same run against the same containerd: N raw containers of the same image
//     created and started through the containerd client (what `ctr run` does), with as
//     many in flight as the agent has pod workers;
//
//   - sim: `skiff-nodeagent --runtime sim --sim-nodes NODES --events=false`, N pods spread
//     evenly over the nodes; also the agent's RSS per node. Reference, in the same run
//     against the same API server before the agent starts: the rate at which it creates N
//     pods that no one acts on (unbound, and marked for no scheduler), with the same
//     creates in flight. With -backlog the pods are created before the agent starts, and
//     the clock runs from the agent's start (registering its nodes, listing the pods) to
//     the last pod Running.
//
// Also reported: the CPU time the agent (with its children: CNI plugins), the API server,
// containerd with its shims (and what they ran: runc, loggers) and the benchmark itself
// used while the pods started, and how busy the whole machine was.
//
//	go build -o bin/ ./cmd/... && go run ./test/bench/podstartup -bin bin            # both cases
//	go run ./test/bench/podstartup -bin bin -case containerd -pods 100 -runs 2
//	go run ./test/bench/podstartup -bin bin -case sim -nodes 1000 -pods 30000 -etcd-dir /dev/shm
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/test/images"
)

var (
	cases       = flag.String("case", "containerd,sim", "comma-separated cases: containerd, sim")
	podsFlag    = flag.Int("pods", 0, "pods per run (default 100 for containerd, 30000 for sim)")
	simNodes    = flag.Int("nodes", 1000, "simulated nodes (sim case)")
	runs        = flag.Int("runs", 1, "runs of each case, each on a fresh cluster")
	backlog     = flag.Bool("backlog", false, "sim: create the pods first, then start the agent, and time it from its start to the last pod Running")
	useSched    = flag.Bool("scheduler", false, "run skiff-scheduler and create unbound pods (default: spec.nodeName set, no scheduler)")
	concurrency = flag.Int("concurrency", 0, "pod creates in flight (default 16 for containerd, 64 for sim)")
	refConc     = flag.Int("ref-concurrency", 8, "raw containerd creates+starts in flight (the agent's pod workers)")
	binDir      = flag.String("bin", "", "directory of the skiff binaries (default: go build ./cmd/... into a temp dir)")
	keep        = flag.Bool("keep", false, "keep each run's data dir (logs) after it")
	agentArgs   = flag.String("agent-args", "", "extra skiff-nodeagent flags, space-separated")
	etcdDir     = flag.String("etcd-dir", "", "directory for etcd's data (default: the run's temp dir on disk; /dev/shm keeps disk latency out)")
	timeout     = flag.Duration("timeout", 10*time.Minute, "give up on a run after this long")
)

const (
	busyboxImage = "skiff.local/busybox:1"
	nodeName     = "podstartup"
	benchNS      = "bench"
	refNS        = "podstartup-ref" // the raw reference's containerd namespace
)

type result struct {
	name                string
	pods                int
	running, ready      stats
	runningPerSec       float64
	createPerSec        float64
	ref                 string // the reference, rendered
	refRate             float64
	refP50, refP99      time.Duration
	agentRSS, agentPeak int64
	agentIdleRSS        int64
	agentCPU, apiCPU    time.Duration // CPU time used while the pods started
	runtimeCPU          time.Duration // containerd, its shims and what they ran (runc, loggers)
	runtimeRSS          int64         // containerd and its shims, once the pods run
	runtimeProcs        int
	benchCPU            time.Duration // this process: creates, the watch
	podsCPU             time.Duration // the pods' processes (containerd: their cgroups)
	machineBusy         float64       // share of the machine's CPU busy (everyone's)
	elapsed             time.Duration // first create (backlog: agent start) → last pod Running
	nodes               int
	load                [3]float64
}

type stats struct{ p50, p90, p99, max time.Duration }

// interrupted ends with SIGINT or SIGTERM: the run in progress stops and cleans up.
var interrupted context.Context

func main() {
	flag.Parse()
	var stop context.CancelFunc
	interrupted, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, err := binaries()
	check(err)
	var results []result
	for _, c := range strings.Split(*cases, ",") {
		for run := 1; run <= *runs; run++ {
			fmt.Fprintf(os.Stderr, "podstartup: %s, run %d of %d ...\n", c, run, *runs)
			var r result
			switch c {
			case "containerd":
				r, err = runContainerd(bin)
			case "sim":
				r, err = runSim(bin)
			default:
				err = fmt.Errorf("unknown case %q", c)
			}
			check(err)
			fmt.Fprintf(os.Stderr, "podstartup:   p50 %v p99 %v, %.0f pods/s Running; %s\n", r.running.p50, r.running.p99, r.runningPerSec, r.ref)
			results = append(results, r)
		}
	}
	binding := "direct (spec.nodeName)"
	if *useSched {
		binding = "skiff-scheduler"
	}
	fmt.Printf("# podstartup: %d CPUs, binding %s, %s\n\n", runtime.NumCPU(), binding, time.Now().Format(time.RFC3339))
	fmt.Println("| case | pods | create→Running p50 | p90 | p99 | max | →Ready p99 | pods Running/s | pods created/s | reference (same run) | ratio | agent RSS idle → loaded | CPU: agent / API server / containerd+shims / pods / bench | machine busy, load avg |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		ratio, rss := "", ""
		if r.name == "containerd" {
			ratio = fmt.Sprintf("p50 %.1f×, p99 %.1f×", float64(r.running.p50)/float64(r.refP50), float64(r.running.p99)/float64(r.refP99))
			rss = fmt.Sprintf("%s → %s; containerd + %d shims: %s", mib(r.agentIdleRSS), mib(r.agentRSS), r.runtimeProcs-1, mib(r.runtimeRSS))
		} else {
			ratio = fmt.Sprintf("%.2f (Running/s ÷ creates/s)", r.runningPerSec/r.refRate)
			rss = fmt.Sprintf("%s → %s: %s per node (peak %s)", mib(r.agentIdleRSS), mib(r.agentRSS),
				kib(r.agentRSS/int64(r.nodes)), mib(r.agentPeak))
		}
		fmt.Printf("| %s | %d | %v | %v | **%v** | %v | %v | **%.0f** | %.0f | %s | %s | %s | %.1f / %.1f / %.1f / %.1f / %.1f s | %.0f%%, %.1f |\n",
			r.name, r.pods, r.running.p50, r.running.p90, r.running.p99, r.running.max, r.ready.p99,
			r.runningPerSec, r.createPerSec, r.ref, ratio, rss,
			r.agentCPU.Seconds(), r.apiCPU.Seconds(), r.runtimeCPU.Seconds(), r.podsCPU.Seconds(), r.benchCPU.Seconds(), 100*r.machineBusy, r.load[0])
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "podstartup:", err)
		os.Exit(1)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10)) }

// binaries returns -bin, or builds the skiff binaries into a temp dir.
func binaries() (string, error) {
	if *binDir != "" {
		return filepath.Abs(*binDir)
	}
	dir, err := os.MkdirTemp("", "podstartup-bin-")
	if err != nil {
		return "", err
	}
	fmt.Fprintln(os.Stderr, "podstartup: go build ./cmd/... into", dir)
	cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return dir, cmd.Run()
}

// ---- processes ----

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// stop sends SIGTERM, then SIGKILL after 20 s, and waits for the process to end.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// memory reads VmRSS and VmHWM (the peak) of the process, in bytes.
func (p *proc) memory() (rss, peak int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fs[1], 10, 64)
		switch fs[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return rss, peak
}

// cpu is the CPU time (user + system) the process and its reaped children have used.
func (p *proc) cpu() time.Duration { return cpuOf(p.cmd.Process.Pid) }

// rssMatching sums the RSS of the processes whose command line contains s (shared pages
// counted in each, as ps does), and counts them.
func rssMatching(s string) (rss int64, n int) {
	dirs, _ := os.ReadDir("/proc")
	for _, e := range dirs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), s) {
			p := &proc{cmd: &exec.Cmd{Process: &os.Process{Pid: pid}}}
			r, _ := p.memory()
			rss += r
			n++
		}
	}
	return rss, n
}

// cpuMatching sums cpuOf over the processes whose command line contains s.
func cpuMatching(s string) (d time.Duration) {
	dirs, _ := os.ReadDir("/proc")
	for _, e := range dirs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.Contains(string(b), s) {
			d += cpuOf(pid)
		}
	}
	return d
}

func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from the 3rd (state) on
	if len(fs) < 13 {
		return 0
	}
	var ticks int64
	for _, f := range fs[11:15] { // utime stime cutime cstime
		v, _ := strconv.ParseInt(f, 10, 64)
		ticks += v
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// cgroupCPU is the CPU time used in the cgroup (cgroup v2, else v1's cpuacct).
func cgroupCPU(cg string) time.Duration {
	if b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", cg, "cpu.stat")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "usage_usec "); ok {
				us, _ := strconv.ParseInt(v, 10, 64)
				return time.Duration(us) * time.Microsecond
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct", cg, "cpuacct.usage"))
	ns, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(ns)
}

// removeCgroupTree removes the (by now empty) cgroup directories under cg, deepest first,
// in every hierarchy.
func removeCgroupTree(cg string) {
	roots := []string{"/sys/fs/cgroup"}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		roots, _ = filepath.Glob("/sys/fs/cgroup/*")
	}
	for _, r := range roots {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(r, cg), func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}

func loadAvg() (l [3]float64) {
	b, _ := os.ReadFile("/proc/loadavg")
	fs := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(fs); i++ {
		l[i], _ = strconv.ParseFloat(fs[i], 64)
	}
	return l
}

// cluster is a control plane of real processes.
type cluster struct {
	dir, bin, kubeconfig string
	api, sched           *proc
	client               *client.Client
	pods                 *client.Typed[core.Pod, *core.Pod]
	nodes                *client.Typed[core.Node, *core.Node]
	procs                []*proc
	extra                []string // directories to remove too
}

func startCluster(bin string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "psb-") // short: containerd's socket path has a length limit
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: b\n  cluster:\n    server: " + url +
		"\nusers:\n- name: b\n  user: {}\ncontexts:\n- name: b\n  context:\n    cluster: b\n    user: b\ncurrent-context: b\n"
	if err := os.WriteFile(c.kubeconfig, []byte(kc), 0o600); err != nil {
		return nil, err
	}
	etcd := filepath.Join(dir, "etcd")
	if *etcdDir != "" {
		if etcd, err = os.MkdirTemp(*etcdDir, "psb-etcd-"); err != nil {
			return c, err
		}
		c.extra = append(c.extra, etcd)
	}
	if c.api, err = c.start("skiff-apiserver", "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data-dir", etcd, "--log-level", "warn", "--insecure"); err != nil { // pod start-up is measured, not TLS
		return c, err
	}
	if err := waitReady(url+"/readyz", c.api); err != nil {
		return c, err
	}
	if c.client, err = client.New(&client.Config{Host: url, UserAgent: "podstartup"}); err != nil {
		return c, err
	}
	c.pods = client.For[core.Pod](c.client, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	c.nodes = client.For[core.Node](c.client, client.Resource{Version: "v1", Resource: "nodes"})
	nss := client.For[core.Namespace](c.client, client.Resource{Version: "v1", Resource: "namespaces"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range []string{benchNS, "ref"} {
		if _, err := nss.Create(ctx, &core.Namespace{ObjectMeta: meta.ObjectMeta{Name: ns}}); err != nil {
			return c, fmt.Errorf("create namespace: %w", err)
		}
	}
	if *useSched {
		if c.sched, err = c.start("skiff-scheduler", "--kubeconfig", c.kubeconfig, "--metrics-addr", "",
			"--leader-elect=false", "--log-level", "warn"); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *cluster) start(name string, args ...string) (*proc, error) {
	p, err := startProc(c.dir, name, filepath.Join(c.bin, name), args...)
	if err == nil {
		c.procs = append(c.procs, p)
	}
	return p, err
}

// stop stops every process, the node agents first.
func (c *cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	for _, d := range c.extra {
		os.RemoveAll(d)
	}
	if !*keep {
		os.RemoveAll(c.dir)
	} else {
		fmt.Fprintln(os.Stderr, "podstartup: kept", c.dir)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(url string, p *proc) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited:\n%s", p.name, p.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60s:\n%s", p.name, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitNodes waits until n nodes are Ready.
func (c *cluster) waitNodes(n int, agent *proc) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		l, err := c.nodes.List(ctx, "", client.ListOptions{})
		cancel()
		ready := 0
		if err == nil {
			for _, nd := range l.Items {
				for _, cd := range nd.Status.Conditions {
					if cd.Type == core.NodeReady && cd.Status == core.ConditionTrue {
						ready++
					}
				}
			}
		}
		if ready >= n {
			return nil
		}
		if agent.exited() {
			return fmt.Errorf("the node agent exited:\n%s", agent.tail())
		}
		if interrupted.Err() != nil {
			return errors.New("interrupted")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes Ready after 5 minutes (%v):\n%s", ready, n, err, agent.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ---- the measurement ----

// tracker follows the bench namespace and records when each pod is first seen Running,
// and Ready.
type tracker struct {
	n              int
	acked          []atomic.Int64 // unix nanos: create acknowledged
	running, ready []atomic.Int64 // unix nanos: first seen
	count          atomic.Int64
	all            chan struct{}
}

func newTracker(n int) *tracker {
	return &tracker{n: n, acked: make([]atomic.Int64, n), running: make([]atomic.Int64, n),
		ready: make([]atomic.Int64, n), all: make(chan struct{})}
}

// follow lists and watches until every pod is Ready (or ctx ends), watching again from a
// fresh list when a watch ends.
func (t *tracker) follow(ctx context.Context, pods *client.Typed[core.Pod, *core.Pod], rv string) {
	for ctx.Err() == nil {
		if rv == "" {
			l, err := pods.List(ctx, benchNS, client.ListOptions{})
			if err != nil {
				time.Sleep(time.Second)
				continue
			}
			for i := range l.Items {
				if t.observe(&l.Items[i]) {
					return
				}
			}
			rv = l.ResourceVersion
		}
		w, err := pods.Watch(ctx, benchNS, client.ListOptions{ResourceVersion: rv})
		if err != nil {
			rv = ""
			continue
		}
		for ev := range w.ResultChan() {
			if ev.Type != meta.Added && ev.Type != meta.Modified {
				continue
			}
			if t.observe(ev.Object) {
				w.Stop()
				return
			}
		}
		rv = ""
	}
}

// observe records a pod's state; true once every pod is Ready.
func (t *tracker) observe(p *core.Pod) bool {
	var i int
	if _, err := fmt.Sscanf(p.Name, "pod-%d", &i); err != nil || i < 0 || i >= t.n {
		return false
	}
	now := time.Now().UnixNano()
	if p.Status.Phase == core.PodRunning {
		t.running[i].CompareAndSwap(0, now)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == core.PodReady && c.Status == core.ConditionTrue && t.ready[i].CompareAndSwap(0, now) {
			if t.count.Add(1) == int64(t.n) {
				close(t.all)
				return true
			}
		}
	}
	return false
}

func (t *tracker) stats(times []atomic.Int64) (s stats, last int64) {
	lat := make([]time.Duration, 0, t.n)
	for i := range times {
		at, a := times[i].Load(), t.acked[i].Load()
		if at == 0 || a == 0 {
			continue
		}
		last = max(last, at)
		lat = append(lat, max(0, time.Duration(at-a)))
	}
	return percentiles(lat), last
}

func percentiles(lat []time.Duration) stats {
	if len(lat) == 0 {
		return stats{}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	at := func(q float64) time.Duration {
		return lat[min(len(lat)-1, int(q*float64(len(lat))))].Round(time.Millisecond)
	}
	return stats{p50: at(0.50), p90: at(0.90), p99: at(0.99), max: lat[len(lat)-1].Round(time.Millisecond)}
}

// measure creates n pods (made by mk) and waits until all are Ready. With startAgent
// (backlog mode) the pods are created first and the agent is started afterwards: the
// clock, and every pod's latency, then start when the agent does. With runtimeMatch, the
// CPU time of the processes whose command line has it is measured too.
func (c *cluster) measure(n, conc int, mk func(i int) *core.Pod, agent *proc, startAgent func() (*proc, error), runtimeMatch string) (result, *proc, error) {
	res := result{pods: n}
	ctx, cancel := context.WithCancel(interrupted)
	defer cancel()
	l, err := c.pods.List(ctx, benchNS, client.ListOptions{Limit: 1})
	if err != nil {
		return res, agent, err
	}
	t := newTracker(n)
	go t.follow(ctx, c.pods, l.ResourceVersion)
	var agentCPU time.Duration
	if agent != nil {
		agentCPU = agent.cpu()
	}
	apiCPU, selfCPU, machine := c.api.cpu(), cpuOf(os.Getpid()), machineCPU()
	var rtCPU time.Duration
	if runtimeMatch != "" {
		rtCPU = cpuMatching(runtimeMatch)
	}
	start := time.Now()
	creating := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-creating:
				return
			case <-tick.C:
				fmt.Fprintf(os.Stderr, "podstartup:   creating; %d pods Ready after %v\n", t.count.Load(), time.Since(start).Round(time.Second))
			}
		}
	}()
	err = parallel(n, conc, func(i int) error {
		_, err := c.pods.Create(ctx, mk(i))
		if err == nil {
			t.acked[i].Store(time.Now().UnixNano())
		}
		return err
	})
	close(creating)
	if err != nil {
		return res, agent, fmt.Errorf("create pods: %w", err)
	}
	res.createPerSec = float64(n) / time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "podstartup:   %d pods created in %v\n", n, time.Since(start).Round(time.Millisecond))
	if startAgent != nil {
		start = time.Now()
		for i := range t.acked {
			t.acked[i].Store(start.UnixNano())
		}
		apiCPU, selfCPU, machine = c.api.cpu(), cpuOf(os.Getpid()), machineCPU()
		if agent, err = startAgent(); err != nil {
			return res, agent, err
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.After(*timeout)
	lastReport := time.Now()
	for done := false; !done; {
		select {
		case <-t.all:
			done = true
		case <-tick.C:
			if agent.exited() {
				return res, agent, fmt.Errorf("the node agent exited:\n%s", agent.tail())
			}
		case <-deadline:
			return res, agent, fmt.Errorf("only %d of %d pods Ready after %v:\n%s", t.count.Load(), n, *timeout, agent.tail())
		case <-interrupted.Done():
			return res, agent, errors.New("interrupted")
		}
		if time.Since(lastReport) >= 5*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(os.Stderr, "podstartup:   %d of %d pods Ready after %v\n", t.count.Load(), n, time.Since(start).Round(time.Second))
		}
	}
	res.load = loadAvg()
	res.agentCPU, res.apiCPU, res.benchCPU = agent.cpu()-agentCPU, c.api.cpu()-apiCPU, cpuOf(os.Getpid())-selfCPU
	res.machineBusy = machineCPU().busySince(machine)
	if runtimeMatch != "" {
		res.runtimeCPU = cpuMatching(runtimeMatch) - rtCPU
		res.runtimeRSS, res.runtimeProcs = rssMatching(runtimeMatch)
	}
	var last int64
	res.running, last = t.stats(t.running)
	res.ready, _ = t.stats(t.ready)
	res.elapsed = time.Unix(0, last).Sub(start)
	res.runningPerSec = float64(n) / res.elapsed.Seconds()
	res.agentRSS, res.agentPeak = agent.memory()
	return res, agent, nil
}

// cpuTimes are /proc/stat's first line: the machine's CPU time, busy and idle.
type cpuTimes struct{ busy, total time.Duration }

func machineCPU() (c cpuTimes) {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		d := time.Duration(v) * time.Second / 100
		c.total += d
		if i != 3 && i != 4 { // idle, iowait
			c.busy += d
		}
	}
	return c
}

// busySince is the share of the machine's CPU that was busy since then.
func (c cpuTimes) busySince(then cpuTimes) float64 {
	if c.total == then.total {
		return 0
	}
	return float64(c.busy-then.busy) / float64(c.total-then.total)
}

func parallel(n, conc int, op func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
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
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

func benchPod(i int, node, image string) *core.Pod {
	grace := int64(1)
	p := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: benchNS},
		Spec: core.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers: []core.Container{{Name: "app", Image: image, Command: []string{"sleep", "3600"},
				ImagePullPolicy: core.PullIfNotPresent}},
		},
	}
	if !*useSched {
		p.Spec.NodeName = node
	}
	return p
}

// ---- containerd ----

func runContainerd(bin string) (res result, err error) {
	if os.Geteuid() != 0 {
		return res, errors.New("the containerd case runs real containers and needs root")
	}
	n := *podsFlag
	if n == 0 {
		n = 100
	}
	c, err := startCluster(bin)
	defer func() {
		if c != nil {
			c.stop()
		}
	}()
	if err != nil {
		return res, err
	}
	nodeDir := filepath.Join(c.dir, "node")
	// A cgroup root of the run's own: what the pods' processes use (pause, runc init, the
	// app) is read from it, and other agents on the machine do not count.
	cgroup := "/" + filepath.Base(c.dir)
	defer removeCgroupTree(cgroup)
	args := []string{"--kubeconfig", c.kubeconfig, "--node-name", nodeName, "--data-dir", nodeDir, "--cgroup-root", cgroup,
		"--pod-cidr", "10.244.250.0/24", "--node-ip", "127.0.0.1", "--listen", "-", "--routes=false", "--log-level", "warn"}
	args = append(args, strings.Fields(*agentArgs)...)
	agent, err := c.start("skiff-nodeagent", args...)
	if err != nil {
		return res, err
	}
	// Whatever happens, the node's containers, network and containerd go (after the agent
	// has stopped: cluster.stop runs first, as it was deferred last).
	defer func() {
		out, cerr := exec.Command(filepath.Join(bin, "skiff-nodeagent"), "cleanup", "--data-dir", nodeDir).CombinedOutput()
		if cerr != nil {
			fmt.Fprintf(os.Stderr, "podstartup: cleanup: %v\n%s", cerr, out)
		}
	}()
	defer func() { agent.stop() }()

	arch := filepath.Join(c.dir, "busybox.tar")
	img, err := images.Busybox(busyboxImage)
	if err != nil {
		return res, err
	}
	if err := images.WriteFile(arch, img); err != nil {
		return res, err
	}
	for deadline := time.Now().Add(time.Minute); ; {
		out, err := exec.Command(filepath.Join(bin, "skiff-nodeagent"), "import", "--data-dir", nodeDir, arch).CombinedOutput()
		if err == nil {
			break
		}
		if time.Now().After(deadline) || agent.exited() || interrupted.Err() != nil {
			return res, fmt.Errorf("import: %v\n%s\n%s", err, out, agent.tail())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := c.waitNodes(1, agent); err != nil {
		return res, err
	}
	res.agentIdleRSS, _ = agent.memory()

	// The reference: raw containers through the containerd client, same image, same daemon.
	ref, err := rawContainerd(nodeDir, arch, n)
	if err != nil {
		return res, fmt.Errorf("raw containerd reference: %w", err)
	}

	conc := *concurrency
	if conc == 0 {
		conc = 16
	}
	podsCPU := cgroupCPU(cgroup)
	r, _, err := c.measure(n, conc, func(i int) *core.Pod { return benchPod(i, nodeName, busyboxImage) }, agent, nil,
		filepath.Join(nodeDir, "containerd"))
	r.podsCPU = cgroupCPU(cgroup) - podsCPU
	if err != nil {
		return res, err
	}
	r.name, r.nodes, r.agentIdleRSS = "containerd", 1, res.agentIdleRSS
	r.refP50, r.refP99, r.refRate = ref.p50, ref.p99, ref.rate
	r.ref = fmt.Sprintf("raw containerd create+start, %d in flight: p50 %v, p99 %v, %.0f/s", *refConc, ref.p50, ref.p99, ref.rate)
	return r, nil
}

type rawResult struct {
	p50, p99 time.Duration
	rate     float64
}

// rawContainerd creates and starts n containers of the busybox image in a namespace of its
// own on the node's containerd, -ref-concurrency at a time, and removes them again.
func rawContainerd(nodeDir, arch string, n int) (rawResult, error) {
	var res rawResult
	var info struct{ Address string }
	b, err := os.ReadFile(filepath.Join(nodeDir, "runtime.json"))
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return res, err
	}
	cl, err := ctrd.New(info.Address, ctrd.WithDefaultNamespace(refNS))
	if err != nil {
		return res, err
	}
	defer cl.Close()
	ctx := namespaces.WithNamespace(context.Background(), refNS)
	f, err := os.Open(arch)
	if err != nil {
		return res, err
	}
	metas, err := cl.Import(ctx, f)
	f.Close()
	if err != nil || len(metas) == 0 {
		return res, fmt.Errorf("import: %v", err)
	}
	img := ctrd.NewImage(cl, metas[0])
	if err := img.Unpack(ctx, "overlayfs"); err != nil {
		return res, err
	}
	ids := make([]string, n)
	tasks := make([]ctrd.Task, n)
	conts := make([]ctrd.Container, n)
	lat := make([]time.Duration, n)
	defer func() { // remove what was made, the image and the namespace
		cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		_ = parallel(n, 8, func(i int) error {
			if t := tasks[i]; t != nil {
				_, _ = t.Delete(cctx, ctrd.WithProcessKill)
			}
			if c := conts[i]; c != nil {
				_ = c.Delete(cctx, ctrd.WithSnapshotCleanup)
			}
			return nil
		})
		_ = cl.ImageService().Delete(cctx, img.Name())
		_ = cl.NamespaceService().Delete(cctx, refNS)
	}()
	start := time.Now()
	err = parallel(n, *refConc, func(i int) error {
		ids[i] = fmt.Sprintf("ref-%d-%d", start.UnixNano(), i)
		c, err := cl.NewContainer(ctx, ids[i], ctrd.WithImage(img), ctrd.WithSnapshotter("overlayfs"),
			ctrd.WithNewSnapshot(ids[i], img), ctrd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "3600")))
		if err != nil {
			return err
		}
		conts[i] = c
		t, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			return err
		}
		tasks[i] = t
		if err := t.Start(ctx); err != nil {
			return err
		}
		lat[i] = time.Since(start)
		return nil
	})
	if err != nil {
		return res, err
	}
	total := time.Since(start)
	s := percentiles(lat)
	return rawResult{p50: s.p50, p99: s.p99, rate: float64(n) / total.Seconds()}, nil
}

// ---- sim ----

func runSim(bin string) (res result, err error) {
	n := *podsFlag
	if n == 0 {
		n = 30000
	}
	nodes := *simNodes
	c, err := startCluster(bin)
	defer func() {
		if c != nil {
			c.stop()
		}
	}()
	if err != nil {
		return res, err
	}
	conc := *concurrency
	if conc == 0 {
		conc = 64
	}
	// The reference, before the agent starts: the same API server creating n pods no one
	// acts on (unbound, for a scheduler that does not exist), with as many in flight. They
	// stay (unbound pods are outside the agent's watch).
	refStart := time.Now()
	err = parallel(n, conc, func(i int) error {
		p := benchPod(i, "", "registry.k8s.io/pause:3.10")
		p.Namespace, p.Spec.NodeName, p.Spec.SchedulerName = "ref", "", "none"
		_, err := c.pods.Create(interrupted, p)
		return err
	})
	if err != nil {
		return res, fmt.Errorf("reference creates: %w", err)
	}
	refRate := float64(n) / time.Since(refStart).Seconds()
	fmt.Fprintf(os.Stderr, "podstartup:   reference: %.0f pod creates/s\n", refRate)

	args := []string{"--kubeconfig", c.kubeconfig, "--runtime", "sim", "--sim-nodes", strconv.Itoa(nodes),
		"--node-name", "sim", "--listen", "-", "--events=false", "--log-level", "warn"}
	args = append(args, strings.Fields(*agentArgs)...)
	startAgent := func() (*proc, error) {
		agent, err := c.start("skiff-nodeagent", args...)
		if err != nil {
			return nil, err
		}
		return agent, c.waitNodes(nodes, agent)
	}
	names := make([]string, nodes)
	for i := range names {
		names[i] = fmt.Sprintf("sim-%d", i)
	}
	if nodes == 1 {
		names[0] = "sim"
	}
	mk := func(i int) *core.Pod { return benchPod(i, names[i%nodes], "registry.k8s.io/pause:3.10") }
	var r result
	var agent *proc
	if *backlog {
		// The agent starts (registers its nodes, lists the pods) after the pods exist.
		if r, agent, err = c.measure(n, conc, mk, nil, startAgent, ""); err != nil {
			return res, err
		}
	} else {
		if agent, err = startAgent(); err != nil {
			return res, err
		}
		time.Sleep(2 * time.Second) // let the first status writes settle
		res.agentIdleRSS, _ = agent.memory()
		if r, _, err = c.measure(n, conc, mk, agent, nil, ""); err != nil {
			return res, err
		}
	}
	r.name, r.nodes, r.agentIdleRSS, r.refRate = "sim", nodes, res.agentIdleRSS, refRate
	if *backlog {
		r.name = "sim (backlog)"
	}
	r.ref = fmt.Sprintf("API pod creates, %d in flight: %.0f/s", conc, refRate)
	return r, nil
}
