// Package certificate gets and keeps a node's client certificate, as the kubelet does:
// with a bootstrap kubeconfig (a bootstrap token) it asks for its first certificate through
// a CertificateSigningRequest (signer kubernetes.io/kube-apiserver-client-kubelet, subject
// CN=system:node:NAME, O=system:nodes), and it asks for a new one, as itself, when 70-90 %
// of the current one's lifetime has passed. The controller manager approves both (a
// bootstrap token may ask for a node client certificate; a node may renew its own) and
// signs them with the cluster CA.
package certificate

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// CSRs is the CertificateSigningRequest resource.
var CSRs = client.Resource{Group: certificates.GroupName, Version: certificates.Version, Resource: "certificatesigningrequests"}

// ErrDenied is returned when a request is denied or fails to be signed.
var ErrDenied = errors.New("certificate request refused")

// Request asks the API server for a certificate for key and waits until it is issued (or
// refused, or ctx ends). It returns the certificate, PEM.
func Request(ctx context.Context, c *client.Client, key crypto.Signer, tmpl *x509.CertificateRequest,
	signer string, usages []certificates.KeyUsage, expiration time.Duration) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	csr := &certificates.CertificateSigningRequest{
		TypeMeta:   meta.TypeMeta{Kind: "CertificateSigningRequest", APIVersion: certificates.GroupName + "/" + certificates.Version},
		ObjectMeta: meta.ObjectMeta{GenerateName: "csr-"},
		Spec: certificates.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: signer, Usages: usages,
		},
	}
	if expiration > 0 {
		s := int32(expiration / time.Second)
		csr.Spec.ExpirationSeconds = &s
	}
	csrs := client.For[certificates.CertificateSigningRequest](c, CSRs)
	created, err := csrs.Create(ctx, csr)
	if err != nil {
		return nil, fmt.Errorf("create CertificateSigningRequest: %w", err)
	}
	return wait(ctx, csrs, created.Name)
}

// wait polls the request until it has a certificate, a Denied or a Failed condition.
func wait(ctx context.Context, csrs *client.Typed[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest], name string) ([]byte, error) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		cur, err := csrs.Get(ctx, "", name)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			// A passing API error: try again at the next tick.
		case len(cur.Status.Certificate) > 0:
			return cur.Status.Certificate, nil
		case certificates.HasCondition(&cur.Status, certificates.CertificateDenied):
			return nil, fmt.Errorf("%w: %s was denied: %s", ErrDenied, name, condMessage(cur, certificates.CertificateDenied))
		case certificates.HasCondition(&cur.Status, certificates.CertificateFailed):
			return nil, fmt.Errorf("%w: %s failed: %s", ErrDenied, name, condMessage(cur, certificates.CertificateFailed))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for CertificateSigningRequest %s to be approved and signed: %w", name, ctx.Err())
		case <-tick.C:
		}
	}
}

func condMessage(c *certificates.CertificateSigningRequest, t certificates.RequestConditionType) string {
	for _, cond := range c.Status.Conditions {
		if cond.Type == t {
			return cond.Reason + " " + cond.Message
		}
	}
	return ""
}
