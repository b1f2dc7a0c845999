package join

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

func TestDiscover(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx := context.Background()
	good := pki.Hash(s.PKI.CA.Cert)
	other, err := pki.NewCA("other")
	if err != nil {
		t.Fatal(err)
	}
	server := strings.TrimPrefix(s.URL, "https://")

	ca, err := Discover(ctx, server, []string{good})
	if err != nil {
		t.Fatalf("discover with the right pin: %v", err)
	}
	if string(ca) != string(s.PKI.CA.CertPEM) {
		t.Errorf("CA differs from the cluster's")
	}
	if _, err := Discover(ctx, server, []string{pki.Hash(other.Cert)}); !errors.Is(err, ErrCAMismatch) {
		t.Errorf("a wrong pin: %v, want ErrCAMismatch", err)
	}
	for _, bad := range [][]string{nil, {"abc"}, {"sha256:xyz"}, {strings.TrimPrefix(good, "sha256:")}} {
		if _, err := Discover(ctx, server, bad); err == nil {
			t.Errorf("pins %q accepted", bad)
		}
	}

	// A server in the middle that copies the real cluster-info (so the pin matches) but
	// cannot present a certificate of the real CA is refused at the verified read.
	real := s.HTTPClient(t)
	mitm := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := real.Get(s.URL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer mitm.Close()
	if _, err := Discover(ctx, strings.TrimPrefix(mitm.URL, "https://"), []string{good}); err == nil || !strings.Contains(err.Error(), "verified CA") {
		t.Errorf("through a server without the CA's certificate: %v", err)
	}
}
