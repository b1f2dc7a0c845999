// Command ingressbench measures what skiff-ingress costs a request: requests/s and p99
// latency through the controller against the same requests straight to the backend, in the
// same run. The backend is a Go HTTP server on loopback answering 4 KiB (standing in for a
// pod; under skiff up the controller reaches pod IPs the same way, by a direct TCP
// connection), the controller is skiff-ingress itself (package ingress) fed by an in-process
// API server, and the load is C keep-alive connections sending GETs back to back. Rounds
// alternate direct and through-ingress so both see the same machine load; the medians of
// the rounds are reported with the ratios.
//
//	go run ./test/bench/ingressbench                       # 32 connections, 4 KiB, 5 rounds of 3 s each way
//	go run ./test/bench/ingressbench -conns 32 -size 4096 -rounds 5 -round 3s
package main

import (
	"bytes"
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
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/ingress"
	"github.com/skiff-sh/skiff/ingress/table"
	"github.com/skiff-sh/skiff/storage"
)

var (
	conns  = flag.Int("conns", 32, "concurrent keep-alive connections")
	size   = flag.Int("size", 4096, "response body bytes")
	rounds = flag.Int("rounds", 5, "rounds each way (alternating)")
	round  = flag.Duration("round", 3*time.Second, "length of one round")
)

func main() {
	flag.Parse()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	body := bytes.Repeat([]byte("x"), *size)
	backendL, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go (&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})}).Serve(backendL)

	c := startCluster(ctx, backendL.Addr().(*net.TCPAddr).Port)
	httpL, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	ready := make(chan *ingress.Controller, 1)
	go func() {
		err := ingress.Run(ctx, ingress.Config{Client: c, NodeName: "bench", HTTPListener: httpL, HTTPSAddr: "-",
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: func(c *ingress.Controller) { ready <- c }})
		if err != nil && ctx.Err() == nil {
			check(err)
		}
	}()
	ctrl := <-ready
	for ctrl.Table().Match("bench.example.com", "/") == nil || len(ctrl.Table().Match("bench.example.com", "/").Endpoints) == 0 {
		time.Sleep(20 * time.Millisecond)
	}

	direct := "http://" + backendL.Addr().String() + "/"
	through := "http://" + httpL.Addr().String() + "/"
	fmt.Printf("ingressbench: %d connections, %d-byte responses, %d rounds of %s each way, GOMAXPROCS=%s\n",
		*conns, *size, *rounds, *round, runtimeProcs())
	var d, i []result
	for r := 0; r < *rounds; r++ {
		d = append(d, load(direct, ""))
		i = append(i, load(through, "bench.example.com"))
	}
	dm, im := median(d), median(i)
	fmt.Printf("%-16s %12s %10s %10s\n", "path", "requests/s", "p50", "p99")
	fmt.Printf("%-16s %12.0f %10s %10s\n", "direct", dm.rps, dm.p50, dm.p99)
	fmt.Printf("%-16s %12.0f %10s %10s\n", "through ingress", im.rps, im.p50, im.p99)
	fmt.Printf("ratio (ingress ÷ direct): requests/s %.2f, p99 %.2f\n", im.rps/dm.rps, float64(im.p99)/float64(dm.p99))
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// load sends GETs on *conns connections for one round.
func load(url, host string) result {
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns, Proxy: nil}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	deadline := time.Now().Add(*round)
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", url, nil)
				if host != "" {
					req.Host = host
				}
				t0 := time.Now()
				resp, err := hc.Do(req)
				check(err)
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(*size) {
					check(fmt.Errorf("%s: %s, %d bytes", url, resp.Status, n))
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	return result{rps: float64(len(lat)) / el.Seconds(), p50: pct(lat, 50), p99: pct(lat, 99)}
}

func pct(s []time.Duration, p int) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Microsecond)
}

func median(rs []result) result {
	pick := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return result{rps: pick(func(r result) float64 { return r.rps }),
		p50: time.Duration(pick(func(r result) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r result) float64 { return float64(r.p99) }))}
}

// startCluster runs embedded etcd and an API server without TLS or authorization (the
// benchmark measures the data path, not the API), with a Service whose one endpoint is the
// backend and an Ingress routing bench.example.com to it.
func startCluster(ctx context.Context, backendPort int) *client.Client {
	dir, err := os.MkdirTemp("", "ingressbench-")
	check(err)
	go func() { <-ctx.Done(); os.RemoveAll(dir) }()
	check(os.MkdirAll(filepath.Join(dir, "etcd"), 0o700))
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	check(err)
	api, err := apiserver.New(ctx, apiserver.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true},
		storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
	check(err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	go (&http.Server{Handler: api.Handler()}).Serve(ln)
	c, err := client.New(&client.Config{Host: "http://" + ln.Addr().String()})
	check(err)
	port, proto, name := int32(backendPort), core.ProtocolTCP, "http"
	_, err = client.For[core.Service](c, ingress.ServicesResource).Create(ctx, &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "bench"},
		Spec: core.ServiceSpec{Ports: []core.ServicePort{{Name: name, Port: 80, Protocol: proto}}}})
	check(err)
	_, err = client.For[discovery.EndpointSlice](c, ingress.EndpointSlicesResource).Create(ctx, &discovery.EndpointSlice{
		ObjectMeta:  meta.ObjectMeta{Namespace: "default", Name: "bench-1", Labels: map[string]string{table.LabelServiceName: "bench"}},
		AddressType: discovery.AddressTypeIPv4, Endpoints: []discovery.Endpoint{{Addresses: []string{"127.0.0.1"}}},
		Ports: []discovery.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}}})
	check(err)
	pt := networking.PathTypePrefix
	_, err = client.For[networking.Ingress](c, ingress.IngressesResource).Create(ctx, &networking.Ingress{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "bench"},
		Spec: networking.IngressSpec{Rules: []networking.IngressRule{{Host: "bench.example.com", IngressRuleValue: networking.IngressRuleValue{
			HTTP: &networking.HTTPIngressRuleValue{Paths: []networking.HTTPIngressPath{{Path: "/", PathType: &pt,
				Backend: networking.IngressBackend{Service: &networking.IngressServiceBackend{Name: "bench", Port: networking.ServiceBackendPort{Number: 80}}}}}}}}}}})
	check(err)
	return c
}

func runtimeProcs() string { return strconv.Itoa(runtime.GOMAXPROCS(0)) }

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingressbench:", err)
		os.Exit(1)
	}
}
