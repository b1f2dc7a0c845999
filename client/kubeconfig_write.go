package client

import (
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// WriteKubeconfig writes cfg as a kubeconfig kubectl reads: one cluster, one user and one
// context named name (with namespace "default"), certificates and keys embedded. The file
// is written atomically with mode 0600: it holds credentials.
func WriteKubeconfig(path, name string, cfg *Config) error {
	cluster := map[string]any{"server": cfg.Host}
	if len(cfg.TLS.CAData) > 0 {
		cluster["certificate-authority-data"] = cfg.TLS.CAData
	}
	if cfg.TLS.ServerName != "" {
		cluster["tls-server-name"] = cfg.TLS.ServerName
	}
	if cfg.TLS.Insecure {
		cluster["insecure-skip-tls-verify"] = true
	}
	user := map[string]any{}
	if len(cfg.TLS.CertData) > 0 {
		user["client-certificate-data"] = cfg.TLS.CertData
		user["client-key-data"] = cfg.TLS.KeyData
	}
	if cfg.BearerToken != "" {
		user["token"] = cfg.BearerToken
	}
	doc := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": name, "cluster": cluster}},
		"users":           []any{map[string]any{"name": name, "user": user}},
		"contexts":        []any{map[string]any{"name": name, "context": map[string]any{"cluster": name, "user": name, "namespace": "default"}}},
		"current-context": name,
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
