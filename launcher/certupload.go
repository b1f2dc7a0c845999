package launcher

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/pki"
)

// The control-plane certificates a second control-plane machine needs, uploaded encrypted
// as kubeadm's `init phase upload-certs` does: Secret kube-system/skiff-certs, readable by
// bootstrap tokens, owned by the token's Secret (so it goes when the token expires or is
// deleted), its data sealed with AES-256-GCM under a key that is printed and never stored.
const (
	certsSecret = "skiff-certs"
	certsRole   = "skiff:control-plane-join"
	bundleKey   = "bundle"
	tokenGroup  = "system:bootstrappers:kubeadm:default-node-token"
)

// bundleFiles are pki/ files a control-plane machine shares with the first: the cluster CA
// and the ServiceAccount key (every API server must verify every other's tokens), and the
// external etcd's CA and client certificate when there is one, and the front-proxy CA (every
// API server publishes it in extension-apiserver-authentication: one CA, or they would
// overwrite each other's). Each machine issues its own serving and front-proxy client
// certificates.
var bundleFiles = []string{pki.CACert, pki.CAKey, pki.SAKey, pki.SAPub,
	filepath.Join(pki.FrontProxyDir, pki.CACert), filepath.Join(pki.FrontProxyDir, pki.CAKey),
	filepath.Join(etcdCADir, pki.CACert), etcdClientName + ".crt", etcdClientName + ".key"}

type certBundle struct {
	Files       map[string][]byte `json:"files"`
	EtcdServers []string          `json:"etcdServers,omitempty"`
}

// UploadCerts seals dataDir's shared certificates into kube-system/skiff-certs, readable
// with token (ID.SECRET), and returns the hex key that opens them.
func UploadCerts(ctx context.Context, c *client.Client, dataDir, token string) (string, error) {
	b := certBundle{Files: map[string][]byte{}}
	for _, f := range bundleFiles {
		data, err := os.ReadFile(filepath.Join(dataDir, "pki", f))
		if errors.Is(err, os.ErrNotExist) && (strings.HasPrefix(f, etcdCADir) || strings.HasPrefix(f, etcdClientName)) {
			continue // the embedded etcd: nothing to share
		}
		if err != nil {
			return "", fmt.Errorf("upload certs: %w (is %s the control plane's --data-dir?)", err, dataDir)
		}
		b.Files[f] = data
	}
	if env, err := os.ReadFile(filepath.Join(dataDir, "skiff.env")); err == nil {
		b.EtcdServers = etcdServersOf(string(env))
	}
	plain, err := json.Marshal(b)
	if err != nil {
		return "", err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	sealed, err := seal(key, plain)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(token, ".")
	secrets := client.For[core.Secret](c, client.Resource{Version: "v1", Resource: "secrets", Namespaced: true})
	owner, err := secrets.Get(ctx, bootstraptoken.Namespace, bootstraptoken.SecretName(id))
	if err != nil {
		return "", fmt.Errorf("upload certs: the token's Secret: %w", err)
	}
	s := &core.Secret{TypeMeta: meta.TypeMeta{Kind: "Secret", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: certsSecret, Namespace: bootstraptoken.Namespace,
			OwnerReferences: []meta.OwnerReference{{APIVersion: "v1", Kind: "Secret", Name: owner.Name, UID: owner.UID}}},
		Data: map[string][]byte{bundleKey: sealed}}
	if err := secrets.Delete(ctx, s.Namespace, s.Name, nil); err != nil && !client.IsNotFound(err) {
		return "", err
	}
	if _, err := secrets.Create(ctx, s); err != nil {
		return "", fmt.Errorf("upload certs: %w", err)
	}
	roles := client.For[rbac.Role](c, client.Resource{Group: rbac.GroupName, Version: "v1", Resource: "roles", Namespaced: true})
	_, err = roles.Create(ctx, &rbac.Role{TypeMeta: meta.TypeMeta{Kind: "Role", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: certsRole, Namespace: bootstraptoken.Namespace},
		Rules:      []rbac.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{certsSecret}}}})
	if err != nil && !client.IsAlreadyExists(err) {
		return "", err
	}
	bindings := client.For[rbac.RoleBinding](c, client.Resource{Group: rbac.GroupName, Version: "v1", Resource: "rolebindings", Namespaced: true})
	_, err = bindings.Create(ctx, &rbac.RoleBinding{TypeMeta: meta.TypeMeta{Kind: "RoleBinding", APIVersion: rbac.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: certsRole, Namespace: bootstraptoken.Namespace},
		Subjects:   []rbac.Subject{{Kind: "Group", APIGroup: rbac.GroupName, Name: tokenGroup}},
		RoleRef:    rbac.RoleRef{APIGroup: rbac.GroupName, Kind: "Role", Name: certsRole}})
	if err != nil && !client.IsAlreadyExists(err) {
		return "", err
	}
	return hex.EncodeToString(key), nil
}

// FetchCerts reads kube-system/skiff-certs with the bootstrap token (from the API server
// whose CA is caPEM, verified by the caller against the pinned hash), opens it with the
// hex key, checks that its CA is the one verified, and writes the files into dataDir/pki.
// It returns the external etcd's servers, if the first machine uses one. Nothing is
// written unless everything checks out.
func FetchCerts(ctx context.Context, server string, caPEM []byte, token, keyHex, dataDir string) ([]string, error) {
	key, err := hex.DecodeString(keyHex)
	if err != nil || len(key) != 32 {
		return nil, errors.New("--certificate-key: want the 64 hex digits `skiff token create --upload-certs` printed")
	}
	c, err := client.New(&client.Config{Host: "https://" + strings.TrimPrefix(server, "https://"), BearerToken: token, TLS: client.TLSConfig{CAData: caPEM}})
	if err != nil {
		return nil, err
	}
	s, err := client.For[core.Secret](c, client.Resource{Version: "v1", Resource: "secrets", Namespaced: true}).Get(ctx, bootstraptoken.Namespace, certsSecret)
	if err != nil {
		return nil, fmt.Errorf("fetch the control-plane certificates (Secret %s/%s): %w; upload them on the first control-plane machine with `skiff token create --print-join-command --upload-certs`", bootstraptoken.Namespace, certsSecret, err)
	}
	plain, err := open(key, s.Data[bundleKey])
	if err != nil {
		return nil, errors.New("the --certificate-key does not open the uploaded certificates: it is wrong, or they were uploaded again with another key")
	}
	var b certBundle
	if err := json.Unmarshal(plain, &b); err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(b.Files[pki.CACert])) != strings.TrimSpace(string(caPEM)) {
		return nil, errors.New("the uploaded cluster CA is not the one the server presents")
	}
	for name, data := range b.Files {
		if !strings.HasPrefix(filepath.Clean(name), ".") && !filepath.IsAbs(name) {
			path := filepath.Join(dataDir, "pki", filepath.Clean(name))
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, err
			}
			mode := os.FileMode(0o644)
			if strings.HasSuffix(name, ".key") {
				mode = 0o600
			}
			if err := os.WriteFile(path, data, mode); err != nil {
				return nil, err
			}
		}
	}
	return b.EtcdServers, nil
}

func seal(key, plain []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return gcm.Seal(nonce, nonce, plain, nil), nil
}

func open(key, sealed []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("sealed data too short")
	}
	return gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// etcdServersOf reads --etcd-servers out of skiff.env's SKIFF_ETCD_ARGS.
func etcdServersOf(env string) []string {
	for _, line := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(line, "SKIFF_ETCD_ARGS="); ok {
			f := strings.Fields(v)
			for i := 0; i+1 < len(f); i++ {
				if f[i] == "--etcd-servers" {
					return strings.Split(f[i+1], ",")
				}
			}
		}
	}
	return nil
}
