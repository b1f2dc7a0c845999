package authn

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/pki"
)

// Requestheader authentication: only a certificate of the front-proxy CA with an allowed
// name makes the headers count; the user, groups and extras are read as kube-apiserver
// reads them.
func TestRequestHeader(t *testing.T) {
	fpCA, _ := pki.NewCA("front-proxy")
	clusterCA, _ := pki.NewCA("cluster")
	proxy, _, _ := fpCA.Issue(pki.CertRequest{CommonName: "front-proxy-client", Usage: pki.ClientAuth})
	otherName, _, _ := fpCA.Issue(pki.CertRequest{CommonName: "someone-else", Usage: pki.ClientAuth})
	servingOnly, _, _ := fpCA.Issue(pki.CertRequest{CommonName: "front-proxy-client", Usage: pki.ServerAuth})
	clusterClient, _, _ := clusterCA.Issue(pki.CertRequest{CommonName: "front-proxy-client", Usage: pki.ClientAuth})
	cfg := RequestHeaderConfig{Roots: fpCA.Pool(), AllowedNames: []string{"front-proxy-client"},
		UsernameHeaders: []string{"X-Remote-User", "X-Other-User"}, GroupHeaders: []string{"X-Remote-Group"},
		ExtraHeaderPrefixes: []string{"X-Remote-Extra-"}}
	headers := map[string][]string{"X-Remote-User": {"alice"}, "X-Remote-Group": {"devs", "ops"},
		"X-Remote-Extra-Scopes": {"a", "b"}, "X-Remote-Extra-Example.com%2fteam": {"blue"}}
	for _, tc := range []struct {
		name    string
		cert    []byte
		cfg     RequestHeaderConfig
		hdr     map[string][]string
		want    *User
		wantErr string
	}{
		{name: "no certificate", hdr: headers, cfg: cfg},
		{name: "a cluster CA certificate", cert: clusterClient, hdr: headers, cfg: cfg},
		{name: "not for client auth", cert: servingOnly, hdr: headers, cfg: cfg},
		{name: "a name not allowed", cert: otherName, hdr: headers, cfg: cfg, wantErr: "x509: subject with cn=someone-else is not in the allowed list"},
		{name: "no user named", cert: proxy, hdr: map[string][]string{"X-Remote-Group": {"devs"}}, cfg: cfg},
		{name: "the front proxy", cert: proxy, hdr: headers, cfg: cfg, want: &User{Name: "alice", Groups: []string{"devs", "ops"},
			Extra: map[string][]string{"scopes": {"a", "b"}, "example.com/team": {"blue"}}}},
		{name: "the second username header", cert: proxy, hdr: map[string][]string{"X-Other-User": {"bob"}}, cfg: cfg, want: &User{Name: "bob"}},
		{name: "any name when none is listed", cert: otherName, hdr: map[string][]string{"X-Remote-User": {"carol"}},
			cfg: RequestHeaderConfig{Roots: fpCA.Pool(), UsernameHeaders: cfg.UsernameHeaders}, want: &User{Name: "carol"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := requestWithCert(t, tc.cert)
			for k, vs := range tc.hdr {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			u, ok, err := RequestHeader(tc.cfg).AuthenticateRequest(r)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ok {
					t.Errorf("got %v %v %v, want error %q", u, ok, err, tc.wantErr)
				}
			case tc.want == nil:
				if ok || err != nil {
					t.Errorf("got %+v %v %v, want not recognised", u, ok, err)
				}
			default:
				if !ok || err != nil || !reflect.DeepEqual(u, tc.want) {
					t.Errorf("got %+v %v %v, want %+v", u, ok, err, tc.want)
				}
			}
		})
	}
	names, prefixes := cfg.Headers()
	if !slices.Equal(names, []string{"X-Remote-User", "X-Other-User", "X-Remote-Group"}) || !slices.Equal(prefixes, []string{"X-Remote-Extra-"}) {
		t.Errorf("Headers() = %v %v", names, prefixes)
	}
}
