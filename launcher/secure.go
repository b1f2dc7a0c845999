package launcher

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// clusterPKI is a cluster's CA (DIR/pki, created by the first `skiff up` and reused by
// every later one) and the identities the launcher gives its programs: each has its own
// certificate and kubeconfig under DIR/kubeconfigs, so each runs with its own
// least-privilege role; DIR/kubeconfig is the administrator's (system:masters).
type clusterPKI struct {
	dir   *pki.Dir
	kcDir string
}

// kubernetesServiceIP is the first address of the default Service range, the kubernetes
// Service's cluster IP, which in-cluster clients dial.
var kubernetesServiceIP = net.IPv4(10, 96, 0, 1)

func openClusterPKI(dataDir string) (*clusterPKI, error) {
	d, err := pki.OpenDir(filepath.Join(dataDir, "pki"))
	if err != nil {
		return nil, fmt.Errorf("cluster PKI: %w", err)
	}
	return &clusterPKI{dir: d, kcDir: filepath.Join(dataDir, "kubeconfigs")}, nil
}

// apiServerArgs issues (or reuses) the API server's serving certificate for its listen
// addresses and every address of this machine (so nodes on other machines can reach it),
// and returns the flags that point the API server at the PKI — the front-proxy CA and
// client certificate included (DIR/pki/front-proxy), kept across restarts like the rest.
func (p *clusterPKI) apiServerArgs(extraIPs ...net.IP) ([]string, error) {
	ips := append(machineIPs(), extraIPs...)
	if _, _, err := p.dir.Ensure(pki.APIServerName, pki.APIServerServing(kubernetesServiceIP, ips...)); err != nil {
		return nil, err
	}
	if _, _, err := p.dir.Ensure(pki.APIServerKubeletClientName, pki.APIServerKubeletClient); err != nil {
		return nil, err
	}
	fp, err := pki.OpenFrontProxy(p.dir.Path)
	if err != nil {
		return nil, fmt.Errorf("front-proxy PKI: %w", err)
	}
	d := p.dir
	return append([]string{
		"--tls-cert-file", d.CertFile(pki.APIServerName), "--tls-private-key-file", d.KeyFile(pki.APIServerName),
		"--client-ca-file", d.File(pki.CACert),
		"--service-account-signing-key-file", d.File(pki.SAKey),
		"--kubelet-client-certificate", d.CertFile(pki.APIServerKubeletClientName),
		"--kubelet-client-key", d.KeyFile(pki.APIServerKubeletClientName),
		"--kubelet-certificate-authority", d.File(pki.CACert),
	}, fp.APIServerArgs()...), nil
}

// controllerManagerArgs give the controller manager the CA to sign approved
// CertificateSigningRequests with, the ServiceAccount key to sign the tokens of
// service-account-token Secrets with, and the CA certificate to publish as kube-root-ca.crt.
func (p *clusterPKI) controllerManagerArgs() []string {
	return []string{"--cluster-signing-cert-file", p.dir.File(pki.CACert), "--cluster-signing-key-file", p.dir.File(pki.CAKey),
		"--service-account-private-key-file", p.dir.File(pki.SAKey), "--root-ca-file", p.dir.File(pki.CACert)}
}

// kubeconfig writes the kubeconfig of identity r (file name name) for server and returns
// its path; the admin's is the caller's to place.
func (p *clusterPKI) kubeconfig(path, name, server string, r pki.CertRequest) error {
	cert, key, err := p.dir.Ensure(name, r)
	if err != nil {
		return err
	}
	return client.WriteKubeconfig(path, "skiff", &client.Config{Host: server,
		TLS: client.TLSConfig{CAData: p.dir.CA.CertPEM, CertData: cert, KeyData: key}})
}

// component writes the kubeconfig of a program's identity under DIR/kubeconfigs.
func (p *clusterPKI) component(name, server string, r pki.CertRequest) (string, error) {
	path := filepath.Join(p.kcDir, name+".kubeconfig")
	return path, p.kubeconfig(path, name, server, r)
}

// nodeServing issues a node agent's serving certificate and returns its files.
func (p *clusterPKI) nodeServing(node string, ip net.IP) (cert, key string, err error) {
	name := "node-" + node + "-serving"
	if _, _, err := p.dir.Ensure(name, pki.NodeServing(node, ip)); err != nil {
		return "", "", err
	}
	return p.dir.CertFile(name), p.dir.KeyFile(name), nil
}

// simServing issues the serving certificate the simulated nodes share (for the machine's
// addresses, where their ports are) and returns its files.
func (p *clusterPKI) simServing() (cert, key string, err error) {
	const name = "nodes-sim-serving"
	if _, _, err := p.dir.Ensure(name, pki.NodeServing("sim", machineIPs()...)); err != nil {
		return "", "", err
	}
	return p.dir.CertFile(name), p.dir.KeyFile(name), nil
}

// adminHTTP is an HTTP client with the administrator's certificate (readiness checks).
func (p *clusterPKI) adminHTTP(kubeconfig string) (*http.Client, error) {
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return nil, err
	}
	return cfg.HTTPClient()
}

// machineIPs are this machine's unicast addresses.
func machineIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
			ips = append(ips, n.IP)
		}
	}
	return ips
}
