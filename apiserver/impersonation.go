package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// impersonation is the server's impersonation filter (Server.impersonate), asking whichever
// authorizer the server has at request time.
func (s *Server) impersonation(next http.Handler) http.Handler {
	return impersonate(authz.Func(func(ctx context.Context, a authz.Attributes) (authz.Decision, string, error) {
		return s.authorizer.Authorize(ctx, a)
	}), next)
}

// impersonationRequest is one thing a request asks to act as; each needs the verb
// impersonate on its resource.
type impersonationRequest struct {
	attrs authz.Attributes // Verb, APIGroup, Resource, Subresource, Namespace, Name
	apply func(*impersonated)
}

// impersonated is the user being built.
type impersonated struct {
	name, uid string
	groups    []string
	extra     map[string][]string
}

// impersonate handles the Impersonate-User, Impersonate-Group, Impersonate-Uid and
// Impersonate-Extra-<key> headers as Kubernetes' WithImpersonation does: the authenticated
// user must be allowed the verb impersonate on users (or serviceaccounts, for a
// system:serviceaccount:NS:NAME user), each of groups, uids and userextras/<key>; then the
// request continues as the impersonated user, who is in system:authenticated unless they
// are system:anonymous (or in system:unauthenticated). A refusal is 403 in Kubernetes'
// words. The headers are removed so nothing downstream acts on them again.
func impersonate(a authz.Authorizer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		// Every request passes here right after authentication: the audit log learns who it is.
		if u, ok := authn.UserFrom(req.Context()); ok {
			setAuditUser(req.Context(), u)
		}
		reqs, err := impersonationRequests(req.Header)
		if err != nil {
			writeError(w, errInternal(err))
			return
		}
		if len(reqs) == 0 {
			next.ServeHTTP(w, req)
			return
		}
		ctx := req.Context()
		requestor, ok := authn.UserFrom(ctx)
		if !ok || requestor == nil {
			writeError(w, errInternal(fmt.Errorf("no user found for request")))
			return
		}
		u := &impersonated{extra: map[string][]string{}}
		for _, r := range reqs {
			attrs := r.attrs
			attrs.User, attrs.Verb, attrs.ResourceRequest = requestor, "impersonate", true
			d, reason, err := a.Authorize(ctx, attrs)
			if err != nil || d != authz.Allow {
				writeError(w, errForbiddenRequest(attrs, reason))
				return
			}
			r.apply(u)
		}
		groups := u.groups
		if u.name != authn.Anonymous {
			if !slices.Contains(groups, authn.GroupAuthenticated) && !slices.Contains(groups, authn.GroupUnauthenticated) {
				groups = append(groups, authn.GroupAuthenticated)
			}
		} else if !slices.Contains(groups, authn.GroupUnauthenticated) {
			groups = append(groups, authn.GroupUnauthenticated)
		}
		user := &authn.User{Name: u.name, UID: u.uid, Groups: groups}
		if len(u.extra) > 0 {
			user.Extra = u.extra
		}
		setImpersonatedUser(ctx, user)
		req = req.WithContext(authn.WithUser(ctx, user))
		for h := range req.Header {
			if h == authentication.ImpersonateUserHeader || h == authentication.ImpersonateGroupHeader ||
				h == authentication.ImpersonateUIDHeader || strings.HasPrefix(h, authentication.ImpersonateUserExtraHeaderPrefix) {
				req.Header.Del(h)
			}
		}
		next.ServeHTTP(w, req)
	})
}

// impersonationRequests reads the headers, in Kubernetes' order: user, groups, extras, uid.
// Groups, extras or a uid without a user is an error.
func impersonationRequests(h http.Header) ([]impersonationRequest, error) {
	var reqs []impersonationRequest
	name := h.Get(authentication.ImpersonateUserHeader)
	groups := h.Values(authentication.ImpersonateGroupHeader)
	if name != "" {
		if ns, sa, ok := serviceaccount.SplitUserName(name); ok {
			reqs = append(reqs, impersonationRequest{
				attrs: authz.Attributes{Resource: "serviceaccounts", Namespace: ns, Name: sa, APIVersion: "v1"},
				apply: func(u *impersonated) {
					u.name = name
					if len(groups) == 0 {
						// A ServiceAccount's groups are known; given groups are the authority.
						u.groups = []string{authn.GroupServiceAccounts, authn.GroupServiceAccountsPrefix + ns}
					}
				},
			})
		} else {
			reqs = append(reqs, impersonationRequest{
				attrs: authz.Attributes{Resource: "users", Name: name, APIVersion: "v1"},
				apply: func(u *impersonated) { u.name = name },
			})
		}
	}
	for _, g := range groups {
		reqs = append(reqs, impersonationRequest{
			attrs: authz.Attributes{Resource: "groups", Name: g, APIVersion: "v1"},
			apply: func(u *impersonated) { u.groups = append(u.groups, g) },
		})
	}
	// Header names are canonical (Impersonate-Extra-Scopes); extra keys are lower case and
	// may be %-escaped to carry characters header names cannot (example.com%2fscopes).
	keys := make([]string, 0)
	for hn := range h {
		if strings.HasPrefix(hn, authentication.ImpersonateUserExtraHeaderPrefix) {
			keys = append(keys, hn)
		}
	}
	slices.Sort(keys) // a stable order of checks (and of the first refusal)
	for _, hn := range keys {
		key := strings.ToLower(hn[len(authentication.ImpersonateUserExtraHeaderPrefix):])
		if k, err := url.PathUnescape(key); err == nil {
			key = k
		}
		for _, v := range h[hn] {
			reqs = append(reqs, impersonationRequest{
				attrs: authz.Attributes{APIGroup: authentication.GroupName, APIVersion: authentication.Version,
					Resource: "userextras", Subresource: key, Name: v},
				apply: func(u *impersonated) { u.extra[key] = append(u.extra[key], v) },
			})
		}
	}
	uid := h.Get(authentication.ImpersonateUIDHeader)
	if uid != "" {
		reqs = append(reqs, impersonationRequest{
			attrs: authz.Attributes{APIGroup: authentication.GroupName, APIVersion: authentication.Version, Resource: "uids", Name: uid},
			apply: func(u *impersonated) { u.uid = uid },
		})
	}
	if name == "" && len(reqs) > 0 {
		return nil, fmt.Errorf("requested %s without impersonating a user", describe(reqs))
	}
	return reqs, nil
}

func describe(reqs []impersonationRequest) string {
	parts := make([]string, len(reqs))
	for i, r := range reqs {
		parts[i] = r.attrs.Resource
		if r.attrs.Subresource != "" {
			parts[i] += "/" + r.attrs.Subresource
		}
		parts[i] += " " + r.attrs.Name
	}
	return strings.Join(parts, ", ")
}
