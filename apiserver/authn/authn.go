// Package authn answers "who is making this request?" for the API server, as Kubernetes
// does: x509 client certificates (CommonName = user, Organization = groups), bearer tokens
// (ServiceAccount JWTs, bootstrap tokens, a static token file), and anonymous requests.
//
// An authenticator that does not recognise a request's credentials says so (ok false, no
// error) so the next may try; one that recognises them but finds them invalid (a forged or
// expired token) returns an error, and the request is refused with 401.
package authn

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Well-known users and groups.
const (
	Anonymous            = "system:anonymous"
	GroupUnauthenticated = "system:unauthenticated"
	GroupAuthenticated   = "system:authenticated"
	GroupMasters         = "system:masters"
	GroupNodes           = "system:nodes"
	NodeUserPrefix       = "system:node:"
	// ServiceAccountUserPrefix + NAMESPACE:NAME is a ServiceAccount's user name.
	ServiceAccountUserPrefix = "system:serviceaccount:"
	GroupServiceAccounts     = "system:serviceaccounts"
	// GroupServiceAccountsPrefix + NAMESPACE is the group of a namespace's ServiceAccounts.
	GroupServiceAccountsPrefix = "system:serviceaccounts:"
	GroupBootstrappers         = "system:bootstrappers"
)

// User is an authenticated identity (Kubernetes' user.Info).
type User struct {
	Name   string
	UID    string
	Groups []string
	Extra  map[string][]string
}

// InGroup reports whether the user is in group g.
func (u *User) InGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Authenticator authenticates a request.
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (*User, bool, error)
}

// TokenAuthenticator authenticates a bearer token.
type TokenAuthenticator interface {
	AuthenticateToken(ctx context.Context, token string) (*User, bool, error)
}

// AuthenticatorFunc adapts a function.
type AuthenticatorFunc func(r *http.Request) (*User, bool, error)

func (f AuthenticatorFunc) AuthenticateRequest(r *http.Request) (*User, bool, error) { return f(r) }

// TokenFunc adapts a function.
type TokenFunc func(ctx context.Context, token string) (*User, bool, error)

func (f TokenFunc) AuthenticateToken(ctx context.Context, token string) (*User, bool, error) {
	return f(ctx, token)
}

// Union tries each authenticator in turn; the first that recognises the request wins. If
// none does, the errors of those that found invalid credentials are returned together.
func Union(as ...Authenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		var errs []error
		for _, a := range as {
			u, ok, err := a.AuthenticateRequest(r)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				return u, true, nil
			}
		}
		return nil, false, errors.Join(errs...)
	})
}

// BearerToken authenticates the "Authorization: Bearer" header with the token
// authenticators, in order. A request without the header is not recognised.
func BearerToken(ts ...TokenAuthenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		token, ok := bearer(r)
		if !ok {
			return nil, false, nil
		}
		var errs []error
		for _, t := range ts {
			u, ok, err := t.AuthenticateToken(r.Context(), token)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ok {
				return u, true, nil
			}
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("invalid bearer token"))
		}
		return nil, false, errors.Join(errs...)
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	t := strings.TrimSpace(h[len(p):])
	return t, t != ""
}

// AnonymousUser is who an unauthenticated request is.
func AnonymousUser() *User {
	return &User{Name: Anonymous, Groups: []string{GroupUnauthenticated}}
}

type ctxKey struct{}

// WithUser returns a context carrying the request's user.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, ctxKey{}, u)
}

// UserFrom returns the user a context carries.
func UserFrom(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(ctxKey{}).(*User)
	return u, ok
}

// addAuthenticated adds system:authenticated to an authenticated user's groups, as
// Kubernetes does for every user but system:anonymous.
func addAuthenticated(u *User) *User {
	if u.Name == Anonymous || u.InGroup(GroupAuthenticated) {
		return u
	}
	u.Groups = append(u.Groups, GroupAuthenticated)
	return u
}

// WithAuthenticated wraps an authenticator so every user it returns is in system:authenticated.
func WithAuthenticated(a Authenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (*User, bool, error) {
		u, ok, err := a.AuthenticateRequest(r)
		if ok {
			u = addAuthenticated(u)
		}
		return u, ok, err
	})
}
