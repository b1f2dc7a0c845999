// Command cmbench measures the controller manager on a running cluster (see
// docs/PERFORMANCE.md for how to start one with simulated nodes): it creates Deployments,
// times how long until all are available, then rolls all of them to a new template and
// times that, and reports the pods the controller manager created per second with its CPU
// time and peak memory (read from its /metrics).
//
//	go run ./controllermanager/internal/cmbench --kubeconfig DIR/kubeconfig \
//	    --deployments 100 --replicas 10 --metrics "$(awk '/controller-manager/ {print $2}' DIR/metrics)"
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

var (
	deployments = client.Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}
	namespaces  = client.Resource{Version: "v1", Resource: "namespaces"}
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	n := flag.Int("deployments", 100, "Deployments to create")
	replicas := flag.Int("replicas", 10, "replicas of each")
	ns := flag.String("namespace", "cmbench", "namespace to work in (created, and deleted at the end)")
	metricsURL := flag.String("metrics", "http://127.0.0.1:10257/metrics", "the controller manager's /metrics")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long per phase")
	flag.Parse()

	cfg, err := client.LoadKubeconfig(*kubeconfig, "")
	check(err)
	cfg.QPS = 0
	c, err := client.New(cfg)
	check(err)
	ctx := context.Background()
	_, err = client.For[core.Namespace](c, namespaces).Create(ctx, &core.Namespace{
		TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: *ns}})
	if err != nil && !client.IsAlreadyExists(err) {
		check(err)
	}
	d := client.For[apps.Deployment](c, deployments)
	mon := startMonitor(*metricsURL)

	fmt.Printf("controller manager benchmark: %d Deployments x %d replicas\n", *n, *replicas)
	// The reference, measured in this run: the same number of pods created directly through
	// the API by 16 clients (bound to a node that does not exist, so that nothing else acts
	// on them), the API server's ceiling for what the controllers do.
	pods := client.For[core.Pod](c, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
	start := time.Now()
	parallel(*n**replicas, 16, func(i int) error {
		_, err := pods.Create(ctx, &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Namespace: *ns, Name: fmt.Sprintf("ref-%d", i)},
			Spec:       core.PodSpec{NodeName: "cmbench-nowhere", Containers: []core.Container{{Name: "app", Image: "busybox:1"}}}})
		return err
	})
	refRate := float64(*n**replicas) / time.Since(start).Seconds()
	fmt.Printf("%-16s %8.2fs  %7.0f pods/s  (reference: direct pod creates)\n", "raw pod creates", time.Since(start).Seconds(), refRate)
	parallel(*n**replicas, 16, func(i int) error {
		zero := int64(0)
		err := pods.Delete(ctx, *ns, fmt.Sprintf("ref-%d", i), &meta.DeleteOptions{GracePeriodSeconds: &zero})
		if client.IsNotFound(err) {
			return nil
		}
		return err
	})
	phase := func(name string, act func(i int) error) {
		mon.mark()
		start := time.Now()
		parallel(*n, 16, act)
		waitAll(ctx, d, *ns, *n, *replicas, *timeout)
		elapsed := time.Since(start)
		cpu, rss := mon.since()
		pods := *n * *replicas
		rate := float64(pods) / elapsed.Seconds()
		fmt.Printf("%-16s %8.2fs  %7.0f pods/s (%.2f of the reference)  cm cpu %6.2fs (%3.0f%% of a core)  cm peak rss %4.0f MiB\n",
			name, elapsed.Seconds(), rate, rate/refRate, cpu, 100*cpu/elapsed.Seconds(), rss/(1<<20))
	}
	phase("create+available", func(i int) error {
		_, err := d.Create(ctx, deployment(*ns, i, *replicas))
		return err
	})
	phase("rolling update", func(i int) error {
		_, err := d.Patch(ctx, *ns, fmt.Sprintf("bench-%d", i), client.StrategicMergePatchType,
			[]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"busybox:2"}]}}}}`))
		return err
	})
	check(client.For[core.Namespace](c, namespaces).Delete(ctx, "", *ns, nil))
}

func deployment(ns string, i, replicas int) *apps.Deployment {
	r := int32(replicas)
	name := fmt.Sprintf("bench-%d", i)
	return &apps.Deployment{
		TypeMeta:   meta.TypeMeta{Kind: "Deployment", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name},
		Spec: apps.DeploymentSpec{
			Replicas: &r,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": name}},
				Spec: core.PodSpec{Containers: []core.Container{{Name: "app", Image: "busybox:1",
					Command: []string{"sleep", "infinity"}}}},
			},
		},
	}
}

// parallel runs act(0..n-1) on workers goroutines.
func parallel(n, workers int, act func(i int) error) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				check(act(i))
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// waitAll polls until every Deployment is rolled out (what kubectl rollout status checks).
func waitAll(ctx context.Context, d *client.Typed[apps.Deployment, *apps.Deployment], ns string, n, replicas int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		list, err := d.List(ctx, ns, client.ListOptions{})
		check(err)
		done := 0
		for _, x := range list.Items {
			s := x.Status
			if s.ObservedGeneration >= x.Generation && int(s.UpdatedReplicas) == replicas &&
				int(s.Replicas) == replicas && int(s.AvailableReplicas) == replicas {
				done++
			}
		}
		if done == n {
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "timed out: %d of %d rolled out\n", done, n)
			os.Exit(1)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// monitor samples the controller manager's CPU time and memory from its /metrics.
type monitor struct {
	url      string
	mu       sync.Mutex
	cpu      float64
	cpuStart float64
	peakRSS  float64
}

func startMonitor(url string) *monitor {
	m := &monitor{url: url}
	go func() {
		for {
			cpu, rss, err := scrape(url)
			if err == nil {
				m.mu.Lock()
				m.cpu = cpu
				m.peakRSS = max(m.peakRSS, rss)
				m.mu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return m
}

func (m *monitor) mark() {
	cpu, rss, err := scrape(m.url)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.cpu, m.peakRSS = cpu, rss
	}
	m.cpuStart = m.cpu
}

func (m *monitor) since() (cpu, peakRSS float64) {
	if c, rss, err := scrape(m.url); err == nil {
		m.mu.Lock()
		m.cpu, m.peakRSS = c, max(m.peakRSS, rss)
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cpu - m.cpuStart, m.peakRSS
}

func scrape(url string) (cpu, rss float64, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range []struct {
			name string
			into *float64
		}{{"process_cpu_seconds_total ", &cpu}, {"process_resident_memory_bytes ", &rss}} {
			if v, ok := strings.CutPrefix(line, m.name); ok {
				*m.into, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return cpu, rss, sc.Err()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cmbench:", err)
		os.Exit(1)
	}
}
