package main

import (
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/csrsigning"
	"github.com/skiff-sh/skiff/test/harness"
)

// A joined node serves self-signed at first, then the cluster-signed serving certificate
// it asked for once its Node reports its address.
func TestServingCertificateRequested(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := s.Client(t)
	csrs := client.For[certificates.CertificateSigningRequest](admin,
		client.Resource{Group: certificates.GroupName, Version: "v1", Resource: "certificatesigningrequests"})
	var signer atomic.Value // the last request's signer
	go func() {             // the controller manager's part, for any request
		for ctx.Err() == nil {
			if list, err := csrs.List(ctx, "", client.ListOptions{}); err == nil {
				for i := range list.Items {
					c := &list.Items[i]
					if len(c.Status.Certificate) > 0 {
						continue
					}
					signer.Store(c.Spec.SignerName)
					c.Status.Conditions = []certificates.CertificateSigningRequestCondition{{Type: certificates.CertificateApproved, Status: core.ConditionTrue}}
					if csrs.UpdateSubresource(ctx, "", c.Name, "approval", c, c) != nil {
						continue
					}
					if cert, err := csrsigning.Sign(s.PKI.CA, c, time.Hour); err == nil {
						c.Status.Certificate = cert
						csrs.UpdateStatus(ctx, c)
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	nc, err := client.New(s.UserConfig(t, "system:node:n1", "system:nodes"))
	if err != nil {
		t.Fatal(err)
	}
	o := servingOptions{clientCAData: s.PKI.CA.CertPEM, certDir: t.TempDir(), nodeName: "n1", requestServing: true,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tl, err := servingTLS(ctx, o, nc, "10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	leaf := func() *x509.Certificate {
		c, err := tl.GetCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		x, _ := x509.ParseCertificate(c.Certificate[0])
		return x
	}
	if leaf().CheckSignatureFrom(s.PKI.CA.Cert) == nil {
		t.Fatal("signed by the CA before the node is even registered")
	}
	// The node registers with its address; then the request goes out.
	n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n1"}}
	nodes := client.For[core.Node](nc, client.Resource{Version: "v1", Resource: "nodes"})
	if _, err := nodes.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	if _, err := nodes.Patch(ctx, "", "n1", client.MergePatchType, []byte(`{"status":{"addresses":[{"type":"InternalIP","address":"10.0.0.5"}]}}`), "status"); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 20*time.Second, "a cluster-signed serving certificate", func() (bool, string) {
		return leaf().CheckSignatureFrom(s.PKI.CA.Cert) == nil, "still self-signed"
	})
	x := leaf()
	if signer.Load() != certificates.KubeletServingSignerName || x.Subject.CommonName != "system:node:n1" || len(x.IPAddresses) != 1 || x.IPAddresses[0].String() != "10.0.0.5" {
		t.Errorf("serving certificate %v %v from signer %v", x.Subject, x.IPAddresses, signer.Load())
	}
}
