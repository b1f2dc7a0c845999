package serviceaccount

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// Extra keys of a ServiceAccount user, as Kubernetes sets them.
const (
	ExtraPodName      = "authentication.kubernetes.io/pod-name"
	ExtraPodUID       = "authentication.kubernetes.io/pod-uid"
	ExtraNodeName     = "authentication.kubernetes.io/node-name"
	ExtraNodeUID      = "authentication.kubernetes.io/node-uid"
	ExtraCredentialID = "authentication.kubernetes.io/credential-id"
)

// Leeway is the clock skew tolerated on exp, nbf and iat, and how long an object stays
// good for its tokens after its deletionTimestamp (go-jose's DefaultLeeway, which
// Kubernetes uses for both).
const Leeway = time.Minute

// ErrNotFound is what a Getter returns (wrapped) for an object that does not exist.
var ErrNotFound = errors.New("not found")

// Getter reads the objects tokens name. The API server serves them from its watch caches,
// asking the store when the cache lacks one (it may lag an object created a moment ago).
type Getter interface {
	ServiceAccount(ctx context.Context, namespace, name string) (*core.ServiceAccount, error)
	Pod(ctx context.Context, namespace, name string) (*core.Pod, error)
	Secret(ctx context.Context, namespace, name string) (*core.Secret, error)
	Node(ctx context.Context, name string) (*core.Node, error)
}

// Authenticator authenticates ServiceAccount tokens.
type Authenticator struct {
	// Issuers are the iss values accepted; a JWT from another issuer is not recognised (so
	// another authenticator may take it).
	Issuers []string
	// Keys verify signatures.
	Keys []crypto.PublicKey
	// Audiences are the API server's: a token must be meant for one of them, unless the
	// context asks for others (authn.WithAudiences).
	Audiences []string
	Getter    Getter
	// Legacy accepts the long-lived tokens kept in kubernetes.io/service-account-token
	// Secrets (legacy.go).
	Legacy bool
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Result is a successful authentication: the user, and the audiences of the token that
// were asked for.
type Result struct {
	User      *authn.User
	Audiences []string
}

// AuthenticateToken implements authn.TokenAuthenticator.
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authn.User, bool, error) {
	r, ok, err := a.Authenticate(ctx, token)
	if !ok {
		return nil, false, err
	}
	return r.User, true, nil
}

// Authenticate checks a token: not a JWT of one of our issuers → not recognised; otherwise
// signature, audience, time and the objects it names must all be good.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*Result, bool, error) {
	if !looksLikeJWT(token) {
		return nil, false, nil
	}
	t, err := parse(token)
	if err != nil {
		return nil, false, nil
	}
	var c Claims
	if err := json.Unmarshal(t.payload, &c); err != nil {
		return nil, false, nil
	}
	legacy := c.Issuer == LegacyIssuer && a.Legacy
	if !legacy && !slices.Contains(a.Issuers, c.Issuer) {
		return nil, false, nil
	}
	verified := false
	for _, k := range a.Keys {
		if t.verify(k) {
			verified = true
			break
		}
	}
	if !verified {
		return nil, false, ErrSignature
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	want, ok := authn.AudiencesFrom(ctx)
	if !ok {
		want = a.Audiences
	}
	if legacy {
		// No audience of its own: meant for the API server's, like other audience-less tokens.
		auds := authn.Intersect(a.Audiences, want)
		if len(auds) == 0 {
			return nil, false, nil
		}
		u, err := a.validateLegacy(ctx, token, t.payload, now)
		if err != nil {
			return nil, false, err
		}
		return &Result{User: u, Audiences: auds}, true, nil
	}
	auds := authn.Intersect(c.Audience, want)
	if len(auds) == 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", []string(c.Audience), want)
	}
	if c.Kubernetes == nil {
		return nil, false, errors.New("service account token has no kubernetes.io claim")
	}
	if err := checkTimes(&c, now); err != nil {
		return nil, false, err
	}
	u, err := a.validate(ctx, &c, now)
	if err != nil {
		return nil, false, err
	}
	return &Result{User: u, Audiences: auds}, true, nil
}

// checkTimes applies go-jose's rules with Leeway; a token without exp is refused, as
// Kubernetes never issues one (legacy secret tokens aside, which skiff does not serve).
func checkTimes(c *Claims, now time.Time) error {
	switch {
	case c.Expiry == 0:
		return errors.New("service account token has no expiry")
	case now.Add(-Leeway).After(c.Expiry.Time()):
		return errors.New("service account token has expired")
	case c.NotBefore != 0 && now.Add(Leeway).Before(c.NotBefore.Time()):
		return errors.New("service account token is not valid yet")
	case c.IssuedAt != 0 && now.Add(Leeway).Before(c.IssuedAt.Time()):
		return errors.New("service account token is issued in the future")
	}
	return nil
}

// gone reports whether an object was deleted long enough ago for its tokens to be refused.
func gone(m *meta.ObjectMeta, now time.Time) bool {
	return m.DeletionTimestamp != nil && m.DeletionTimestamp.Time.Before(now.Add(-Leeway))
}

var errInvalidated = errors.New("service account token has been invalidated")

// validate checks that what the claims name still exists, with the same uid, and builds
// the user (Kubernetes' validator.Validate and ServiceAccountInfo.UserInfo).
func (a *Authenticator) validate(ctx context.Context, c *Claims, now time.Time) (*authn.User, error) {
	k := c.Kubernetes
	ns, sa := k.Namespace, k.ServiceAccount
	if ns == "" || sa.Name == "" || c.Subject != UserName(ns, sa.Name) {
		return nil, errors.New("service account token claims do not name a service account")
	}
	acct, err := a.Getter.ServiceAccount(ctx, ns, sa.Name)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("serviceaccounts %q not found", sa.Name)
		}
		return nil, err
	}
	if acct.UID != sa.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", acct.UID, sa.UID)
	}
	if gone(&acct.ObjectMeta, now) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", ns, sa.Name)
	}
	if r := k.Secret; r != nil {
		s, err := a.Getter.Secret(ctx, ns, r.Name)
		if err != nil {
			return nil, errInvalidated
		}
		if s.UID != r.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match service account secret ref claim (%s)", s.UID, r.UID)
		}
		if gone(&s.ObjectMeta, now) {
			return nil, errInvalidated
		}
	}
	u := &authn.User{
		Name:   UserName(ns, sa.Name),
		UID:    sa.UID,
		Groups: []string{authn.GroupServiceAccounts, authn.GroupServiceAccountsPrefix + ns},
		Extra:  map[string][]string{},
	}
	if r := k.Pod; r != nil {
		p, err := a.Getter.Pod(ctx, ns, r.Name)
		if err != nil {
			return nil, errInvalidated
		}
		if p.UID != r.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match service account pod ref claim (%s)", p.UID, r.UID)
		}
		if gone(&p.ObjectMeta, now) {
			return nil, errInvalidated
		}
		u.Extra[ExtraPodName] = []string{r.Name}
		u.Extra[ExtraPodUID] = []string{r.UID}
	}
	if r := k.Node; r != nil {
		// A pod-bound token only records its pod's node; a node-bound token needs the node.
		if k.Pod == nil {
			n, err := a.Getter.Node(ctx, r.Name)
			if err != nil {
				return nil, errInvalidated
			}
			if n.UID != r.UID {
				return nil, fmt.Errorf("node UID (%s) does not match service account node ref claim (%s)", n.UID, r.UID)
			}
			if gone(&n.ObjectMeta, now) {
				return nil, errInvalidated
			}
		}
		u.Extra[ExtraNodeName] = []string{r.Name}
		if r.UID != "" {
			u.Extra[ExtraNodeUID] = []string{r.UID}
		}
	}
	if c.ID != "" {
		u.Extra[ExtraCredentialID] = []string{"JTI=" + c.ID}
	}
	if len(u.Extra) == 0 {
		u.Extra = nil
	}
	return u, nil
}
