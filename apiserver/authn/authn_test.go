package authn

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/pki"
)

func requestWithCert(t *testing.T, certPEM []byte) *http.Request {
	t.Helper()
	r, _ := http.NewRequest("GET", "/", nil)
	if certPEM == nil {
		return r
	}
	c, err := pki.ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}}
	return r
}

func TestX509(t *testing.T) {
	ca, _ := pki.NewCA("test")
	other, _ := pki.NewCA("other")
	good, _, _ := ca.Issue(pki.CertRequest{CommonName: "jane", Organization: []string{"dev", "ops"}, Usage: pki.ClientAuth})
	foreign, _, _ := other.Issue(pki.CertRequest{CommonName: "mallory", Organization: []string{"system:masters"}, Usage: pki.ClientAuth})
	serving, _, _ := ca.Issue(pki.CertRequest{CommonName: "server", Usage: pki.ServerAuth})
	expired, _, _ := ca.Issue(pki.CertRequest{CommonName: "old", Usage: pki.ClientAuth, Validity: time.Nanosecond})
	a := X509(ca.Pool())
	for _, tc := range []struct {
		name    string
		cert    []byte
		ok      bool
		wantErr bool
	}{
		{"valid", good, true, false},
		{"valid again (cached)", good, true, false},
		{"no certificate: not recognised", nil, false, false},
		{"another CA", foreign, false, true},
		{"another CA again (failures are not cached)", foreign, false, true},
		{"not a client certificate", serving, false, true},
		{"expired", expired, false, true},
	} {
		u, ok, err := a.AuthenticateRequest(requestWithCert(t, tc.cert))
		if ok != tc.ok || (err != nil) != tc.wantErr {
			t.Errorf("%s: ok=%v err=%v", tc.name, ok, err)
			continue
		}
		if ok && (u.Name != "jane" || !slices.Equal(u.Groups, []string{"dev", "ops"})) {
			t.Errorf("%s: user %+v", tc.name, u)
		}
	}
}

func TestBearerAndUnion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.csv")
	os.WriteFile(path, []byte("# comment\nsecret1,alice,uid1,\"g1,g2\"\nsecret2,bob,uid2\n"), 0o600)
	tf, err := TokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := WithAuthenticated(Union(BearerToken(tf)))
	req := func(h string) *http.Request {
		r, _ := http.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		return r
	}
	u, ok, err := a.AuthenticateRequest(req("Bearer secret1"))
	if !ok || err != nil || u.Name != "alice" || u.UID != "uid1" || !slices.Equal(u.Groups, []string{"g1", "g2", GroupAuthenticated}) {
		t.Errorf("alice: %+v %v %v", u, ok, err)
	}
	if u, ok, _ := a.AuthenticateRequest(req("bearer secret2")); !ok || u.Name != "bob" {
		t.Errorf("bob (lower-case scheme): %+v %v", u, ok)
	}
	if _, ok, err := a.AuthenticateRequest(req("Bearer nope")); ok || err == nil {
		t.Errorf("unknown token: ok=%v err=%v, want an error", ok, err)
	}
	if _, ok, err := a.AuthenticateRequest(req("")); ok || err != nil {
		t.Errorf("no credentials: ok=%v err=%v, want not recognised", ok, err)
	}
	if _, err := TokenFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing token file accepted")
	}
}
