// Package bootstrap authenticates bootstrap tokens ("abcdef.0123456789abcdef"), the
// short-lived shared secrets a new node joins with, as Kubernetes does: the token's Secret in
// kube-system must exist, be of the bootstrap type, hold the same id and secret, allow
// authentication and not have expired. The user is system:bootstrap:<id> in
// system:bootstrappers and the secret's extra groups.
package bootstrap

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// ErrNotFound is what a SecretGetter returns (wrapped) for a missing secret.
var ErrNotFound = errors.New("not found")

// SecretGetter reads a secret (from the API server's watch cache).
type SecretGetter interface {
	Secret(ctx context.Context, namespace, name string) (*core.Secret, error)
}

// Authenticator authenticates bootstrap tokens.
type Authenticator struct {
	Secrets SecretGetter
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// AuthenticateToken implements authn.TokenAuthenticator. Every way a token can fail (no
// secret, wrong secret, expired, not for authentication) is "not recognised", as in
// Kubernetes: the request ends with 401 without telling which.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authn.User, bool, error) {
	id, secret, ok := bootstraptoken.Parse(token)
	if !ok {
		return nil, false, nil
	}
	s, err := a.Secrets.Secret(ctx, bootstraptoken.Namespace, bootstraptoken.SecretName(id))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, err
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	switch {
	case s.DeletionTimestamp != nil,
		s.Type != bootstraptoken.SecretType,
		subtle.ConstantTimeCompare([]byte(bootstraptoken.Data(s, bootstraptoken.KeyTokenSecret)), []byte(secret)) != 1,
		bootstraptoken.Data(s, bootstraptoken.KeyTokenID) != id,
		bootstraptoken.Expired(s, now),
		bootstraptoken.Data(s, bootstraptoken.KeyUsageAuthentication) != "true":
		return nil, false, nil
	}
	groups, err := bootstraptoken.Groups(s)
	if err != nil {
		return nil, false, nil
	}
	return &authn.User{Name: bootstraptoken.UserPrefix + id, Groups: groups}, true, nil
}
