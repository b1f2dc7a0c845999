package certificate

import (
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// WriteKubeconfig writes the node's kubeconfig: the server and its CA, and the client
// certificate and key by path (certFile holds both), so a rotated certificate is picked up
// without rewriting it.
func WriteKubeconfig(path, server string, caPEM []byte, certFile string) error {
	abs, err := filepath.Abs(certFile)
	if err != nil {
		return err
	}
	doc := map[string]any{
		"apiVersion": "v1", "kind": "Config",
		"clusters": []any{map[string]any{"name": "default-cluster", "cluster": map[string]any{
			"server": server, "certificate-authority-data": caPEM}}},
		"users": []any{map[string]any{"name": "default-auth", "user": map[string]any{
			"client-certificate": abs, "client-key": abs}}},
		"contexts": []any{map[string]any{"name": "default-context", "context": map[string]any{
			"cluster": "default-cluster", "user": "default-auth", "namespace": "default"}}},
		"current-context": "default-context",
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}
