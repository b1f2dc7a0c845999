// Package controlplane starts skiff's control plane in a test process — embedded etcd and
// an API server serving TLS with a cluster PKI — and builds skiff's programs for tests that
// run them. It is the half of skifftest that imports no controller, scheduler or node
// agent, so that test/harness, which those packages' own tests use, can use it without an
// import cycle.
package controlplane

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/storage"
)

// Options configure the control plane.
type Options struct {
	// APIServerArgs are skiff-apiserver flags; those about listening, etcd and certificates
	// are the control plane's.
	APIServerArgs []string
	// Configure, if set, adjusts the API server's configuration last.
	Configure func(*apiserver.Config)
	// EtcdQuotaBytes is the embedded etcd's backend quota (0: etcd's default).
	EtcdQuotaBytes int64
	// NoServiceAccountAdmission turns the ServiceAccount admission plugin off, for servers
	// without a controller manager to create the default ServiceAccounts (kube-apiserver's
	// integration servers do the same).
	NoServiceAccountAdmission bool
	Logger                    *slog.Logger
}

// ControlPlane is a running etcd and API server.
type ControlPlane struct {
	// URL is the API server's address (https://127.0.0.1:PORT); Kubeconfig the path of an
	// administrator's kubeconfig (system:masters).
	URL, Kubeconfig string
	// CAData is the cluster CA certificate; CertData and KeyData the administrator's client
	// certificate and key (PEM).
	CAData, CertData, KeyData []byte
	PKI                       *pki.Dir
	API                       *apiserver.Server
	Etcd                      *clientv3.Client
	// Stop stops the API server, then etcd.
	Stop func()
}

// Start runs etcd and the API server with their data, PKI and kubeconfig under dir.
func Start(dir string, o Options) (*ControlPlane, error) {
	d, err := pki.OpenDir(filepath.Join(dir, "pki"))
	if err != nil {
		return nil, fmt.Errorf("cluster PKI: %w", err)
	}
	cp := &ControlPlane{PKI: d}
	cfg, err := APIServerConfig(d, o)
	if err != nil {
		return nil, err
	}
	if o.Logger != nil {
		cfg.Logger = o.Logger
	}
	// The API server and etcd outlive whatever runs against them (they stop through Stop).
	ctx, cancel := context.WithCancel(context.Background())
	var stops []func()
	cp.Stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	fail := func(err error) (*ControlPlane, error) {
		cancel()
		cp.Stop()
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "etcd"), 0o700); err != nil {
		return fail(err)
	}
	e, err := storage.StartEmbedded(ctx, filepath.Join(dir, "etcd"), storage.EmbeddedOptions{QuotaBackendBytes: o.EtcdQuotaBytes,
		// The data dies with the test: no crash to survive, and fsync is most of a write's time.
		UnsafeNoFsync: true})
	if err != nil {
		return fail(fmt.Errorf("embedded etcd: %w", err))
	}
	stops = append(stops, func() { e.Close() })
	cp.Etcd = e.Client()
	api, err := apiserver.New(ctx, cfg, storage.NewEtcd(e.Client(), storage.EtcdOptions{}))
	if err != nil {
		return fail(fmt.Errorf("API server: %w", err))
	}
	cp.API = api
	serving, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return fail(err)
	}
	hs := httptest.NewUnstartedServer(api.Handler())
	hs.EnableHTTP2 = true
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequestClientCert}
	hs.StartTLS()
	stops = append(stops, func() {
		cancel()
		hs.CloseClientConnections()
		hs.Close()
	})
	cp.URL = hs.URL
	cert, key, err := d.Ensure(pki.AdminName, pki.Admin)
	if err != nil {
		return fail(err)
	}
	cp.CAData, cp.CertData, cp.KeyData = d.CA.CertPEM, cert, key
	cp.Kubeconfig = filepath.Join(dir, "kubeconfig")
	admin := &client.Config{Host: cp.URL, TLS: client.TLSConfig{CAData: cp.CAData, CertData: cert, KeyData: key}}
	if err := client.WriteKubeconfig(cp.Kubeconfig, "skiff", admin); err != nil {
		return fail(err)
	}
	return cp, nil
}

// APIServerConfig is the API server's configuration: APIServerArgs parsed as
// skiff-apiserver parses its flags, then the control plane's certificates.
func APIServerConfig(d *pki.Dir, o Options) (apiserver.Config, error) {
	var cfg apiserver.Config
	fs := flag.NewFlagSet("skiff-apiserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish := cfg.AddFlags(fs)
	if err := fs.Parse(o.APIServerArgs); err != nil {
		return cfg, fmt.Errorf("Options.APIServerArgs: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("Options.APIServerArgs: unexpected argument %q", fs.Arg(0))
	}
	if err := finish(); err != nil {
		return cfg, fmt.Errorf("Options.APIServerArgs: %w", err)
	}
	// The kubernetes Service's cluster IP (10.96.0.1) is in the serving certificate, as
	// skiff up's is.
	if _, _, err := d.Ensure(pki.APIServerName, pki.APIServerServing(net.IPv4(10, 96, 0, 1))); err != nil {
		return cfg, err
	}
	if _, _, err := d.Ensure(pki.APIServerKubeletClientName, pki.APIServerKubeletClient); err != nil {
		return cfg, err
	}
	cfg.TLSCertFile, cfg.TLSKeyFile = d.CertFile(pki.APIServerName), d.KeyFile(pki.APIServerName)
	cfg.ClientCAFile = d.File(pki.CACert)
	cfg.ServiceAccountSigningKeyFile = d.File(pki.SAKey)
	cfg.KubeletClientCertFile, cfg.KubeletClientKeyFile = d.CertFile(pki.APIServerKubeletClientName), d.KeyFile(pki.APIServerKubeletClientName)
	cfg.KubeletCAFile = d.File(pki.CACert)
	if o.NoServiceAccountAdmission {
		cfg.DisableAdmissionPlugins = append(cfg.DisableAdmissionPlugins, apiserver.ServiceAccountAdmissionPlugin)
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	return cfg, nil
}
