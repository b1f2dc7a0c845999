package launcher

import (
	"bytes"
	"crypto/x509"
	"flag"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/pki"
)

// The API server's flags name a front-proxy CA and client certificate in DIR/pki/front-proxy
// that a second start (skiff up again, skiff init again) finds and keeps, so the
// extension-apiserver-authentication ConfigMap publishes the same CA after a restart.
func TestFrontProxyPKIKeptAcrossStarts(t *testing.T) {
	dir := t.TempDir()
	start := func() (apiserver.Config, []byte, []byte) {
		t.Helper()
		p, err := openClusterPKI(dir)
		if err != nil {
			t.Fatal(err)
		}
		args, err := p.apiServerArgs()
		if err != nil {
			t.Fatal(err)
		}
		var cfg apiserver.Config
		fs := flag.NewFlagSet("skiff-apiserver", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := cfg.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := finish(); err != nil {
			t.Fatalf("skiff-apiserver refuses %v: %v", args, err)
		}
		ca, err := os.ReadFile(cfg.RequestHeaderClientCAFile)
		if err != nil {
			t.Fatalf("--requestheader-client-ca-file: %v", err)
		}
		cert, err := os.ReadFile(cfg.ProxyClientCertFile)
		if err != nil {
			t.Fatalf("--proxy-client-cert-file: %v", err)
		}
		if _, err := os.Stat(cfg.ProxyClientKeyFile); err != nil {
			t.Fatalf("--proxy-client-key-file: %v", err)
		}
		return cfg, ca, cert
	}
	cfg1, ca1, cert1 := start()
	cfg2, ca2, cert2 := start()
	if !slices.Equal(cfg1.RequestHeaderAllowedNames, []string{apiserver.FrontProxyClientName}) {
		t.Errorf("--requestheader-allowed-names %v, want only %s (as kubeadm)", cfg1.RequestHeaderAllowedNames, apiserver.FrontProxyClientName)
	}
	if !bytes.Equal(ca1, ca2) || !bytes.Equal(cert1, cert2) || cfg1.ProxyClientCertFile != cfg2.ProxyClientCertFile {
		t.Error("a second start made a new front-proxy CA or client certificate")
	}

	caCert, err := pki.ParseCert(ca1)
	if err != nil {
		t.Fatal(err)
	}
	clusterCA, err := os.ReadFile(cfg1.ClientCAFile)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(clusterCA, ca1) {
		t.Error("the front-proxy CA is the cluster CA: any client certificate could assert a user")
	}
	leaf, err := pki.ParseCert(cert1)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != apiserver.FrontProxyClientName || leaf.CheckSignatureFrom(caCert) != nil ||
		!slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("front-proxy client certificate: CN %q, usages %v, signed by the front-proxy CA: %v",
			leaf.Subject.CommonName, leaf.ExtKeyUsage, leaf.CheckSignatureFrom(caCert))
	}
}
