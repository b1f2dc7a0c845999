package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Dir is a cluster's PKI folder (DIR/pki under `skiff up`, /etc/skiff/pki on a VM):
//
//	ca.crt ca.key        the cluster CA
//	sa.key sa.pub        the ServiceAccount token signing key
//	NAME.crt NAME.key    leaf certificates (apiserver, admin, controller-manager, ...)
//
// Everything is created once and reused: a second `skiff up` finds the same CA, so
// kubeconfigs and joined nodes stay valid.
type Dir struct {
	Path string
	CA   *CA
}

// Well-known file names in a Dir.
const (
	CACert = "ca.crt"
	CAKey  = "ca.key"
	SAKey  = "sa.key"
	SAPub  = "sa.pub"
)

// OpenDir loads the CA in path, creating the CA and the ServiceAccount key the first time.
func OpenDir(path string) (*Dir, error) {
	d, err := OpenCADir(path, "skiff-ca")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.File(SAKey)); errors.Is(err, os.ErrNotExist) {
		key, err := NewKey()
		if err != nil {
			return nil, err
		}
		keyPEM, _ := EncodeKey(key)
		pubPEM, _ := EncodePublicKey(key.Public())
		if err := writeFile(d.File(SAPub), pubPEM, 0o644); err != nil {
			return nil, err
		}
		if err := writeFile(d.File(SAKey), keyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// OpenCADir loads the CA in path, creating it (named commonName) the first time: a folder
// of a CA and its leaves only, such as the etcd CA's.
func OpenCADir(path, commonName string) (*Dir, error) {
	d := &Dir{Path: path}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	ca, err := LoadCA(d.File(CACert), d.File(CAKey))
	switch {
	case err == nil:
		d.CA = ca
	case errors.Is(err, os.ErrNotExist):
		if ca, err = NewCA(commonName); err != nil {
			return nil, err
		}
		keyPEM, err := EncodeKey(ca.Key)
		if err != nil {
			return nil, err
		}
		// The key first: a CA certificate without its key would be found and fail to load.
		if err := writeFile(d.File(CAKey), keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeFile(d.File(CACert), ca.CertPEM, 0o644); err != nil {
			return nil, err
		}
		d.CA = ca
	default:
		return nil, fmt.Errorf("pki: load CA from %s: %w", path, err)
	}
	return d, nil
}

// File is the path of a file in the folder.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// CertFile and KeyFile are the paths of the leaf certificate name.
func (d *Dir) CertFile(name string) string { return d.File(name + ".crt") }
func (d *Dir) KeyFile(name string) string  { return d.File(name + ".key") }

// Ensure makes sure the leaf certificate name exists, is signed by this CA, is valid for at
// least a tenth of its lifetime more, and says what r says (subject, names, addresses,
// usage); otherwise it issues a new one. It returns the certificate and key PEM.
func (d *Dir) Ensure(name string, r CertRequest) (certPEM, keyPEM []byte, err error) {
	certPEM, err1 := os.ReadFile(d.CertFile(name))
	keyPEM, err2 := os.ReadFile(d.KeyFile(name))
	if err1 == nil && err2 == nil && d.matches(certPEM, r) {
		return certPEM, keyPEM, nil
	}
	certPEM, keyPEM, err = d.CA.Issue(r)
	if err != nil {
		return nil, nil, err
	}
	if err := writeFile(d.KeyFile(name), keyPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeFile(d.CertFile(name), certPEM, 0o644); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

func (d *Dir) matches(certPEM []byte, r CertRequest) bool {
	c, err := ParseCert(certPEM)
	if err != nil || c.CheckSignatureFrom(d.CA.Cert) != nil {
		return false
	}
	if time.Until(c.NotAfter) < c.NotAfter.Sub(c.NotBefore)/10 {
		return false
	}
	if c.Subject.CommonName != r.CommonName || !slices.Equal(c.Subject.Organization, r.Organization) {
		return false
	}
	for _, n := range r.DNSNames {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	for _, ip := range r.IPs {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	want := map[x509.ExtKeyUsage]bool{x509.ExtKeyUsageClientAuth: r.Usage&ClientAuth != 0, x509.ExtKeyUsageServerAuth: r.Usage&ServerAuth != 0}
	for u, w := range want {
		if slices.Contains(c.ExtKeyUsage, u) != w {
			return false
		}
	}
	return true
}

// APIServerNames are the names and addresses the API server's serving certificate covers
// besides those of the machine: what in-cluster clients and kubectl dial.
func APIServerNames(serviceIP net.IP, extraIPs ...net.IP) ([]string, []net.IP) {
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if serviceIP != nil {
		ips = append(ips, serviceIP)
	}
	return dns, append(ips, extraIPs...)
}

// FrontProxy is the front-proxy CA's folder (PATH/front-proxy) with its client certificate.
type FrontProxy struct{ *Dir }

// OpenFrontProxy loads (the first time creates) the front-proxy CA of the cluster PKI in
// path and makes sure its client certificate is there and current. Kept like the cluster
// CA, it stays the same across restarts, and so does what the API server publishes in
// kube-system/extension-apiserver-authentication for extension servers to trust.
func OpenFrontProxy(path string) (*FrontProxy, error) {
	d, err := OpenCADir(filepath.Join(path, FrontProxyDir), "skiff-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	if _, _, err := d.Ensure(FrontProxyClientName, FrontProxyClient); err != nil {
		return nil, err
	}
	return &FrontProxy{d}, nil
}

// APIServerArgs are skiff-apiserver's (and kube-apiserver's) flags naming the front-proxy
// CA and client certificate, and — as kubeadm does — allowing only that certificate's name
// to assert a user.
func (f *FrontProxy) APIServerArgs() []string {
	return []string{"--requestheader-client-ca-file", f.File(CACert), "--requestheader-allowed-names", FrontProxyClient.CommonName,
		"--proxy-client-cert-file", f.CertFile(FrontProxyClientName), "--proxy-client-key-file", f.KeyFile(FrontProxyClientName)}
}
