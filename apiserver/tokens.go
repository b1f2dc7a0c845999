package apiserver

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authn/bootstrap"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/storage"
)

// saTokens is the server's ServiceAccount token machinery: the signer TokenRequest issues
// with (nil without a signing key) and the authenticator that checks them.
type saTokens struct {
	signer *serviceaccount.Signer
	authn  *serviceaccount.Authenticator
}

// setUpTokens adds the ServiceAccount and bootstrap token authenticators to the server's
// token authenticators (after the static token file, as kube-apiserver orders them).
func (s *Server) setUpTokens() error {
	var keys []crypto.PublicKey
	t := &saTokens{}
	if f := s.cfg.ServiceAccountSigningKeyFile; f != "" {
		key, err := serviceaccount.LoadSigningKey(f)
		if err != nil {
			return err
		}
		if t.signer, err = serviceaccount.NewSigner(s.cfg.ServiceAccountIssuer, key); err != nil {
			return err
		}
		keys = append(keys, key.Public())
	}
	if len(s.cfg.ServiceAccountKeyFiles) > 0 {
		ks, err := serviceaccount.LoadPublicKeys(s.cfg.ServiceAccountKeyFiles...)
		if err != nil {
			return err
		}
		keys = append(keys, ks...)
	}
	g := cacheGetter{s}
	if len(keys) > 0 {
		t.authn = &serviceaccount.Authenticator{Issuers: []string{s.cfg.ServiceAccountIssuer}, Keys: keys,
			Audiences: s.cfg.APIAudiences, Getter: g, Legacy: true}
		s.tokenAuthenticators = append(s.tokenAuthenticators, t.authn)
	}
	s.tokenAuthenticators = append(s.tokenAuthenticators,
		authn.AudienceAgnostic(s.cfg.APIAudiences, &bootstrap.Authenticator{Secrets: g}))
	s.saTokens = t
	return nil
}

// cacheGetter reads the objects tokens name from the watch caches; an object the cache
// lacks is asked of the store once, as the cache may lag one created a moment ago (a
// token requested right after its ServiceAccount).
type cacheGetter struct{ s *Server }

func getObject[T any](ctx context.Context, s *Server, group, resource, ns, name string) (*T, error) {
	k, ok := s.reg.Lookup(group, "v1", resource)
	if !ok {
		return nil, fmt.Errorf("no kind for %s", resource)
	}
	key := k.Key(ns, name)
	if c := s.cache(k); c != nil {
		if o, ok := c.Get(key); ok {
			return any(o).(*T), nil
		}
	}
	obj := k.New()
	if err := s.store.Get(ctx, key, obj); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			// Both authenticators' sentinels: the getter serves them both.
			return nil, fmt.Errorf("%s %s/%s: %w", resource, ns, name, errors.Join(serviceaccount.ErrNotFound, bootstrap.ErrNotFound))
		}
		return nil, err
	}
	return any(obj).(*T), nil
}

func (g cacheGetter) ServiceAccount(ctx context.Context, ns, name string) (*core.ServiceAccount, error) {
	return getObject[core.ServiceAccount](ctx, g.s, "", "serviceaccounts", ns, name)
}

func (g cacheGetter) Pod(ctx context.Context, ns, name string) (*core.Pod, error) {
	return getObject[core.Pod](ctx, g.s, "", "pods", ns, name)
}

func (g cacheGetter) Secret(ctx context.Context, ns, name string) (*core.Secret, error) {
	return getObject[core.Secret](ctx, g.s, "", "secrets", ns, name)
}

func (g cacheGetter) Node(ctx context.Context, name string) (*core.Node, error) {
	return getObject[core.Node](ctx, g.s, "", "nodes", "", name)
}
