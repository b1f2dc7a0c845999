// Package authz answers "may this user do this?" for the API server: the attributes of a
// request, the Authorizer interface, and the union of authorizers (Node, then RBAC). The
// decisions come from in-memory state kept current by watch, never from etcd per request.
package authz

import (
	"context"
	"strings"

	"github.com/skiff-sh/skiff/apiserver/authn"
)

// Attributes describe a request to authorize (Kubernetes' authorizer.Attributes).
type Attributes struct {
	User *authn.User
	// Verb: get list watch create update patch delete deletecollection for resources (and
	// impersonate, bind, escalate, approve, sign ...); get post put patch delete for
	// non-resource paths.
	Verb            string
	ResourceRequest bool
	// Resource requests.
	Namespace   string
	APIGroup    string
	APIVersion  string
	Resource    string
	Subresource string
	Name        string
	// Path of a non-resource request.
	Path string
}

// Decision is an authorizer's answer.
type Decision int

const (
	NoOpinion Decision = iota
	Allow
	Deny
)

// Authorizer decides one request. reason explains an Allow or Deny (it goes into the
// 403 message and SubjectAccessReview status).
type Authorizer interface {
	Authorize(ctx context.Context, a Attributes) (d Decision, reason string, err error)
}

// Func adapts a function.
type Func func(ctx context.Context, a Attributes) (Decision, string, error)

func (f Func) Authorize(ctx context.Context, a Attributes) (Decision, string, error) {
	return f(ctx, a)
}

// Union asks each authorizer in turn; the first Allow or Deny decides.
func Union(as ...Authorizer) Authorizer {
	return Func(func(ctx context.Context, a Attributes) (Decision, string, error) {
		var reasons []string
		var firstErr error
		for _, z := range as {
			d, reason, err := z.Authorize(ctx, a)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if d != NoOpinion {
				return d, reason, nil
			}
			if reason != "" {
				reasons = append(reasons, reason)
			}
		}
		return NoOpinion, strings.Join(reasons, ", "), firstErr
	})
}

// AlwaysAllow allows everything (--authorization-mode=AlwaysAllow, for benchmarks).
var AlwaysAllow Authorizer = Func(func(context.Context, Attributes) (Decision, string, error) { return Allow, "", nil })

// PrivilegedGroups allows members of system:masters everything, as Kubernetes does ahead of
// every other authorizer.
var PrivilegedGroups Authorizer = Func(func(_ context.Context, a Attributes) (Decision, string, error) {
	if a.User != nil && a.User.InGroup(authn.GroupMasters) {
		return Allow, "", nil
	}
	return NoOpinion, "", nil
})
