package launcher

import (
	"fmt"
	"path/filepath"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// WriteIngressKubeconfig writes to path a kubeconfig of skiff-ingress's identity
// (system:skiff:ingress-controller, the one `skiff up` gives the ingress on its own nodes)
// for the cluster started from dataDir, for a machine that `skiff join`s to run
// skiff-ingress. A node's own identity cannot serve: the ingress reads every namespace's
// TLS Secrets, which the Node authorizer keeps from nodes, and a bootstrap token may only
// obtain a node's certificate — so the administrator hands this file over, as they hand
// over the join token. The server written is the admin kubeconfig's; skiff join replaces
// it (and the CA) with the ones it verified.
func WriteIngressKubeconfig(dataDir, path string) error {
	o := Options{DataDir: dataDir}
	if err := o.setDefaults(); err != nil {
		return err
	}
	admin, err := client.LoadKubeconfig(filepath.Join(o.DataDir, "kubeconfig"), "")
	if err != nil {
		return fmt.Errorf("the cluster's admin kubeconfig: %w", err)
	}
	sec, err := openClusterPKI(o.DataDir)
	if err != nil {
		return err
	}
	if err := sec.kubeconfig(path, pki.IngressName, admin.Host, pki.Ingress); err != nil {
		return fmt.Errorf("ingress kubeconfig: %w", err)
	}
	return nil
}
