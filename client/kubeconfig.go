package client

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubeconfig is the part of kubectl's config file this client understands.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string      `json:"name"`
		Cluster kubeCluster `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string   `json:"name"`
		User kubeUser `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string      `json:"name"`
		Context kubeContext `json:"context"`
	} `json:"contexts"`
}

type kubeCluster struct {
	Server                   string `json:"server"`
	CertificateAuthority     string `json:"certificate-authority"`
	CertificateAuthorityData []byte `json:"certificate-authority-data"` // base64 in the file
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
	TLSServerName            string `json:"tls-server-name"`
}

type kubeUser struct {
	ClientCertificate     string `json:"client-certificate"`
	ClientCertificateData []byte `json:"client-certificate-data"`
	ClientKey             string `json:"client-key"`
	ClientKeyData         []byte `json:"client-key-data"`
	Token                 string `json:"token"`
	TokenFile             string `json:"tokenFile"`
}

type kubeContext struct {
	Cluster string `json:"cluster"`
	User    string `json:"user"`
}

// fromFile is a kubeconfig entry with the directory of the file that defined it,
// against which its relative paths resolve.
type fromFile[T any] struct {
	v   T
	dir string
}

// DefaultKubeconfigPaths is where kubectl looks: the files listed in $KUBECONFIG
// (separated by the OS path-list separator), else ~/.kube/config.
func DefaultKubeconfigPaths() []string {
	if env := os.Getenv("KUBECONFIG"); env != "" {
		var paths []string
		for _, p := range filepath.SplitList(env) {
			if p != "" {
				paths = append(paths, p)
			}
		}
		return paths
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	return []string{filepath.Join(home, ".kube", "config")}
}

// LoadKubeconfig reads a kubeconfig as kubectl writes it and returns the Config of the
// named context (empty: the current-context). An empty path means DefaultKubeconfigPaths;
// when several files are listed, the first to define a name wins, as in kubectl.
// Relative file paths inside a kubeconfig are relative to that file.
func LoadKubeconfig(path, context string) (*Config, error) {
	paths := []string{path}
	if path == "" {
		paths = DefaultKubeconfigPaths()
		if len(paths) == 0 {
			return nil, errors.New("client: no kubeconfig: $KUBECONFIG unset and no home directory")
		}
	}

	// Merge by name, first file wins.
	clusters := map[string]fromFile[kubeCluster]{}
	users := map[string]fromFile[kubeUser]{}
	contexts := map[string]kubeContext{}
	current := ""
	found := false
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) && path == "" && len(paths) > 1 {
			continue // kubectl ignores missing entries of a $KUBECONFIG list
		}
		if err != nil {
			return nil, fmt.Errorf("client: read kubeconfig: %w", err)
		}
		found = true
		var kc kubeconfig
		if err := yaml.Unmarshal(data, &kc); err != nil {
			return nil, fmt.Errorf("client: parse kubeconfig %s: %w", p, err)
		}
		dir := filepath.Dir(p)
		if current == "" {
			current = kc.CurrentContext
		}
		for _, c := range kc.Clusters {
			if _, ok := clusters[c.Name]; !ok {
				clusters[c.Name] = fromFile[kubeCluster]{c.Cluster, dir}
			}
		}
		for _, u := range kc.Users {
			if _, ok := users[u.Name]; !ok {
				users[u.Name] = fromFile[kubeUser]{u.User, dir}
			}
		}
		for _, c := range kc.Contexts {
			if _, ok := contexts[c.Name]; !ok {
				contexts[c.Name] = c.Context
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("client: none of the kubeconfig files exist: %s", strings.Join(paths, ", "))
	}

	if context == "" {
		context = current
	}
	if context == "" {
		return nil, errors.New("client: kubeconfig has no current-context and none was given")
	}
	kctx, ok := contexts[context]
	if !ok {
		return nil, fmt.Errorf("client: kubeconfig has no context %q", context)
	}
	cl, ok := clusters[kctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("client: kubeconfig context %q names unknown cluster %q", context, kctx.Cluster)
	}
	cluster := cl.v

	cfg := &Config{
		Host: cluster.Server,
		TLS: TLSConfig{
			CAData:     cluster.CertificateAuthorityData,
			ServerName: cluster.TLSServerName,
			Insecure:   cluster.InsecureSkipTLSVerify,
		},
	}
	var err error
	if len(cfg.TLS.CAData) == 0 && cluster.CertificateAuthority != "" {
		if cfg.TLS.CAData, err = readRelative(cl.dir, cluster.CertificateAuthority); err != nil {
			return nil, err
		}
	}

	if kctx.User != "" {
		us, ok := users[kctx.User]
		if !ok {
			return nil, fmt.Errorf("client: kubeconfig context %q names unknown user %q", context, kctx.User)
		}
		user := us.v
		cfg.BearerToken = user.Token
		cfg.TLS.CertData = user.ClientCertificateData
		cfg.TLS.KeyData = user.ClientKeyData
		if cfg.BearerToken == "" && user.TokenFile != "" {
			tok, err := readRelative(us.dir, user.TokenFile)
			if err != nil {
				return nil, err
			}
			cfg.BearerToken = strings.TrimSpace(string(tok))
		}
		if len(cfg.TLS.CertData) == 0 && user.ClientCertificate != "" {
			if cfg.TLS.CertData, err = readRelative(us.dir, user.ClientCertificate); err != nil {
				return nil, err
			}
		}
		if len(cfg.TLS.KeyData) == 0 && user.ClientKey != "" {
			if cfg.TLS.KeyData, err = readRelative(us.dir, user.ClientKey); err != nil {
				return nil, err
			}
		}
	}
	return cfg, nil
}

func readRelative(dir, p string) ([]byte, error) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("client: kubeconfig: %w", err)
	}
	return b, nil
}

// Where a pod finds its service account credentials and the API server.
const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InClusterConfig is the Config of a process running in a pod: the API server from
// $KUBERNETES_SERVICE_HOST/PORT, the pod's service account token and the cluster CA.
func InClusterConfig() (*Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("client: not in a cluster: KUBERNETES_SERVICE_HOST/PORT unset")
	}
	token, err := os.ReadFile(filepath.Join(serviceAccountDir, "token"))
	if err != nil {
		return nil, fmt.Errorf("client: in-cluster token: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(serviceAccountDir, "ca.crt"))
	if err != nil {
		return nil, fmt.Errorf("client: in-cluster CA: %w", err)
	}
	return &Config{
		Host:        "https://" + net.JoinHostPort(host, port),
		BearerToken: strings.TrimSpace(string(token)),
		TLS:         TLSConfig{CAData: ca},
	}, nil
}
