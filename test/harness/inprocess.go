package harness

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/controlplane"
	"github.com/skiff-sh/skiff/pki"
)

// Server is an in-process API server over an embedded etcd, served over TLS with the
// secure defaults: client certificates from its own CA, ServiceAccount tokens, Node and
// RBAC authorization. Kubeconfig is an administrator's (system:masters). It is
// skifftest's control plane (internal/controlplane) without nodes, scheduler or controller manager: one mechanism for
// skiff's own integration tests and other projects' tests.
type Server struct {
	URL        string
	Kubeconfig string
	Etcd       *clientv3.Client
	API        *apiserver.Server
	PKI        *pki.Dir
	admin      *client.Config
}

// ServerOptions tune an in-process server.
type ServerOptions struct {
	WatchHistory     int
	BookmarkInterval time.Duration
	MaxRequestBytes  int64
	// EtcdQuotaBytes is the embedded etcd's backend quota (0: etcd's default).
	EtcdQuotaBytes int64
	// Configure, if set, adjusts the server's configuration before it starts.
	Configure func(*apiserver.Config)
}

// StartServer starts embedded etcd and an API server in this process; both stop with the test.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	// The same control plane skifftest.Start runs (without the components: their packages'
	// own tests use this harness, and would import themselves).
	dir := t.TempDir()
	c, err := controlplane.Start(dir, controlplane.Options{EtcdQuotaBytes: o.EtcdQuotaBytes, NoServiceAccountAdmission: true,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Configure: func(cfg *apiserver.Config) {
			cfg.WatchHistory, cfg.BookmarkInterval, cfg.MaxRequestBytes = o.WatchHistory, o.BookmarkInterval, o.MaxRequestBytes
			if o.Configure != nil {
				o.Configure(cfg)
			}
		}})
	if err != nil {
		t.Fatalf("control plane: %v", err)
	}
	t.Cleanup(c.Stop)
	admin := &client.Config{Host: c.URL, TLS: client.TLSConfig{CAData: c.CAData, CertData: c.CertData, KeyData: c.KeyData}}
	return &Server{URL: c.URL, Kubeconfig: c.Kubeconfig, Etcd: c.Etcd, API: c.API, PKI: c.PKI, admin: admin}
}

// ClientConfig is an administrator's client configuration (a copy; change it freely).
func (s *Server) ClientConfig() *client.Config {
	c := *s.admin
	return &c
}

// Client is an administrator's client.
func (s *Server) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(s.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// HTTPClient is a plain HTTP client with an administrator's certificate.
func (s *Server) HTTPClient(t testing.TB) *http.Client {
	t.Helper()
	return httpClient(t, s.admin)
}

// UserConfig is a client configuration authenticating as user (in groups) with a client
// certificate from the cluster CA.
func (s *Server) UserConfig(t testing.TB, user string, groups ...string) *client.Config {
	t.Helper()
	return userConfig(t, s.PKI, s.URL, user, groups...)
}

// UserKubeconfig writes a kubeconfig for user (in groups) and returns its path.
func (s *Server) UserKubeconfig(t testing.TB, user string, groups ...string) string {
	t.Helper()
	return writeUserKubeconfig(t, s.UserConfig(t, user, groups...))
}

// TokenConfig is a client configuration sending a bearer token (and no certificate).
func (s *Server) TokenConfig(token string) *client.Config {
	c := s.ClientConfig()
	c.TLS.CertData, c.TLS.KeyData = nil, nil
	c.BearerToken = token
	return c
}

// testPKI is a cluster CA and the API server's certificates for a test server.
type testPKI struct {
	dir                 *pki.Dir
	serving             tls.Certificate
	adminCert, adminKey []byte
}

func newTestPKI(path string) (*testPKI, error) {
	d, err := pki.OpenDir(path)
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM, err := d.Ensure(pki.APIServerName, pki.APIServerServing(net.ParseIP("10.96.0.1")))
	if err != nil {
		return nil, err
	}
	serving, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if _, _, err := d.Ensure(pki.APIServerKubeletClientName, pki.APIServerKubeletClient); err != nil {
		return nil, err
	}
	ac, ak, err := d.Ensure(pki.AdminName, pki.Admin)
	if err != nil {
		return nil, err
	}
	return &testPKI{dir: d, serving: serving, adminCert: ac, adminKey: ak}, nil
}

// configure points the API server at the PKI's files.
func (p *testPKI) configure(cfg *apiserver.Config) {
	cfg.TLSCertFile, cfg.TLSKeyFile = p.dir.CertFile(pki.APIServerName), p.dir.KeyFile(pki.APIServerName)
	cfg.ClientCAFile = p.dir.File(pki.CACert)
	cfg.ServiceAccountSigningKeyFile = p.dir.File(pki.SAKey)
	cfg.KubeletClientCertFile = p.dir.CertFile(pki.APIServerKubeletClientName)
	cfg.KubeletClientKeyFile = p.dir.KeyFile(pki.APIServerKubeletClientName)
	cfg.KubeletCAFile = p.dir.File(pki.CACert)
}

// args are the same settings as skiff-apiserver flags.
func (p *testPKI) args() []string {
	return []string{
		"--tls-cert-file", p.dir.CertFile(pki.APIServerName), "--tls-private-key-file", p.dir.KeyFile(pki.APIServerName),
		"--client-ca-file", p.dir.File(pki.CACert),
		"--service-account-signing-key-file", p.dir.File(pki.SAKey),
		"--kubelet-client-certificate", p.dir.CertFile(pki.APIServerKubeletClientName),
		"--kubelet-client-key", p.dir.KeyFile(pki.APIServerKubeletClientName),
		"--kubelet-certificate-authority", p.dir.File(pki.CACert),
	}
}

func (p *testPKI) clientConfig(url string, cert, key []byte) *client.Config {
	return &client.Config{Host: url, TLS: client.TLSConfig{CAData: p.dir.CA.CertPEM, CertData: cert, KeyData: key}}
}

func userConfig(t testing.TB, d *pki.Dir, url, user string, groups ...string) *client.Config {
	t.Helper()
	cert, key, err := d.CA.Issue(pki.CertRequest{CommonName: user, Organization: groups, Usage: pki.ClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	return &client.Config{Host: url, TLS: client.TLSConfig{CAData: d.CA.CertPEM, CertData: cert, KeyData: key}}
}

func writeUserKubeconfig(t testing.TB, cfg *client.Config) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "kubeconfig-")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := client.WriteKubeconfig(f.Name(), "skiff", cfg); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func httpClient(t testing.TB, cfg *client.Config) *http.Client {
	t.Helper()
	c, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
