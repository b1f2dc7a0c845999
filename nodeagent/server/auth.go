package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Who may use the node agent's port. The paths run commands in containers, read their
// logs and reach their ports: only the API server, which has already authenticated and
// authorized the user, may call them. The API server presents its kubelet client
// certificate (CN kube-apiserver-kubelet-client, signed by the cluster CA); members of
// system:masters are let in too (an administrator debugging a node). /healthz is open.
//
// Unlike the kubelet, the node agent does not ask the API server whether a caller may
// (webhook authorization): the set of callers is fixed, so the answer is local.

// APIServerClientName is the CommonName of the API server's client certificate.
const APIServerClientName = "kube-apiserver-kubelet-client"

// TLS is the node agent port's TLS setup.
type TLS struct {
	// Certificate is the serving certificate: a fixed one, or GetCertificate for one that
	// is renewed while the agent runs.
	Certificate    *tls.Certificate
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// ClientCAs verify client certificates (the cluster CA).
	ClientCAs *x509.CertPool
}

func (t *TLS) config() *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ClientCAs: t.ClientCAs,
		// Verified when given; a request without one is refused by authorize (401), with
		// a Kubernetes-like answer rather than a failed handshake.
		ClientAuth:     tls.VerifyClientCertIfGiven,
		GetCertificate: t.GetCertificate,
		NextProtos:     []string{"http/1.1"}, // the streams upgrade HTTP/1.1 connections
	}
	if t.Certificate != nil {
		tc.Certificates = []tls.Certificate{*t.Certificate}
	}
	return tc
}

// allowed reports whether a verified client certificate may use the node agent.
func allowed(c *x509.Certificate) bool {
	return c.Subject.CommonName == APIServerClientName || slices.Contains(c.Subject.Organization, "system:masters")
}

// authorize wraps the handler: /healthz for anyone, the rest for allowed clients only.
func authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		c := r.TLS.PeerCertificates[0]
		if !allowed(c) {
			http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource=%s)", c.Subject.CommonName, verb(r), subresource(r.URL.Path)), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// subresource is the nodes subresource the kubelet authorizes a path as: stats for
// /stats/..., metrics for /metrics/..., proxy for the rest.
func subresource(path string) string {
	switch {
	case strings.HasPrefix(path, "/stats/"):
		return "stats"
	case strings.HasPrefix(path, "/metrics/"):
		return "metrics"
	case path == "/images":
		return "images"
	}
	return "proxy"
}

func verb(r *http.Request) string {
	if r.Method == http.MethodGet {
		return "get"
	}
	return "create"
}
