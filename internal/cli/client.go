package cli

import "github.com/skiff-sh/skiff/client"

// ClientConfig is the API client configuration of a binary's --kubeconfig and --server
// flags: --server alone needs no kubeconfig; with both, --server overrides its address.
func ClientConfig(kubeconfig, server string) (*client.Config, error) {
	if kubeconfig == "" && server != "" {
		return &client.Config{Host: server}, nil
	}
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return nil, err
	}
	if server != "" {
		cfg.Host = server
	}
	return cfg, nil
}
