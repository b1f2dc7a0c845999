package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/nodeagent"
	"github.com/skiff-sh/skiff/nodeagent/runtime/sim"
	"github.com/skiff-sh/skiff/nodeagent/server"
	"github.com/skiff-sh/skiff/pki"
)

// StartSimNodes runs simulated nodes in this process against the server until the test
// ends. Each serves its stats (for metrics.k8s.io) over TLS on a port of its own on
// 127.0.0.1, with a certificate from the server's CA as the launcher issues one, and samples
// its pods' synthetic usage every statsInterval.
func (s *Server) StartSimNodes(t testing.TB, statsInterval time.Duration, names ...string) {
	t.Helper()
	certPEM, keyPEM, err := s.PKI.Ensure("sim-serving", pki.NodeServing("sim"))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(s.PKI.File(pki.CACert))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	base := nodeagent.Config{Client: s.Client(t), NodeIP: "127.0.0.1", Addr: "127.0.0.1:0", StatsInterval: statsInterval,
		TLS: &server.TLS{Certificate: &pair, ClientCAs: pool}, HeartbeatInterval: time.Second}
	go func() {
		defer close(done)
		_ = nodeagent.RunSimNodes(ctx, base, names, sim.Options{})
	}()
}
