package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/skiff-sh/skiff/pki"
)

// webhookCost measures what one no-op validating admission webhook costs a create: the
// webhook (an HTTPS server in this process, answering allowed) is registered for ConfigMaps
// in namespaces labelled hooked=yes, and creates alternate, in rounds, between a namespace it
// takes and one it does not, on the same server in the same run.
func webhookCost(hc *http.Client, base string) {
	ca, err := pki.NewCA("apibench-webhook")
	benchapi.Check("apibench", err)
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{CommonName: "webhook", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Usage: pki.ServerAuth})
	benchapi.Check("apibench", err)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	benchapi.Check("apibench", err)
	var calls atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	benchapi.Check("apibench", err)
	srv := &http.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var review struct {
				Request struct {
					UID string `json:"uid"`
				} `json:"request"`
			}
			_ = json.NewDecoder(r.Body).Decode(&review)
			calls.Add(1)
			fmt.Fprintf(w, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":%q,"allowed":true}}`, review.Request.UID)
		})}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()

	benchapi.Check("apibench", benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"hook-none"}}`))
	benchapi.Check("apibench", benchapi.Post(hc, base+"/api/v1/namespaces", `{"metadata":{"name":"hook-one","labels":{"hooked":"yes"}}}`))
	benchapi.Check("apibench", benchapi.Post(hc, base+"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", fmt.Sprintf(`{
		"metadata":{"name":"bench-noop"},
		"webhooks":[{"name":"noop.bench.example.com","clientConfig":{"url":"https://%s/","caBundle":%q},
			"rules":[{"operations":["CREATE"],"apiGroups":[""],"apiVersions":["v1"],"resources":["configmaps"]}],
			"namespaceSelector":{"matchLabels":{"hooked":"yes"}},"sideEffects":"None","admissionReviewVersions":["v1"]}]}`,
		ln.Addr(), base64.StdEncoding.EncodeToString(ca.CertPEM))))
	// The plugin reads configurations from the watch cache: wait until the webhook is called.
	for i := 0; calls.Load() == 0; i++ {
		benchapi.Check("apibench", benchapi.Post(hc, base+"/api/v1/namespaces/hook-one/configmaps", fmt.Sprintf(`{"metadata":{"name":"probe-%d"}}`, i)))
		if i > 1000 {
			benchapi.Check("apibench", fmt.Errorf("the webhook was never called"))
		}
	}
	calls.Store(0)
	creates := compareCreates(hc, base, "a validating webhook", "w",
		[2]string{"hook-none", "hook-one"}, [2]string{"no webhook takes them", "one no-op validating webhook (HTTPS) takes them"})
	fmt.Printf("\n(webhook calls during the phases: %d for %d hooked creates)\n", calls.Load(), len(creates[1].lat))
}

// compareCreates times ConfigMap creates in two namespaces, one that the admission step under
// test takes and one it does not, in alternating rounds on the same server, prints the table
// and returns the two results (none, one).
func compareCreates(hc *http.Client, base, what, prefix string, namespaces, names [2]string) []result {
	creates := make([]result, len(namespaces))
	const rounds = 3
	per := *n / rounds
	for r := 0; r < rounds; r++ {
		for i, ns := range namespaces {
			res := run(per, *concurrency, func(j int) error {
				return benchapi.Post(hc, base+"/api/v1/namespaces/"+ns+"/configmaps", fmt.Sprintf(`{"metadata":{"name":"%s-%d-%08d"},"data":{"v":"x"}}`, prefix, r, j))
			})
			creates[i] = merge(creates[i], res)
		}
	}
	fmt.Printf("\n## The cost of %s (same run, same server, %d in flight)\n\n", what, *concurrency)
	fmt.Println("| creates | creates/s | p50 | p99 | errors | ÷ none |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, name := range names {
		fmt.Printf("| %s | %.0f | %s | %s | %d | %.2f |\n", name, creates[i].rate(), creates[i].pct(50), creates[i].pct(99),
			creates[i].errors, creates[i].rate()/creates[0].rate())
	}
	return creates
}
