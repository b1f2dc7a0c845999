package join

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// The control-plane side of a join: `skiff token create` makes a bootstrap token (a
// Secret the API server's bootstrap token authenticator reads) and prints the command that
// joins a node with it.

// DefaultTokenGroup is the extra group kubeadm gives node bootstrap tokens.
const DefaultTokenGroup = "system:bootstrappers:kubeadm:default-node-token"

var (
	secrets     = client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}
	configMaps  = client.Resource{Version: "v1", Resource: "configmaps", Namespaced: true}
	tokenLetter = "abcdefghijklmnopqrstuvwxyz0123456789"
)

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = tokenLetter[int(b[i])%len(tokenLetter)]
	}
	return string(b)
}

// CreateToken creates a bootstrap token valid for ttl (0: no expiry) and returns it
// ("id.secret").
func CreateToken(ctx context.Context, c *client.Client, ttl time.Duration, description string) (string, error) {
	id, secret := randomString(6), randomString(16)
	data := map[string][]byte{
		bootstraptoken.KeyTokenID:             []byte(id),
		bootstraptoken.KeyTokenSecret:         []byte(secret),
		bootstraptoken.KeyUsageAuthentication: []byte("true"),
		bootstraptoken.KeyUsageSigning:        []byte("true"),
		bootstraptoken.KeyExtraGroups:         []byte(DefaultTokenGroup),
	}
	if description != "" {
		data[bootstraptoken.KeyDescription] = []byte(description)
	}
	if ttl > 0 {
		data[bootstraptoken.KeyExpiration] = []byte(time.Now().Add(ttl).UTC().Format(time.RFC3339))
	}
	s := &core.Secret{TypeMeta: meta.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: bootstraptoken.SecretName(id), Namespace: bootstraptoken.Namespace},
		Type:       bootstraptoken.SecretType, Data: data}
	if _, err := client.For[core.Secret](c, secrets).Create(ctx, s); err != nil {
		return "", fmt.Errorf("create bootstrap token secret: %w", err)
	}
	return id + "." + secret, nil
}

// JoinCommand is the command that joins a node with token: the API server address and CA
// pin as cluster-info publishes them.
func JoinCommand(ctx context.Context, c *client.Client, token string) (string, error) {
	cm, err := client.For[core.ConfigMap](c, configMaps).Get(ctx, "kube-public", "cluster-info")
	if err != nil {
		return "", fmt.Errorf("read cluster-info: %w", err)
	}
	var kc struct {
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CAData []byte `json:"certificate-authority-data"`
			} `json:"cluster"`
		} `json:"clusters"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["kubeconfig"]), &kc); err != nil || len(kc.Clusters) == 0 {
		return "", errors.New("cluster-info holds no cluster")
	}
	ca, err := pki.ParseCert(kc.Clusters[0].Cluster.CAData)
	if err != nil {
		return "", fmt.Errorf("cluster-info CA: %w", err)
	}
	server := strings.TrimPrefix(kc.Clusters[0].Cluster.Server, "https://")
	return fmt.Sprintf("skiff join %s --token %s --discovery-token-ca-cert-hash %s", server, token, pki.Hash(ca)), nil
}
