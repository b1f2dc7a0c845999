package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// The API server's connection to node agents (logs, exec, attach, port-forward). With
// --kubelet-client-certificate it dials HTTPS and presents that certificate (the identity
// node agents accept, CN kube-apiserver-kubelet-client), and verifies the node agent's
// serving certificate against --kubelet-certificate-authority (the cluster CA; without it,
// as Kubernetes, the node's certificate is not verified). Without a client certificate it
// dials plain HTTP (--insecure servers and tests).

// nodeScheme is the scheme node agents are dialled with.
func (s *Server) nodeScheme() string {
	if s.cfg.KubeletClientCertFile != "" {
		return "https"
	}
	return "http"
}

// nodeTransport is a connection to a node agent, used once: these requests are few and
// long-lived, so there is nothing to gain from keeping connections. The files are read
// each time, so renewed certificates are picked up.
func (s *Server) nodeTransport() (*http.Transport, error) {
	tr := &http.Transport{
		DialContext:       (&net.Dialer{Timeout: nodeDialTimeout}).DialContext,
		DisableKeepAlives: true, ResponseHeaderTimeout: time.Minute,
	}
	if s.cfg.KubeletClientCertFile == "" {
		return tr, nil
	}
	pair, err := tls.LoadX509KeyPair(s.cfg.KubeletClientCertFile, s.cfg.KubeletClientKeyFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet client certificate: %w", err)
	}
	// HTTP/1.1 only: the streams are upgrades of an HTTP/1.1 connection.
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, NextProtos: []string{"http/1.1"}}
	if s.cfg.KubeletCAFile != "" {
		pem, err := os.ReadFile(s.cfg.KubeletCAFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet certificate authority: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kubelet certificate authority %s: no certificate", s.cfg.KubeletCAFile)
		}
		tc.RootCAs = pool
	} else {
		tc.InsecureSkipVerify = true //nolint:gosec // Kubernetes' behaviour without --kubelet-certificate-authority
	}
	tr.TLSClientConfig = tc
	return tr, nil
}
