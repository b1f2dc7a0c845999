// Package join is what a machine does to join a cluster with a bootstrap token, as
// `kubeadm join` does with token discovery: it reads the cluster-info ConfigMap of
// kube-public (anonymously, over a TLS connection it cannot verify yet), trusts the CA found
// there only if its public key matches one of the --discovery-token-ca-cert-hash pins, then
// reads cluster-info again over a connection verified with that CA (so the server it talks
// to holds a certificate of that CA), and writes the bootstrap kubeconfig the node agent
// starts with (the CA and the token).
package join

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

const clusterInfoPath = "/api/v1/namespaces/kube-public/configmaps/cluster-info"

// ErrCAMismatch is returned when no CA in cluster-info matches the pins.
var ErrCAMismatch = errors.New("the cluster CA does not match the --discovery-token-ca-cert-hash")

var pinRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// CheckPins validates the format of --discovery-token-ca-cert-hash values.
func CheckPins(pins []string) error {
	if len(pins) == 0 {
		return errors.New("--discovery-token-ca-cert-hash is required: the CA's public key is how the node knows it joins the right cluster")
	}
	for _, p := range pins {
		if !pinRE.MatchString(strings.ToLower(p)) {
			return fmt.Errorf("invalid --discovery-token-ca-cert-hash %q: want sha256:<64 hex digits>", p)
		}
	}
	return nil
}

// ServerURL turns a join address (HOST:PORT, or a URL) into an https URL.
func ServerURL(server string) string {
	if strings.Contains(server, "://") {
		return server
	}
	return "https://" + server
}

// Discover returns the cluster CA (PEM) of the API server at server, verified against pins.
func Discover(ctx context.Context, server string, pins []string) ([]byte, error) {
	if err := CheckPins(pins); err != nil {
		return nil, err
	}
	url := ServerURL(server) + clusterInfoPath
	// First read: the connection proves nothing, so nothing from it is used but the CA,
	// and only once the CA's key matches a pin the operator brought from the cluster.
	insecure := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // verified by pin below
	raw, err := fetch(ctx, url, insecure)
	if err != nil {
		return nil, err
	}
	caPEM, err := caOf(raw)
	if err != nil {
		return nil, err
	}
	ca, err := pinned(caPEM, pins)
	if err != nil {
		return nil, err
	}
	// Second read, over a connection verified with the pinned CA: the server must hold a
	// certificate of that CA, and say the same.
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	verified, err := fetch(ctx, url, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, ServerName: hostOf(server)})
	if err != nil {
		return nil, fmt.Errorf("reading cluster-info with the verified CA: %w", err)
	}
	if string(verified) != string(raw) {
		return nil, errors.New("cluster-info changed between the unverified and the verified read")
	}
	return caPEM, nil
}

func hostOf(server string) string {
	s := server
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	s, _, _ = strings.Cut(s, "/")
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// fetch GETs the cluster-info kubeconfig, with no credentials.
func fetch(ctx context.Context, url string, tc *tls.Config) ([]byte, error) {
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get cluster-info: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get cluster-info: %s: %s", resp.Status, body)
	}
	var cm core.ConfigMap
	if err := json.Unmarshal(body, &cm); err != nil {
		return nil, fmt.Errorf("cluster-info: %w", err)
	}
	kc, ok := cm.Data["kubeconfig"]
	if !ok {
		return nil, errors.New("cluster-info has no kubeconfig")
	}
	return []byte(kc), nil
}

// caOf extracts the first cluster's CA from a kubeconfig.
func caOf(kubeconfig []byte) ([]byte, error) {
	var kc struct {
		Clusters []struct {
			Cluster struct {
				CAData []byte `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal(kubeconfig, &kc); err != nil {
		return nil, fmt.Errorf("cluster-info kubeconfig: %w", err)
	}
	if len(kc.Clusters) == 0 || len(kc.Clusters[0].Cluster.CAData) == 0 {
		return nil, errors.New("cluster-info kubeconfig has no certificate-authority-data")
	}
	return kc.Clusters[0].Cluster.CAData, nil
}

// pinned returns the CA of caPEM whose public key matches a pin.
func pinned(caPEM []byte, pins []string) (*x509.Certificate, error) {
	ca, err := pki.ParseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster-info CA: %w", err)
	}
	h := pki.Hash(ca)
	if !slices.ContainsFunc(pins, func(p string) bool { return strings.EqualFold(p, h) }) {
		return nil, fmt.Errorf("%w: the cluster presents %s", ErrCAMismatch, h)
	}
	return ca, nil
}

// WriteBootstrapKubeconfig writes the kubeconfig the node agent bootstraps with: the server,
// the verified CA and the bootstrap token.
func WriteBootstrapKubeconfig(path, server string, caPEM []byte, token string) error {
	return client.WriteKubeconfig(path, "tls-bootstrap-token-user", &client.Config{Host: ServerURL(server),
		BearerToken: token, TLS: client.TLSConfig{CAData: caPEM}})
}
