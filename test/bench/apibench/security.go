package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/skiff-sh/skiff/test/bench/internal/benchapi"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/storage"
)

// securityCost measures what TLS, authentication and RBAC cost, in the same run and over the
// same etcd: creates and gets against the server without security (plainBase, plain HTTP),
// against a second server serving TLS with client-certificate authentication but allowing
// everything, and against a third with RBAC, as a user who is not in system:masters and is
// allowed by a ClusterRoleBinding (so every request goes through the RBAC index). The
// phases alternate so that load from elsewhere on the machine hits them alike.
func securityCost(ctx context.Context, cli *clientv3.Client, logger *slog.Logger, plainBase string, plain *http.Client, dir string) {
	d, err := pki.OpenDir(filepath.Join(dir, "pki"))
	benchapi.Check("apibench", err)
	_, _, err = d.Ensure(pki.APIServerName, pki.APIServerServing(nil))
	benchapi.Check("apibench", err)
	serve := func(mode string) string {
		cfg := apiserver.Config{Logger: logger, Authorization: mode,
			TLSCertFile: d.CertFile(pki.APIServerName), TLSKeyFile: d.KeyFile(pki.APIServerName), ClientCAFile: d.File(pki.CACert)}
		api, err := apiserver.New(ctx, cfg, storage.NewEtcd(cli, storage.EtcdOptions{}))
		benchapi.Check("apibench", err)
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		benchapi.Check("apibench", err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		benchapi.Check("apibench", err)
		srv := &http.Server{Handler: api.Handler(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert},
			ClientAuth: tls.RequestClientCert, NextProtos: []string{"h2", "http/1.1"}}}
		go srv.ServeTLS(ln, "", "")
		return "https://" + ln.Addr().String()
	}
	tlsBase, rbacBase := serve("AlwaysAllow"), serve("Node,RBAC")
	userClient := func(base, user string, groups ...string) *http.Client {
		cert, key, err := d.CA.Issue(pki.CertRequest{CommonName: user, Organization: groups, Usage: pki.ClientAuth})
		benchapi.Check("apibench", err)
		hc, err := (&client.Config{Host: base, TLS: client.TLSConfig{CAData: d.CA.CertPEM, CertData: cert, KeyData: key}}).HTTPClient()
		benchapi.Check("apibench", err)
		return hc
	}
	admin := userClient(rbacBase, "bench-admin", "system:masters")
	for _, body := range []string{
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"bench"},"rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["*"]}]}`,
		`{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"bench"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"bench"},"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"bench-user"}]}`,
	} {
		url := rbacBase + "/apis/rbac.authorization.k8s.io/v1/clusterroles"
		if strings.Contains(body, `"ClusterRoleBinding"`) {
			url = rbacBase + "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
		}
		benchapi.Check("apibench", benchapi.Post(admin, url, body))
	}
	for _, ns := range []string{"sec-plain", "sec-tls", "sec-rbac"} {
		benchapi.Check("apibench", benchapi.Post(admin, rbacBase+"/api/v1/namespaces", fmt.Sprintf(`{"metadata":{"name":%q}}`, ns)))
	}
	type target struct {
		name, base, ns string
		hc             *http.Client
	}
	targets := []target{
		{"plain HTTP, no authn/authz", plainBase, "sec-plain", plain},
		{"TLS + client certificate, AlwaysAllow", tlsBase, "sec-tls", userClient(tlsBase, "bench-user")},
		{"TLS + client certificate + RBAC (not system:masters)", rbacBase, "sec-rbac", userClient(rbacBase, "bench-user")},
	}
	// The RBAC index learns the binding by watch: wait until the user may create.
	for i := 0; ; i++ {
		if err := benchapi.Post(targets[2].hc, rbacBase+"/api/v1/namespaces/sec-rbac/configmaps", fmt.Sprintf(`{"metadata":{"name":"probe-%d"}}`, i)); err == nil {
			break
		} else if i > 200 {
			benchapi.Check("apibench", fmt.Errorf("the RBAC binding never took effect: %w", err))
		}
	}
	creates := make([]result, len(targets))
	gets := make([]result, len(targets))
	const rounds = 3
	per := *n / rounds
	for r := 0; r < rounds; r++ {
		for i, t := range targets {
			res := run(per, *concurrency, func(j int) error {
				return benchapi.Post(t.hc, t.base+"/api/v1/namespaces/"+t.ns+"/configmaps",
					fmt.Sprintf(`{"metadata":{"name":"s-%d-%08d"},"data":{"v":"x"}}`, r, j))
			})
			creates[i] = merge(creates[i], res)
		}
		for i, t := range targets {
			res := run(per*2, *concurrency, func(j int) error {
				return benchapi.GetOK(t.hc, fmt.Sprintf("%s/api/v1/namespaces/%s/configmaps/s-%d-%08d", t.base, t.ns, r, j%per))
			})
			gets[i] = merge(gets[i], res)
		}
	}
	fmt.Printf("\n## The cost of security (same run, same etcd, %d in flight)\n\n", *concurrency)
	fmt.Println("| server | creates/s | create p99 | gets/s | get p99 | errors | creates ÷ plain | gets ÷ plain |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for i, t := range targets {
		fmt.Printf("| %s | %.0f | %s | %.0f | %s | %d | %.2f | %.2f |\n", t.name, creates[i].rate(), creates[i].pct(99),
			gets[i].rate(), gets[i].pct(99), creates[i].errors+gets[i].errors,
			creates[i].rate()/creates[0].rate(), gets[i].rate()/gets[0].rate())
	}
}

// merge adds the operations of b to a (their rates combine as total ops ÷ total time).
func merge(a, b result) result {
	return result{lat: append(a.lat, b.lat...), elapsed: a.elapsed + b.elapsed, errors: a.errors + b.errors}
}
