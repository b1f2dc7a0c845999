package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/certificate"
)

// clientCertFile is the node's current client certificate and key, under --cert-dir.
const clientCertFile = "node-client-current.pem"

// bootstrapClient is --bootstrap-kubeconfig at work, as in the kubelet: with no valid
// client certificate in certDir, the node asks for one with the bootstrap credentials (a
// bootstrap token), writes --kubeconfig to use it, and from then on renews it itself. It
// returns the client configuration to use, reading the certificate file at every new
// connection, and the manager that rotates it.
func bootstrapClient(ctx context.Context, bootstrapKubeconfig, kubeconfig, certDir, nodeName string, log *slog.Logger) (*client.Config, *certificate.Manager, error) {
	bcfg, err := client.LoadKubeconfig(bootstrapKubeconfig, "")
	if err != nil {
		return nil, nil, fmt.Errorf("--bootstrap-kubeconfig: %w", err)
	}
	m := &certificate.Manager{NodeName: nodeName, File: filepath.Join(certDir, clientCertFile), Log: log.With("component", "certificate")}
	if _, ok := m.Current(); !ok {
		bc, err := client.New(bcfg)
		if err != nil {
			return nil, nil, err
		}
		if err := m.Bootstrap(ctx, bc); err != nil {
			return nil, nil, fmt.Errorf("bootstrap client certificate: %w", err)
		}
		if err := certificate.WriteKubeconfig(kubeconfig, bcfg.Host, bcfg.TLS.CAData, m.File); err != nil {
			return nil, nil, err
		}
		log.Info("client certificate issued; kubeconfig written", "kubeconfig", kubeconfig)
	}
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return nil, nil, err
	}
	cfg.TLS.CertData, cfg.TLS.KeyData = nil, nil
	cfg.TLS.CertFile, cfg.TLS.KeyFile = m.File, m.File
	return cfg, m, nil
}

// nodeDataDir is --data-dir or its default.
func nodeDataDir(dataDir, nodeName string) string {
	if dataDir != "" {
		return dataDir
	}
	return filepath.Join("/var/lib/skiff/nodes", nodeName)
}
