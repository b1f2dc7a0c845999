package pki

import (
	"bytes"
	"net"
	"os"
	"strings"
	"testing"
)

func TestDirIsCreatedOnceAndReused(t *testing.T) {
	path := t.TempDir()
	d1, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	sa1, _ := os.ReadFile(d1.File(SAKey))
	d2, err := OpenDir(path)
	if err != nil {
		t.Fatal(err)
	}
	sa2, _ := os.ReadFile(d2.File(SAKey))
	if !bytes.Equal(d1.CA.CertPEM, d2.CA.CertPEM) || !bytes.Equal(sa1, sa2) {
		t.Fatal("a second OpenDir made a new CA or ServiceAccount key")
	}
	if st, _ := os.Stat(d1.File(CAKey)); st.Mode().Perm() != 0o600 {
		t.Errorf("ca.key mode %v, want 0600", st.Mode().Perm())
	}

	c1, _, err := d2.Ensure(APIServerName, APIServerServing(net.IPv4(10, 96, 0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	c2, _, _ := d2.Ensure(APIServerName, APIServerServing(net.IPv4(10, 96, 0, 1)))
	if !bytes.Equal(c1, c2) {
		t.Error("Ensure reissued a certificate that still fits")
	}
	c3, _, _ := d2.Ensure(APIServerName, APIServerServing(net.IPv4(10, 96, 0, 1), net.IPv4(10, 250, 0, 1)))
	if bytes.Equal(c1, c3) {
		t.Error("Ensure kept a certificate missing a requested address")
	}
	cert, _ := ParseCert(c3)
	if err := cert.CheckSignatureFrom(d1.CA.Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	if cert.VerifyHostname("kubernetes.default.svc") != nil || cert.VerifyHostname("10.250.0.1") != nil || cert.VerifyHostname("127.0.0.1") != nil {
		t.Errorf("serving names missing: %v %v", cert.DNSNames, cert.IPAddresses)
	}
	// A different subject is a different identity: reissued.
	a1, _, _ := d2.Ensure("x", Node("n1"))
	a2, _, _ := d2.Ensure("x", Node("n2"))
	if got, _ := ParseCert(a2); bytes.Equal(a1, a2) || got.Subject.CommonName != "system:node:n2" || got.Subject.Organization[0] != "system:nodes" {
		t.Errorf("node identity: %v", got.Subject)
	}
}

func TestHash(t *testing.T) {
	ca, _ := NewCA("x")
	h := Hash(ca.Cert)
	if !strings.HasPrefix(h, "sha256:") || len(h) != len("sha256:")+64 {
		t.Errorf("hash %q", h)
	}
	other, _ := NewCA("x")
	if Hash(other.Cert) == h {
		t.Error("two CAs share a hash")
	}
}
