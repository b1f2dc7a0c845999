package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/pki"
)

func TestClientCertificateAuthorization(t *testing.T) {
	ca, err := pki.NewCA("cluster")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := pki.NewCA("other")
	servingPEM, servingKey, err := ca.Issue(pki.NodeServing("n1"))
	if err != nil {
		t.Fatal(err)
	}
	serving, err := tls.X509KeyPair(servingPEM, servingKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Server{Listener: l, TLS: &TLS{Certificate: &serving, ClientCAs: pool},
		Pods: func(string, string) *core.Pod { return nil }}
	go s.Run(ctx)

	clientFor := func(signer *pki.CA, r pki.CertRequest) *http.Client {
		tc := &tls.Config{RootCAs: pool, ServerName: "n1"}
		if signer != nil {
			c, k, err := signer.Issue(r)
			if err != nil {
				t.Fatal(err)
			}
			pair, _ := tls.X509KeyPair(c, k)
			// Offered whatever CAs the server names, so a foreign one reaches the server.
			tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	url := "https://" + l.Addr().String()
	for _, tc := range []struct {
		name string
		c    *http.Client
		path string
		want int // 0: the connection is refused
	}{
		{"health for anyone", clientFor(nil, pki.CertRequest{}), "/healthz", 200},
		{"no certificate", clientFor(nil, pki.CertRequest{}), "/containerLogs/ns/p/c", 401},
		{"a node's certificate", clientFor(ca, pki.CertRequest{CommonName: "system:node:n2", Organization: []string{"system:nodes"}, Usage: pki.ClientAuth}), "/containerLogs/ns/p/c", 403},
		{"a user's certificate", clientFor(ca, pki.CertRequest{CommonName: "jane", Usage: pki.ClientAuth}), "/exec/ns/p/c?command=ls", 403},
		{"the API server", clientFor(ca, pki.APIServerKubeletClient), "/containerLogs/ns/p/c", 404}, // authorized; the pod is unknown
		{"an administrator", clientFor(ca, pki.CertRequest{CommonName: "admin", Organization: []string{"system:masters"}, Usage: pki.ClientAuth}), "/containerLogs/ns/p/c", 404},
		{"stats for a user", clientFor(ca, pki.CertRequest{CommonName: "jane", Usage: pki.ClientAuth}), "/stats/summary", 403},
		{"stats for the API server, before a sample", clientFor(ca, pki.APIServerKubeletClient), "/stats/summary", 503},
		{"resource metrics for the API server", clientFor(ca, pki.APIServerKubeletClient), "/metrics/resource", 200},
		{"the API server's name from another CA", clientFor(other, pki.APIServerKubeletClient), "/containerLogs/ns/p/c", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Get(url + tc.path)
			if tc.want == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("connected: %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}
