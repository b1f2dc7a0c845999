package csrsigning

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/pki"
)

func request(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestSign(t *testing.T) {
	ca, err := pki.NewCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	nodeSubject := pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}}
	hour := int32(3600)
	tiny := int32(60)
	for _, tc := range []struct {
		name       string
		signer     string
		tmpl       x509.CertificateRequest
		usages     []certificates.KeyUsage
		expiration *int32
		wantErr    string
		wantEKU    x509.ExtKeyUsage
		wantLife   time.Duration
	}{
		{"node client, default duration", certificates.KubeAPIServerClientKubeletSignerName, x509.CertificateRequest{Subject: nodeSubject},
			[]certificates.KeyUsage{"digital signature", "client auth"}, nil, "", x509.ExtKeyUsageClientAuth, 365 * 24 * time.Hour},
		{"node client, asks an hour", certificates.KubeAPIServerClientKubeletSignerName, x509.CertificateRequest{Subject: nodeSubject},
			[]certificates.KeyUsage{"digital signature", "client auth"}, &hour, "", x509.ExtKeyUsageClientAuth, time.Hour},
		{"too short is raised to ten minutes", certificates.KubeAPIServerClientKubeletSignerName, x509.CertificateRequest{Subject: nodeSubject},
			[]certificates.KeyUsage{"client auth"}, &tiny, "", x509.ExtKeyUsageClientAuth, 10 * time.Minute},
		{"node serving with addresses", certificates.KubeletServingSignerName,
			x509.CertificateRequest{Subject: nodeSubject, DNSNames: []string{"n1"}, IPAddresses: []net.IP{net.IPv4(10, 0, 0, 5)}},
			[]certificates.KeyUsage{"digital signature", "server auth"}, nil, "", x509.ExtKeyUsageServerAuth, 365 * 24 * time.Hour},
		{"node serving without addresses", certificates.KubeletServingSignerName, x509.CertificateRequest{Subject: nodeSubject},
			[]certificates.KeyUsage{"server auth"}, nil, "subjectAltName", 0, 0},
		{"node client claiming masters", certificates.KubeAPIServerClientKubeletSignerName,
			x509.CertificateRequest{Subject: pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:masters"}}},
			[]certificates.KeyUsage{"client auth"}, nil, "organization", 0, 0},
		{"node client asking server auth", certificates.KubeAPIServerClientKubeletSignerName, x509.CertificateRequest{Subject: nodeSubject},
			[]certificates.KeyUsage{"client auth", "server auth"}, nil, "not allowed", 0, 0},
		{"apiserver client", certificates.KubeAPIServerClientSignerName, x509.CertificateRequest{Subject: pkix.Name{CommonName: "jane", Organization: []string{"dev"}}},
			[]certificates.KeyUsage{"client auth"}, nil, "", x509.ExtKeyUsageClientAuth, 365 * 24 * time.Hour},
		{"unknown signer", "example.com/x", x509.CertificateRequest{Subject: nodeSubject}, []certificates.KeyUsage{"client auth"}, nil, "not served", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			csr := &certificates.CertificateSigningRequest{Spec: certificates.CertificateSigningRequestSpec{
				Request: request(t, tc.tmpl), SignerName: tc.signer, Usages: tc.usages, ExpirationSeconds: tc.expiration}}
			out, err := Sign(ca, csr, pki.CertValidity)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert, err := pki.ParseCert(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
			if cert.Subject.CommonName != tc.tmpl.Subject.CommonName || !slices.Equal(cert.Subject.Organization, tc.tmpl.Subject.Organization) {
				t.Errorf("subject %v", cert.Subject)
			}
			if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{tc.wantEKU}) {
				t.Errorf("ext key usage %v", cert.ExtKeyUsage)
			}
			if !slices.Equal(cert.DNSNames, tc.tmpl.DNSNames) || len(cert.IPAddresses) != len(tc.tmpl.IPAddresses) {
				t.Errorf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
			}
			// pki backdates NotBefore a minute for clock skew.
			if life := cert.NotAfter.Sub(cert.NotBefore) - time.Minute; life < tc.wantLife-time.Second || life > tc.wantLife+time.Second {
				t.Errorf("lifetime %v, want %v", life, tc.wantLife)
			}
		})
	}
}

func TestReady(t *testing.T) {
	approved := certificates.CertificateSigningRequestCondition{Type: certificates.CertificateApproved, Status: "True"}
	failed := certificates.CertificateSigningRequestCondition{Type: certificates.CertificateFailed, Status: "True"}
	mk := func(signer string, cert string, conds ...certificates.CertificateSigningRequestCondition) *certificates.CertificateSigningRequest {
		return &certificates.CertificateSigningRequest{Spec: certificates.CertificateSigningRequestSpec{SignerName: signer},
			Status: certificates.CertificateSigningRequestStatus{Conditions: conds, Certificate: []byte(cert)}}
	}
	kc := certificates.KubeAPIServerClientKubeletSignerName
	for _, tc := range []struct {
		name string
		csr  *certificates.CertificateSigningRequest
		want bool
	}{
		{"pending", mk(kc, ""), false},
		{"approved", mk(kc, "", approved), true},
		{"approved, issued", mk(kc, "x", approved), false},
		{"approved, failed", mk(kc, "", approved, failed), false},
		{"approved, other signer", mk("example.com/s", "", approved), false},
	} {
		if got := ready(tc.csr); got != tc.want {
			t.Errorf("%s: ready = %v", tc.name, got)
		}
	}
}
