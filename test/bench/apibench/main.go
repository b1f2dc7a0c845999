// Command apibench measures the API server against the etcd under it, in one run, so results
// can be reported as ratios: raw etcd puts/s through the same etcd client, then API creates/s,
// gets/s, lists of 1,000 objects (consistent and resourceVersion=0), and watch fan-out (events/s
// delivered to 100 watchers during 1,000 creates), custom resource creates against ConfigMap
// creates (crd.go), and the cost of security. It is a benchmark, not a test.
//
//	go run ./test/bench/apibench [-n 5000] [-concurrency 16] [-watchers 100] [-crd-only] [-ssa-only]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"io"
	"log/slog"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/storage"
)

var (
	n           = flag.Int("n", 5000, "operations per phase")
	concurrency = flag.Int("concurrency", 16, "requests in flight")
	watchers    = flag.Int("watchers", 100, "watchers in the fan-out phase")
	watchEvents = flag.Int("watch-creates", 1000, "creates in the fan-out phase")
	crdOnly     = flag.Bool("crd-only", false, "run only the custom resource phase (crd.go)")
	webhookOnly = flag.Bool("webhook-only", false, "run only the admission webhook phase")
	policyOnly  = flag.Bool("policy-only", false, "run only the ValidatingAdmissionPolicy phase (policy.go)")
	ssaOnly     = flag.Bool("ssa-only", false, "run only the server-side apply phase (ssa.go)")
	versOnly    = flag.Bool("versions-only", false, "run only the converted-version phase (versions.go)")
)

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "apibench-")
	benchapi.Check("apibench", err)
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchapi.Check("apibench", os.MkdirAll(filepath.Join(dir, "etcd"), 0o700))
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	benchapi.Check("apibench", err)
	defer e.Close()
	defer cancel() // stop the watch caches before etcd
	cli := e.Client()

	value := bytes.Repeat([]byte("x"), 300)
	raw := run(*n, *concurrency, func(i int) error {
		_, err := cli.Put(ctx, fmt.Sprintf("/bench/raw/%08d", i), string(value))
		return err
	})

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The main phases measure the API server alone (no TLS, no authentication or
	// authorization); the security phases below measure what those cost.
	api, err := apiserver.New(ctx, apiserver.Config{Logger: logger, Insecure: true}, storage.NewEtcd(cli, storage.EtcdOptions{}))
	benchapi.Check("apibench", err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	benchapi.Check("apibench", err)
	srv := &http.Server{Handler: api.Handler()}
	go srv.Serve(ln)
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}

	if *webhookOnly {
		webhookCost(hc, base)
		srv.Close()
		return
	}
	if *policyOnly {
		policyCost(hc, base)
		srv.Close()
		return
	}
	for _, ns := range []string{"bench", "bench-list", "bench-watch"} {
		benchapi.Post(hc, base+"/api/v1/namespaces", fmt.Sprintf(`{"metadata":{"name":%q}}`, ns))
	}
	if *crdOnly {
		crdCost(hc, base, string(value), *n)
		return
	}
	if *ssaOnly {
		ssaCost(hc, base, *n)
		return
	}
	if *versOnly {
		versionsCost(hc, base, *n)
		return
	}
	cmBody := func(name string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"app":"bench"}},"data":{"v":%q}}`, name, value)
	}
	creates := run(*n, *concurrency, func(i int) error {
		return benchapi.Post(hc, base+"/api/v1/namespaces/bench/configmaps", cmBody(fmt.Sprintf("cm-%08d", i)))
	})
	gets := run(*n*2, *concurrency, func(i int) error {
		return benchapi.GetOK(hc, fmt.Sprintf("%s/api/v1/namespaces/bench/configmaps/cm-%08d", base, rand.Intn(*n)))
	})
	updates := run(*n, *concurrency, func(i int) error {
		// A changed value, so every update is a real write (an unchanged one writes nothing).
		body := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%08d","labels":{"app":"bench"}},"data":{"v":"updated-%d"}}`, i, i)
		return benchapi.Put(hc, fmt.Sprintf("%s/api/v1/namespaces/bench/configmaps/cm-%08d", base, i), body)
	})
	run(1000, *concurrency, func(i int) error {
		return benchapi.Post(hc, base+"/api/v1/namespaces/bench-list/configmaps", cmBody(fmt.Sprintf("l-%04d", i)))
	})
	listConsistent := run(50, 1, func(int) error { return benchapi.GetOK(hc, base+"/api/v1/namespaces/bench-list/configmaps") })
	listRV0 := run(50, 1, func(int) error {
		return benchapi.GetOK(hc, base+"/api/v1/namespaces/bench-list/configmaps?resourceVersion=0")
	})

	fan := fanOut(hc, base, cmBody)

	fmt.Printf("# apibench: %d ops/phase, %d in flight, %s\n\n", *n, *concurrency, time.Now().Format(time.RFC3339))
	fmt.Println("| operation | rate | p50 | p99 | errors |")
	fmt.Println("|---|---|---|---|---|")
	row := func(name string, r result) {
		fmt.Printf("| %s | %.0f/s | %s | %s | %d |\n", name, r.rate(), r.pct(50), r.pct(99), r.errors)
	}
	row("raw etcd put (same client)", raw)
	row("API create (ConfigMap)", creates)
	row("API get", gets)
	row("API update (PUT)", updates)
	row("API list of 1,000, consistent", listConsistent)
	row("API list of 1,000, resourceVersion=0", listRV0)
	fmt.Printf("| watch fan-out: %d watchers × %d creates | %.0f events/s delivered | create→event p50 %s | p99 %s | %d missing |\n",
		*watchers, *watchEvents, fan.eventsPerSec, fan.p50, fan.p99, fan.missing)
	fmt.Printf("\n**API creates/s ÷ raw etcd puts/s = %.2f** (get ÷ put %.2f, update ÷ put %.2f)\n",
		creates.rate()/raw.rate(), gets.rate()/raw.rate(), updates.rate()/raw.rate())
	crdCost(hc, base, string(value), *n)
	webhookCost(hc, base)
	policyCost(hc, base)
	securityCost(ctx, cli, logger, base, hc, dir)
	srv.Close()
}

type result struct {
	lat     []time.Duration
	elapsed time.Duration
	errors  int64
}

func (r result) rate() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond)
}

// run calls op(0..count-1) from conc goroutines and times each call.
func run(count, conc int, op func(i int) error) result {
	var next atomic.Int64
	var errs atomic.Int64
	lat := make([]time.Duration, count)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				t := time.Now()
				if err := op(i); err != nil {
					errs.Add(1)
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return result{lat: lat, elapsed: time.Since(start), errors: errs.Load()}
}

type fanResult struct {
	eventsPerSec float64
	p50, p99     time.Duration
	missing      int
}

// fanOut opens the watchers, then creates objects and waits until every watcher has every event.
func fanOut(hc *http.Client, base string, body func(string) string) fanResult {
	url := base + "/api/v1/namespaces/bench-watch/configmaps?watch=true&resourceVersion=0"
	sent := make([]atomic.Int64, *watchEvents) // unix nanos when create i was sent
	var received atomic.Int64
	latCh := make(chan time.Duration, *watchers**watchEvents)
	var ready, done sync.WaitGroup
	total := *watchers * *watchEvents
	for w := 0; w < *watchers; w++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			resp, err := hc.Get(url)
			if err != nil {
				ready.Done()
				return
			}
			defer resp.Body.Close()
			ready.Done()
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			got := 0
			for sc.Scan() {
				line := sc.Bytes()
				if i := bytes.Index(line, []byte(`"name":"w-`)); i >= 0 {
					var idx int
					fmt.Sscanf(string(line[i+10:i+18]), "%d", &idx)
					if idx < len(sent) {
						latCh <- time.Duration(time.Now().UnixNano() - sent[idx].Load())
					}
				}
				got++
				received.Add(1)
				if got == *watchEvents {
					return
				}
			}
		}()
	}
	ready.Wait()
	time.Sleep(200 * time.Millisecond) // let every watch register before the first create
	start := time.Now()
	run(*watchEvents, *concurrency, func(i int) error {
		sent[i].Store(time.Now().UnixNano())
		return benchapi.Post(hc, base+"/api/v1/namespaces/bench-watch/configmaps", body(fmt.Sprintf("w-%08d", i)))
	})
	waitCh := make(chan struct{})
	go func() { done.Wait(); close(waitCh) }()
	select {
	case <-waitCh:
	case <-time.After(60 * time.Second):
	}
	elapsed := time.Since(start)
	close(latCh)
	var lat []time.Duration
	for l := range latCh {
		lat = append(lat, l)
	}
	r := result{lat: lat}
	return fanResult{eventsPerSec: float64(received.Load()) / elapsed.Seconds(), p50: r.pct(50), p99: r.pct(99),
		missing: total - int(received.Load())}
}
