// Command fairbench measures what API Priority and Fairness buys well-behaved clients
// while a noisy one floods the server: the latency of a node agent's GETs of its Node (the
// node-high priority level) and of a quiet user's GETs (global-default, the noisy user's
// own level, in a flow of its own) with no noise, with noise against a server without the
// filter, and with noise against one with it (Kubernetes' default configuration). Both servers share one embedded etcd and serve TLS
// with RBAC; neither user is in system:masters (which would be exempt). The noisy client
// behaves as client-go does: it honours a 429's Retry-After. Phases alternate so that load
// from elsewhere on the machine hits them alike. It is a benchmark, not a test.
//
//	go run ./test/bench/fairbench [-noisy 200] [-objects 1000] [-duration 8s] [-rounds 2] [-max-inflight 600]
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/storage"
)

var (
	noisy       = flag.Int("noisy", 200, "concurrent requests the noisy client keeps in flight")
	objects     = flag.Int("objects", 1000, "ConfigMaps (1 KiB each) in the namespace the noisy client lists")
	duration    = flag.Duration("duration", 8*time.Second, "length of each phase")
	rounds      = flag.Int("rounds", 2, "times the phases are repeated, alternating")
	maxInflight = flag.Int("max-inflight", 600, "seats of the server with the filter (--max-requests-inflight + --max-mutating-requests-inflight)")
)

func main() {
	flag.Parse()
	dir, err := os.MkdirTemp("", "fairbench-")
	benchapi.Check("fairbench", err)
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchapi.Check("fairbench", os.MkdirAll(filepath.Join(dir, "etcd"), 0o700))
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{})
	benchapi.Check("fairbench", err)
	defer e.Close()
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := pki.OpenDir(filepath.Join(dir, "pki"))
	benchapi.Check("fairbench", err)
	_, _, err = d.Ensure(pki.APIServerName, pki.APIServerServing(nil))
	benchapi.Check("fairbench", err)
	serve := func(apf bool) string {
		cfg := apiserver.Config{Logger: logger, TLSCertFile: d.CertFile(pki.APIServerName), TLSKeyFile: d.KeyFile(pki.APIServerName),
			ClientCAFile: d.File(pki.CACert), DisablePriorityAndFairness: !apf,
			MaxRequestsInflight: *maxInflight * 2 / 3, MaxMutatingRequestsInflight: *maxInflight - *maxInflight*2/3}
		api, err := apiserver.New(ctx, cfg, storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
		benchapi.Check("fairbench", err)
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		benchapi.Check("fairbench", err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		benchapi.Check("fairbench", err)
		srv := &http.Server{Handler: api.Handler(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}}
		go srv.ServeTLS(ln, "", "")
		return "https://" + ln.Addr().String()
	}
	on, off := serve(true), serve(false)
	userClient := func(user string, groups ...string) *http.Client {
		cert, key, err := d.CA.Issue(pki.CertRequest{CommonName: user, Organization: groups, Usage: pki.ClientAuth})
		benchapi.Check("fairbench", err)
		hc, err := (&client.Config{Host: on, TLS: client.TLSConfig{CAData: d.CA.CertPEM, CertData: cert, KeyData: key}}).HTTPClient()
		benchapi.Check("fairbench", err)
		hc.Transport.(*http.Transport).MaxIdleConnsPerHost = *noisy
		return hc
	}
	admin := userClient("bench-admin", "system:masters")
	benchapi.Check("fairbench", benchapi.Post(admin, on+"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
		"metadata":{"name":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
		"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"noisy"},{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"quiet"}]}`))
	benchapi.Check("fairbench", benchapi.Post(admin, on+"/api/v1/namespaces", `{"metadata":{"name":"flood"}}`))
	data := strings.Repeat("x", 1024)
	for i := 0; i < *objects; i++ {
		benchapi.Check("fairbench", benchapi.Post(admin, on+"/api/v1/namespaces/flood/configmaps", fmt.Sprintf(`{"metadata":{"name":"cm-%05d"},"data":{"d":%q}}`, i, data)))
	}
	benchapi.Check("fairbench", benchapi.Post(admin, on+"/api/v1/namespaces/default/configmaps", `{"metadata":{"name":"quiet"}}`))
	benchapi.Check("fairbench", benchapi.Post(admin, on+"/api/v1/nodes", `{"metadata":{"name":"bench-node"}}`))
	noisyHC, quietHC := userClient("noisy"), userClient("quiet")
	nodeHC := userClient("system:node:bench-node", "system:nodes")
	well := []wellBehaved{
		{"node agent (node-high)", nodeHC, "/api/v1/nodes/bench-node"},
		{"quiet user (global-default)", quietHC, "/api/v1/namespaces/default/configmaps/quiet"},
	}
	// Both servers learn the binding by watch: wait until each lets the users in.
	for _, base := range []string{on, off} {
		for benchapi.GetOK(quietHC, base+well[1].path) != nil || benchapi.GetOK(nodeHC, base+well[0].path) != nil || benchapi.GetOK(noisyHC, base+"/api/v1/namespaces/flood/configmaps?limit=1") != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}

	fmt.Printf("fairbench: well-behaved GETs while %d noisy LISTs of %d ConfigMaps (1 KiB) are in flight; %s per phase, %d rounds, %d seats with fairness\n",
		*noisy, *objects, *duration, *rounds, *maxInflight)
	phases := []string{"no noise", "noise, no fairness", "noise, fairness"}
	results := map[string]*phase{}
	for r := 0; r < *rounds; r++ {
		for _, name := range phases {
			base := on
			if name == "noise, no fairness" {
				base = off
			}
			res := measure(base, well, noisyHC, name != "no noise")
			if results[name] == nil {
				results[name] = &phase{lat: make([][]time.Duration, len(well))}
			}
			results[name].add(res)
		}
	}
	for i, w := range well {
		fmt.Printf("%s:\n", w.name)
		for _, name := range phases {
			p := results[name]
			fmt.Printf("  %-20s p50 %9s  p99 %9s  (%5d GETs)\n", name, pct(p.lat[i], 50), pct(p.lat[i], 99), len(p.lat[i]))
		}
		off, on := results["noise, no fairness"].lat[i], results["noise, fairness"].lat[i]
		fmt.Printf("  latency under noise, without ÷ with fairness: p50 %.2f×, p99 %.2f×\n",
			float64(pct(off, 50))/float64(pct(on, 50)), float64(pct(off, 99))/float64(pct(on, 99)))
	}
	for _, name := range phases[1:] {
		fmt.Printf("noisy client, %s: %d lists served, %d refused (429)\n", name, results[name].noisyOK, results[name].noisy429)
	}
}

// wellBehaved is a client that sends one GET at a time.
type wellBehaved struct {
	name string
	hc   *http.Client
	path string
}

type phase struct {
	lat               [][]time.Duration // per well-behaved client
	noisyOK, noisy429 int64
}

func (p *phase) add(q *phase) {
	for i := range q.lat {
		p.lat[i] = append(p.lat[i], q.lat[i]...)
	}
	p.noisyOK += q.noisyOK
	p.noisy429 += q.noisy429
}

// measure runs each well-behaved client's sequential GETs for one phase, at the same
// time, with the noisy client's concurrent LISTs alongside when noise is set.
func measure(base string, well []wellBehaved, noisyHC *http.Client, noise bool) *phase {
	res := phase{lat: make([][]time.Duration, len(well))}
	var ok, refused atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if noise {
		for i := 0; i < *noisy; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := noisyHC.Get(base + "/api/v1/namespaces/flood/configmaps")
					if err != nil {
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					switch resp.StatusCode {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
						select { // as client-go: wait Retry-After (1 s) before retrying
						case <-stop:
							return
						case <-time.After(time.Second):
						}
					}
				}
			}()
		}
		time.Sleep(time.Second) // let the flood build up before measuring
	}
	end := time.Now().Add(*duration)
	var wellWG sync.WaitGroup
	for i, w := range well {
		wellWG.Add(1)
		go func() {
			defer wellWG.Done()
			for time.Now().Before(end) {
				start := time.Now()
				benchapi.Check("fairbench", benchapi.GetOK(w.hc, base+w.path))
				res.lat[i] = append(res.lat[i], time.Since(start))
			}
		}()
	}
	wellWG.Wait()
	close(stop)
	wg.Wait()
	res.noisyOK, res.noisy429 = ok.Load(), refused.Load()
	return &res
}

func pct(lat []time.Duration, p int) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)].Round(10 * time.Microsecond)
}
