// Package serviceaccount issues and authenticates ServiceAccount tokens as Kubernetes
// does: JWTs signed by the API server's ServiceAccount key (ES256 for the P-256 key skiff
// generates, RS256 for an RSA one), with the claims iss, sub, aud, exp, iat, nbf, jti and
// the private "kubernetes.io" claim naming the ServiceAccount and the Pod, Secret or Node the
// token is bound to. A token is valid only while what it names still exists with the same uid.
package serviceaccount

import (
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/pki"
)

// Signer issues tokens with one private key.
type Signer struct {
	issuer string
	key    crypto.Signer
	kid    string
}

// NewSigner returns a signer writing iss = issuer.
func NewSigner(issuer string, key crypto.Signer) (*Signer, error) {
	if _, err := algorithmFor(key.Public()); err != nil {
		return nil, fmt.Errorf("serviceaccount: signing key: %w", err)
	}
	kid, err := keyID(key.Public())
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: signing key: %w", err)
	}
	return &Signer{issuer: issuer, key: key, kid: kid}, nil
}

// Sign writes claims (their issuer set to the signer's) as a signed JWT.
func (s *Signer) Sign(c *Claims) (string, error) {
	cc := *c
	cc.Issuer = s.issuer
	payload, err := json.Marshal(&cc)
	if err != nil {
		return "", err
	}
	return sign(s.key, s.kid, payload)
}

// Binding is what a token is bound to: at most one of Pod, Secret, Node, except that a
// pod-bound token also records the pod's node (Kubernetes' ServiceAccountTokenPodNodeInfo).
type Binding struct {
	Pod    *core.Pod
	Secret *core.Secret
	Node   *core.Node
}

// NewClaims builds the claims of a token for sa, valid from now for exp, for audiences.
func NewClaims(sa *core.ServiceAccount, b Binding, audiences []string, now time.Time, exp time.Duration) (*Claims, error) {
	if b.Secret != nil && (b.Pod != nil || b.Node != nil) {
		return nil, errors.New("a token can only be bound to one object")
	}
	k := &Kubernetes{Namespace: sa.Namespace, ServiceAccount: Ref{Name: sa.Name, UID: sa.UID}}
	switch {
	case b.Pod != nil:
		k.Pod = &Ref{Name: b.Pod.Name, UID: b.Pod.UID}
		if b.Node != nil {
			k.Node = &Ref{Name: b.Node.Name, UID: b.Node.UID}
		}
	case b.Secret != nil:
		k.Secret = &Ref{Name: b.Secret.Name, UID: b.Secret.UID}
	case b.Node != nil:
		k.Node = &Ref{Name: b.Node.Name, UID: b.Node.UID}
	}
	return &Claims{
		Subject:    UserName(sa.Namespace, sa.Name),
		Audience:   append(Audience(nil), audiences...),
		IssuedAt:   NewNumericDate(now),
		NotBefore:  NewNumericDate(now),
		Expiry:     NewNumericDate(now.Add(exp)),
		ID:         uuid.NewString(),
		Kubernetes: k,
	}, nil
}

// UserName is a ServiceAccount's user name, system:serviceaccount:NS:NAME.
func UserName(namespace, name string) string {
	return authn.ServiceAccountUserPrefix + namespace + ":" + name
}

// SplitUserName is the inverse of UserName.
func SplitUserName(user string) (namespace, name string, ok bool) {
	rest, ok := strings.CutPrefix(user, authn.ServiceAccountUserPrefix)
	if !ok {
		return "", "", false
	}
	namespace, name, ok = strings.Cut(rest, ":")
	if !ok || namespace == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return namespace, name, true
}

// LoadSigningKey reads a PEM private key file.
func LoadSigningKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: %w", err)
	}
	k, err := pki.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("serviceaccount: %s: %w", path, err)
	}
	return k, nil
}

// LoadPublicKeys reads PEM public keys (or the public halves of private keys) from files,
// every key of every file, as --service-account-key-file does.
func LoadPublicKeys(paths ...string) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("serviceaccount: %w", err)
		}
		ks, err := parsePublicKeys(data)
		if err != nil {
			return nil, fmt.Errorf("serviceaccount: %s: %w", p, err)
		}
		keys = append(keys, ks...)
	}
	return keys, nil
}
