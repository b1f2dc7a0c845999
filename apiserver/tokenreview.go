package apiserver

import (
	"context"
	"slices"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// tokenReview answers "who is this token?" (TokenReview, for webhooks and aggregated
// servers that receive tokens) with the server's own token authenticators, for
// spec.audiences (default the API server's), as Kubernetes' TokenReview REST does.
func (s *Server) tokenReview(ctx context.Context, _ *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	tr := obj.(*authentication.TokenReview)
	if tr.Spec.Token == "" {
		return nil, errBadRequest("token is required for TokenReview in authentication")
	}
	want := tr.Spec.Audiences
	if len(want) == 0 {
		want = s.cfg.APIAudiences
	}
	ctx = authn.WithAudiences(ctx, want)
	tr.Status = authentication.TokenReviewStatus{}
	var (
		u    *authn.User
		auds []string
		ok   bool
		err  error
	)
	// A ServiceAccount token says which of the asked audiences it is for; any other token
	// is for the API server's own audiences.
	if s.saTokens != nil && s.saTokens.authn != nil {
		if res, rok, rerr := s.saTokens.authn.Authenticate(ctx, tr.Spec.Token); rok || rerr != nil {
			ok, err = rok, rerr
			if rok {
				u, auds = res.User, res.Audiences
			}
		}
	}
	if !ok && err == nil {
		u, ok, err = s.authenticateToken(ctx, tr.Spec.Token)
		auds = authn.Intersect(s.cfg.APIAudiences, want)
		ok = ok && len(auds) > 0
	}
	if err != nil {
		tr.Status.Error = err.Error()
	}
	if ok {
		tr.Status.Authenticated = true
		tr.Status.User = userInfo(withAuthenticatedGroup(u))
		tr.Status.Audiences = auds
	}
	return tr, nil
}

// selfSubjectReview answers "who am I?" (kubectl auth whoami) with the request's user,
// the impersonated one when impersonating.
func (s *Server) selfSubjectReview(ctx context.Context, _ *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	r := obj.(*authentication.SelfSubjectReview)
	r.CreationTimestamp = meta.Now()
	r.Status = authentication.SelfSubjectReviewStatus{}
	if u, ok := authn.UserFrom(ctx); ok && u != nil {
		r.Status.UserInfo = userInfo(u)
	}
	return r, nil
}

// withAuthenticatedGroup is u in system:authenticated, as every authenticated user is
// (the request filter adds it; a TokenReview answers with the same groups).
func withAuthenticatedGroup(u *authn.User) *authn.User {
	if u.Name == authn.Anonymous || u.InGroup(authn.GroupAuthenticated) {
		return u
	}
	c := *u
	c.Groups = append(slices.Clone(u.Groups), authn.GroupAuthenticated)
	return &c
}

func userInfo(u *authn.User) authentication.UserInfo {
	ui := authentication.UserInfo{Username: u.Name, UID: u.UID, Groups: slices.Clone(u.Groups)}
	if len(u.Extra) > 0 {
		ui.Extra = make(map[string]authentication.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			ui.Extra[k] = slices.Clone(v)
		}
	}
	return ui
}
