package apiserver

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/apiserver/authz/rbac"
)

// checkRBACEscalation refuses a create or update of a Role, ClusterRole, RoleBinding or
// ClusterRoleBinding that would grant permissions its author does not hold, as Kubernetes'
// RBAC storage does (pkg/registry/rbac/*/policybased):
//
//   - a role: the user must hold every rule of it (in the role's namespace, or cluster-wide
//     for a ClusterRole), or be allowed the verb "escalate" on it; an aggregationRule
//     (which can gather anything) needs every permission there is;
//   - a binding: the user must hold every rule of the role it refers to, where the binding
//     applies, or be allowed the verb "bind" on that role.
//
// Members of system:masters may do anything, and an update that changes only what the
// garbage collector writes (ownerReferences, finalizers) is not checked. old is nil on
// create. It is called after validation, before the write (dry runs included).
func (s *Server) checkRBACEscalation(ctx context.Context, k *registry.Kind, obj, old meta.Object) *apiError {
	switch obj.(type) {
	case *rbacv1.Role, *rbacv1.ClusterRole, *rbacv1.RoleBinding, *rbacv1.ClusterRoleBinding:
	default:
		return nil
	}
	resolver := s.rbacResolver()
	u, _ := authn.UserFrom(ctx)
	if resolver == nil || u == nil || u.InGroup(authn.GroupMasters) {
		return nil
	}
	if old != nil && onlyGCFieldsChanged(obj, old) {
		return nil
	}
	m := obj.GetObjectMeta()
	forbidden := func(msg string) *apiError { return errForbidden(k, m.Name, msg) }
	switch o := obj.(type) {
	case *rbacv1.Role:
		if s.allowedRBACVerb(ctx, u, "escalate", "roles", o.Namespace, o.Name) {
			return nil
		}
		if msg := confirmNoEscalation(resolver, u, o.Namespace, o.Rules); msg != "" {
			return forbidden(msg)
		}
	case *rbacv1.ClusterRole:
		if s.allowedRBACVerb(ctx, u, "escalate", "clusterroles", "", o.Name) {
			return nil
		}
		if msg := confirmNoEscalation(resolver, u, "", o.Rules); msg != "" {
			return forbidden(msg)
		}
		oldAggregated := false
		if oc, ok := old.(*rbacv1.ClusterRole); ok {
			oldAggregated = oc.AggregationRule != nil
		}
		if o.AggregationRule != nil || oldAggregated {
			if msg := confirmNoEscalation(resolver, u, "", fullAuthority); msg != "" {
				return forbidden("must have cluster-admin privileges to use the aggregationRule")
			}
		}
	case *rbacv1.RoleBinding:
		return s.checkBind(ctx, resolver, u, o.RoleRef, o.Namespace, forbidden)
	case *rbacv1.ClusterRoleBinding:
		return s.checkBind(ctx, resolver, u, o.RoleRef, "", forbidden)
	}
	return nil
}

// fullAuthority is every permission there is (what cluster-admin holds).
var fullAuthority = []rbacv1.PolicyRule{
	{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}},
	{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
}

func (s *Server) checkBind(ctx context.Context, resolver *rbac.Authorizer, u *authn.User, ref rbacv1.RoleRef, namespace string, forbidden func(string) *apiError) *apiError {
	resource := "clusterroles"
	if ref.Kind == "Role" {
		resource = "roles"
	}
	if s.allowedRBACVerb(ctx, u, "bind", resource, namespace, ref.Name) {
		return nil
	}
	rules, err := resolver.RoleRefRules(ref, namespace)
	if err != nil {
		return forbidden(err.Error())
	}
	if msg := confirmNoEscalation(resolver, u, namespace, rules); msg != "" {
		return forbidden(msg)
	}
	return nil
}

// allowedRBACVerb asks the server's authorizers whether u may use verb (escalate, bind) on
// the named role.
func (s *Server) allowedRBACVerb(ctx context.Context, u *authn.User, verb, resource, namespace, name string) bool {
	d, _, _ := s.authorizer.Authorize(ctx, authz.Attributes{User: u, Verb: verb, ResourceRequest: true,
		APIGroup: rbacv1.GroupName, APIVersion: "*", Resource: resource, Namespace: namespace, Name: name})
	return d == authz.Allow
}

// confirmNoEscalation is "" when u holds every one of rules in namespace, else Kubernetes'
// refusal naming what is missing.
func confirmNoEscalation(resolver *rbac.Authorizer, u *authn.User, namespace string, rules []rbacv1.PolicyRule) string {
	owner, resolveErr := resolver.RulesFor(u, namespace)
	if covered, missing := rbac.Covers(owner, rules); !covered {
		return rbac.EscalationError(u, missing, resolveErr)
	}
	return ""
}

// onlyGCFieldsChanged: obj differs from old at most in ownerReferences, finalizers and
// managedFields (Kubernetes' IsOnlyMutatingGCFields).
func onlyGCFieldsChanged(obj, old meta.Object) bool {
	a, errA := json.Marshal(obj)
	b, errB := json.Marshal(old)
	if errA != nil || errB != nil {
		return false
	}
	var ma, mb map[string]any
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return false
	}
	for _, m := range []map[string]any{ma, mb} {
		if md, ok := m["metadata"].(map[string]any); ok {
			delete(md, "ownerReferences")
			delete(md, "finalizers")
			delete(md, "managedFields")
		}
	}
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	return bytes.Equal(ja, jb)
}
