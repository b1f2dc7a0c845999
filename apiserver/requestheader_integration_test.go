package apiserver_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// Requestheader authentication: a client certificate of --requestheader-client-ca-file
// with an allowed name (front-proxy-client) makes the request the X-Remote-* headers' user;
// the same headers from anyone else — no certificate, a cluster client certificate, a
// front-proxy certificate with another name — do not.
func TestRequestHeaderAuthentication(t *testing.T) {
	fp, err := pki.OpenFrontProxy(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.RequestHeaderClientCAFile = fp.File(pki.CACert)
		c.ProxyClientCertFile, c.ProxyClientKeyFile = fp.CertFile(pki.FrontProxyClientName), fp.KeyFile(pki.FrontProxyClientName)
		c.RequestHeaderAllowedNames = []string{pki.FrontProxyClient.CommonName}
	}})
	withCert := func(certPEM, keyPEM []byte) *http.Client {
		t.Helper()
		tc := &tls.Config{RootCAs: s.PKI.CA.Pool()}
		if certPEM != nil {
			cert, err := tls.X509KeyPair(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	proxyCert, proxyKey, err := fp.Ensure(pki.FrontProxyClientName, pki.FrontProxyClient)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := fp.CA.Issue(pki.CertRequest{CommonName: "someone-else", Usage: pki.ClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string][]string{"X-Remote-User": {"alice"}, "X-Remote-Group": {"devs", "system:masters"}, "X-Remote-Extra-Scopes": {"read"}}
	// whoami (a SelfSubjectReview) as hc with hdr: the status code and the user it saw.
	whoami := func(hc *http.Client, hdr map[string][]string) (int, string) {
		t.Helper()
		body := `{"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}`
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/apis/authentication.k8s.io/v1/selfsubjectreviews", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		for k, vs := range hdr {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var r struct {
			Status struct {
				UserInfo struct {
					Username string              `json:"username"`
					Groups   []string            `json:"groups"`
					Extra    map[string][]string `json:"extra"`
				} `json:"userInfo"`
			} `json:"status"`
		}
		if resp.StatusCode != http.StatusCreated {
			return resp.StatusCode, string(b)
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		u := r.Status.UserInfo
		return resp.StatusCode, fmt.Sprintf("%s %v %v", u.Username, u.Groups, u.Extra)
	}

	// The front proxy: the headers' user, groups and extras (and system:authenticated).
	code, seen := whoami(withCert(proxyCert, proxyKey), forged)
	if want := "alice [devs system:masters system:authenticated] map[scopes:[read]]"; code != http.StatusCreated || seen != want {
		t.Errorf("front proxy: %d %s, want %s", code, seen, want)
	}
	// The front proxy naming no user is not recognised: its certificate is of no CA that
	// x509 authentication trusts, so 401.
	if code, seen := whoami(withCert(proxyCert, proxyKey), nil); code != http.StatusUnauthorized {
		t.Errorf("front proxy without X-Remote-User: %d %s, want 401", code, seen)
	}
	// The administrator's own certificate with the headers: still the administrator.
	if code, seen := whoami(s.HTTPClient(t), forged); code != http.StatusCreated || !strings.HasPrefix(seen, "kubernetes-admin ") {
		t.Errorf("admin with forged headers: %d %s, want kubernetes-admin", code, seen)
	}
	// No certificate: anonymous, who may not even ask who it is.
	if code, seen := whoami(withCert(nil, nil), forged); code != http.StatusForbidden || !strings.Contains(seen, `User \"system:anonymous\"`) {
		t.Errorf("no certificate with forged headers: %d %s, want 403 for system:anonymous", code, seen)
	}
	// A front-proxy certificate with a name not in --requestheader-allowed-names: 401.
	if code, seen := whoami(withCert(otherCert, otherKey), forged); code != http.StatusUnauthorized {
		t.Errorf("front-proxy CA certificate named someone-else: %d %s, want 401", code, seen)
	}
	// A user of the cluster CA named front-proxy-client is not the front proxy.
	impostor := s.UserConfig(t, pki.FrontProxyClient.CommonName)
	hc, err := impostor.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	if code, seen := whoami(hc, forged); code != http.StatusCreated || !strings.HasPrefix(seen, "front-proxy-client ") {
		t.Errorf("cluster certificate named front-proxy-client: %d %s, want itself", code, seen)
	}
}
