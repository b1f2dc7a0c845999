package launcher

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff-sh/skiff/pki"
)

// EtcdMember is one member of an external etcd cluster: its name and the IP the others
// and the API servers reach it at.
type EtcdMember struct {
	Name string
	IP   net.IP
}

// ParseEtcdMembers reads NAME=IP,NAME=IP,... (`skiff init --etcd-members`).
func ParseEtcdMembers(s string) ([]EtcdMember, error) {
	var ms []EtcdMember
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		name, addr, ok := strings.Cut(p, "=")
		ip := net.ParseIP(addr)
		if !ok || name == "" || ip == nil {
			return nil, fmt.Errorf("--etcd-members %q: want NAME=IP,NAME=IP,... (e.g. e1=10.0.0.21,e2=10.0.0.22,e3=10.0.0.23)", s)
		}
		if seen[name] {
			return nil, fmt.Errorf("--etcd-members: %s is named twice", name)
		}
		seen[name] = true
		ms = append(ms, EtcdMember{Name: name, IP: ip})
	}
	return ms, nil
}

// Files of the etcd PKI, under DATA/pki.
const (
	etcdCADir         = "etcd"                       // pki/etcd/ca.crt, ca.key: the etcd CA
	etcdClientName    = "apiserver-etcd-client"      // pki/: the API servers' client certificate
	etcdClientCN      = "kube-apiserver-etcd-client" // kubeadm's name for it
	etcdMemberName    = "member"                     // pki/etcd/member.crt on a member's machine
	etcdMembersSubdir = "etcd-members"               // DATA/etcd-members/NAME: what goes to member NAME
)

// writeEtcdMembers prepares an external etcd cluster with TLS everywhere, as kubeadm's
// external-etcd topology: a CA of its own (pki/etcd/ca.crt) — not the cluster CA, which
// also signs every node's certificate, and etcd lets in any client its CA signed —, the
// API servers' client certificate (pki/apiserver-etcd-client.crt), and for each member a
// directory DATA/etcd-members/NAME laid out like that member's /var/lib/skiff: its
// certificate for serving clients and peers (pki/etcd/member.crt, key), the CA, and
// etcd.env, the variables of skiff-etcd.service. It returns the API server's etcd flags.
func writeEtcdMembers(dataDir string, members []EtcdMember) (string, error) {
	ca, err := pki.OpenCADir(filepath.Join(dataDir, "pki", etcdCADir), "skiff-etcd-ca")
	if err != nil {
		return "", fmt.Errorf("etcd PKI: %w", err)
	}
	// The API servers' client certificate lives in the cluster's pki/ beside the others.
	client := &pki.Dir{Path: filepath.Join(dataDir, "pki"), CA: ca.CA}
	if _, _, err := client.Ensure(etcdClientName, pki.CertRequest{CommonName: etcdClientCN, Usage: pki.ClientAuth}); err != nil {
		return "", err
	}
	var initial, servers []string
	for _, m := range members {
		initial = append(initial, fmt.Sprintf("%s=https://%s", m.Name, net.JoinHostPort(m.IP.String(), "2380")))
		servers = append(servers, "https://"+net.JoinHostPort(m.IP.String(), "2379"))
	}
	for _, m := range members {
		dir := filepath.Join(dataDir, etcdMembersSubdir, m.Name)
		md := &pki.Dir{Path: filepath.Join(dir, "pki", etcdCADir), CA: ca.CA}
		if err := os.MkdirAll(md.Path, 0o700); err != nil {
			return "", err
		}
		// One certificate for both sides: etcd presents it to clients and to its peers,
		// and as a client to its peers (--peer-client-cert-auth).
		if _, _, err := md.Ensure(etcdMemberName, pki.CertRequest{CommonName: m.Name, DNSNames: []string{m.Name, "localhost"},
			IPs: []net.IP{m.IP, net.IPv4(127, 0, 0, 1)}, Usage: pki.ClientAuth | pki.ServerAuth}); err != nil {
			return "", err
		}
		if err := os.WriteFile(md.File(pki.CACert), ca.CA.CertPEM, 0o644); err != nil {
			return "", err
		}
		env := fmt.Sprintf("# Written by skiff init for etcd member %s; read by skiff-etcd.service.\nSKIFF_ETCD_NAME=%s\nSKIFF_ETCD_ADDRESS=%s\nSKIFF_ETCD_INITIAL_CLUSTER=%s\n",
			m.Name, m.Name, m.IP, strings.Join(initial, ","))
		if err := os.WriteFile(filepath.Join(dir, "etcd.env"), []byte(env), 0o644); err != nil {
			return "", err
		}
	}
	return etcdArgs(dataDir, servers), nil
}

// etcdArgs are the API server's flags for the external etcd at servers, with the etcd CA
// and client certificate in dataDir/pki.
func etcdArgs(dataDir string, servers []string) string {
	p := filepath.Join(dataDir, "pki")
	return strings.Join([]string{"--etcd-servers", strings.Join(servers, ","),
		"--etcd-cafile", filepath.Join(p, etcdCADir, pki.CACert),
		"--etcd-certfile", filepath.Join(p, etcdClientName+".crt"), "--etcd-keyfile", filepath.Join(p, etcdClientName+".key")}, " ")
}
