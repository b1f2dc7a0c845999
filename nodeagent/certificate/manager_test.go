package certificate

import (
	"context"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/csrsigning"
	"github.com/skiff-sh/skiff/test/harness"
)

func TestRotationDeadline(t *testing.T) {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &x509.Certificate{NotBefore: start, NotAfter: start.Add(100 * time.Hour)}
	for _, tc := range []struct {
		jitter float64
		want   time.Duration
	}{{0, 70 * time.Hour}, {0.5, 80 * time.Hour}, {1, 90 * time.Hour}} {
		m := &Manager{jitter: func() float64 { return tc.jitter }}
		if got := m.RotationDeadline(c).Sub(start); got != tc.want {
			t.Errorf("jitter %v: deadline after %v, want %v", tc.jitter, got, tc.want)
		}
	}
}

// approveAndSign plays the controller manager: every pending request is approved and
// signed with the test cluster's CA.
func approveAndSign(ctx context.Context, t *testing.T, s *harness.Server) {
	admin := s.Client(t)
	csrs := client.For[certificates.CertificateSigningRequest](admin, CSRs)
	go func() {
		for ctx.Err() == nil {
			list, err := csrs.List(ctx, "", client.ListOptions{})
			if err == nil {
				for i := range list.Items {
					c := &list.Items[i]
					if len(c.Status.Certificate) > 0 {
						continue
					}
					if !certificates.HasCondition(&c.Status, certificates.CertificateApproved) {
						c.Status.Conditions = append(c.Status.Conditions, certificates.CertificateSigningRequestCondition{
							Type: certificates.CertificateApproved, Status: core.ConditionTrue, Reason: "Test"})
						if err := csrs.UpdateSubresource(ctx, "", c.Name, "approval", c, c); err != nil {
							continue
						}
					}
					cert, err := csrsigning.Sign(s.PKI.CA, c, time.Hour)
					if err != nil {
						panic(err)
					}
					c.Status.Certificate = cert
					csrs.UpdateStatus(ctx, c)
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

func TestBootstrapAndRotate(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	approveAndSign(ctx, t, s)

	// Bootstrap: any identity allowed to create requests (a node's own here; a bootstrap
	// token in a real join).
	boot, err := client.New(s.UserConfig(t, "system:node:n1", "system:nodes"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &Manager{NodeName: "n1", File: filepath.Join(dir, "node-client-current.pem")}
	if err := m.Bootstrap(ctx, boot); err != nil {
		t.Fatal(err)
	}
	first, ok := m.Current()
	if !ok || first.Subject.CommonName != "system:node:n1" || first.Subject.Organization[0] != "system:nodes" {
		t.Fatalf("first certificate: %v %v", ok, first)
	}

	// The node uses it through its kubeconfig (the file by path).
	kc := filepath.Join(dir, "kubeconfig")
	if err := WriteKubeconfig(kc, s.URL, s.PKI.CA.CertPEM, m.File); err != nil {
		t.Fatal(err)
	}
	cfg, err := client.LoadKubeconfig(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS.CertData, cfg.TLS.KeyData, cfg.TLS.CertFile, cfg.TLS.KeyFile = nil, nil, m.File, m.File
	nc, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.For[core.Node](nc, client.Resource{Version: "v1", Resource: "nodes"}).List(ctx, "", client.ListOptions{}); err != nil {
		t.Fatalf("node lists nodes with its certificate: %v", err)
	}

	// Past the rotation deadline the manager renews, as the node itself.
	m.now = func() time.Time { return first.NotAfter.Add(-time.Minute) }
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(rctx, nc); close(done) }()
	harness.Eventually(t, 20*time.Second, "a new certificate", func() (bool, string) {
		c, ok := m.Current()
		return ok && c.SerialNumber.Cmp(first.SerialNumber) != 0, fmt.Sprint(ok)
	})
	rcancel()
	<-done
	list, err := client.For[certificates.CertificateSigningRequest](s.Client(t), CSRs).List(ctx, "", client.ListOptions{})
	if err != nil || len(list.Items) < 2 {
		t.Fatalf("requests: %v %v", err, list)
	}
	for _, c := range list.Items {
		if c.Spec.Username != "system:node:n1" || c.Spec.SignerName != certificates.KubeAPIServerClientKubeletSignerName {
			t.Errorf("request %s by %s for %s", c.Name, c.Spec.Username, c.Spec.SignerName)
		}
	}
	// New connections present the new certificate.
	if _, err := client.For[core.Node](nc, client.Resource{Version: "v1", Resource: "nodes"}).List(ctx, "", client.ListOptions{}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}
