package launcher

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/skiff-sh/skiff/pki"
)

// PKIFiles says what `skiff pki` writes for a control plane whose programs run apart
// (containers of the docker-compose stack, machines): the cluster CA and every program's
// certificate under DIR/pki, a kubeconfig per program identity under DIR/kubeconfigs, and the
// administrator's kubeconfig. Everything already there is kept (a restart reuses the CA), so
// it is safe to run before every start.
type PKIFiles struct {
	Dir string
	// Server is the API server's URL as the programs dial it (https://apiserver:6443).
	Server string
	// SANs are the extra names and addresses of the API server's serving certificate (the
	// names it is dialled by), besides loopback and the kubernetes Service's.
	SANs []string
	// Nodes get a node agent kubeconfig each (system:node:NAME), kubeconfigs/node-NAME.kubeconfig.
	Nodes []string
	// AdminKubeconfig, when set, is where the administrator's kubeconfig goes, dialling
	// AdminServer (default Server).
	AdminKubeconfig, AdminServer string
}

// WritePKIFiles writes the files of f and returns their paths, one per line, for the log.
func WritePKIFiles(f PKIFiles) ([]string, error) {
	if f.Dir == "" || f.Server == "" {
		return nil, errors.New("need the directory (--dir) and the API server's URL (--server)")
	}
	p, err := openClusterPKI(f.Dir)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	var dns []string
	for _, s := range f.SANs {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else if s != "" {
			dns = append(dns, s)
		}
	}
	serving := pki.APIServerServing(kubernetesServiceIP, ips...)
	serving.DNSNames = append(serving.DNSNames, dns...)
	if _, _, err := p.dir.Ensure(pki.APIServerName, serving); err != nil {
		return nil, err
	}
	if _, _, err := p.dir.Ensure(pki.APIServerKubeletClientName, pki.APIServerKubeletClient); err != nil {
		return nil, err
	}
	if _, err := pki.OpenFrontProxy(p.dir.Path); err != nil {
		return nil, err
	}
	written := []string{p.dir.Path}
	ids := []struct {
		name string
		r    pki.CertRequest
	}{{pki.ControllerManagerName, pki.ControllerManager}, {pki.SchedulerName, pki.Scheduler}, {pki.ProxyName, pki.Proxy}, {pki.IngressName, pki.Ingress}}
	for _, n := range f.Nodes {
		if n = strings.TrimSpace(n); n != "" {
			ids = append(ids, struct {
				name string
				r    pki.CertRequest
			}{"node-" + n, pki.Node(n)})
		}
	}
	for _, id := range ids {
		path, err := p.component(id.name, f.Server, id.r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id.name, err)
		}
		written = append(written, path)
	}
	if f.AdminKubeconfig != "" {
		server := f.AdminServer
		if server == "" {
			server = f.Server
		}
		path, err := filepath.Abs(f.AdminKubeconfig)
		if err != nil {
			return nil, err
		}
		if err := p.kubeconfig(path, pki.AdminName, server, pki.Admin); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	return written, nil
}
