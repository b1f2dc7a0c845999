package cli

import (
	"strings"

	"github.com/skiff-sh/skiff/client"
)

// ServerFlagUsage is the help of every binary's --server flag.
const ServerFlagUsage = "API server URL (overrides the kubeconfig's); a comma-separated list names every API server of an HA control plane: the client uses the first that answers and fails over to the others"

// ClientConfig is the API client configuration of a binary's --kubeconfig and --server
// flags: --server alone needs no kubeconfig; with both, --server overrides its address.
// --server may list several API servers (comma-separated): the first is used while it
// answers, the others when it cannot be reached (client.Config.Servers).
func ClientConfig(kubeconfig, server string) (*client.Config, error) {
	if kubeconfig == "" && server != "" {
		cfg := &client.Config{}
		ApplyServers(cfg, server)
		return cfg, nil
	}
	cfg, err := client.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return nil, err
	}
	ApplyServers(cfg, server)
	return cfg, nil
}

// ApplyServers sets cfg's servers from a --server value (nothing when it is empty).
func ApplyServers(cfg *client.Config, server string) {
	var servers []string
	for _, s := range strings.Split(server, ",") {
		if s = strings.TrimSpace(s); s != "" {
			servers = append(servers, s)
		}
	}
	if len(servers) > 0 {
		cfg.Host, cfg.Servers = servers[0], servers[1:]
	}
}
