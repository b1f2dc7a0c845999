package apiserver

import (
	"context"
	"reflect"

	"github.com/skiff-sh/skiff/api/authorization"
	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// The authorization.k8s.io reviews (create-only kinds, see createonly.go): "may USER do
// this?" (SubjectAccessReview, LocalSubjectAccessReview in a namespace), "may I?"
// (SelfSubjectAccessReview: kubectl auth can-i) and "what may I do here?"
// (SelfSubjectRulesReview: kubectl auth can-i --list). They are answered by the server's
// own authorizer chain, so the answer is the one a real request would get.

func (s *Server) subjectAccessReview(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	sar := obj.(*authorization.SubjectAccessReview)
	errs := metadataMustBeEmpty(&sar.ObjectMeta, false)
	errs = append(errs, validateSARSpec(&sar.Spec)...)
	if len(errs) > 0 {
		return nil, errInvalid(k, "", errs)
	}
	sar.Status = s.review(ctx, specUser(&sar.Spec), sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
	return sar, nil
}

func (s *Server) localSubjectAccessReview(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	sar := obj.(*authorization.LocalSubjectAccessReview)
	errs := metadataMustBeEmpty(&sar.ObjectMeta, true)
	errs = append(errs, validateSARSpec(&sar.Spec)...)
	if ra := sar.Spec.ResourceAttributes; ra != nil && ra.Namespace != sar.Namespace {
		errs = append(errs, field.Invalid(field.NewPath("spec", "resourceAttributes", "namespace"), ra.Namespace, "must match metadata.namespace"))
	}
	if sar.Spec.NonResourceAttributes != nil {
		errs = append(errs, field.Invalid(field.NewPath("spec", "nonResourceAttributes"), sar.Spec.NonResourceAttributes, "disallowed on this kind of request"))
	}
	if len(errs) > 0 {
		return nil, errInvalid(k, "", errs)
	}
	sar.Status = s.review(ctx, specUser(&sar.Spec), sar.Spec.ResourceAttributes, nil)
	return sar, nil
}

func (s *Server) selfSubjectAccessReview(ctx context.Context, k *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	sar := obj.(*authorization.SelfSubjectAccessReview)
	if errs := validateAttributes(sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes); len(errs) > 0 {
		return nil, errInvalid(k, "", errs)
	}
	u, ok := authn.UserFrom(ctx)
	if !ok {
		return nil, errBadRequest("no user present on request")
	}
	sar.Status = s.review(ctx, u, sar.Spec.ResourceAttributes, sar.Spec.NonResourceAttributes)
	return sar, nil
}

// selfSubjectRulesReview lists the rules the user holds in a namespace. Members of
// system:masters hold everything; the Node authorizer's grants are not rules, so a node's
// list is marked incomplete, as Kubernetes does.
func (s *Server) selfSubjectRulesReview(ctx context.Context, _ *registry.Kind, obj meta.Object) (meta.Object, *apiError) {
	rr := obj.(*authorization.SelfSubjectRulesReview)
	if rr.Spec.Namespace == "" {
		return nil, errBadRequest("no namespace on request")
	}
	u, ok := authn.UserFrom(ctx)
	if !ok {
		return nil, errBadRequest("no user present on request")
	}
	st := authorization.SubjectRulesReviewStatus{ResourceRules: []authorization.ResourceRule{}, NonResourceRules: []authorization.NonResourceRule{}}
	var rules []rbacv1.PolicyRule
	if u.InGroup(authn.GroupMasters) {
		rules = append(rules, fullAuthority...)
	}
	if resolver := s.rbacResolver(); resolver != nil {
		rbacRules, err := resolver.RulesFor(u, rr.Spec.Namespace)
		rules = append(rules, rbacRules...)
		if err != nil {
			st.EvaluationError = err.Error()
		}
	} else if !u.InGroup(authn.GroupMasters) {
		st.Incomplete = true
	}
	if s.nodeAuthorizer != nil && u.InGroup(authn.GroupNodes) {
		st.Incomplete = true
	}
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			st.NonResourceRules = append(st.NonResourceRules, authorization.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
			continue
		}
		st.ResourceRules = append(st.ResourceRules, authorization.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups,
			Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	rr.Status = st
	return rr, nil
}

// review asks the server's authorizers and words the answer as a review status.
func (s *Server) review(ctx context.Context, u *authn.User, ra *authorization.ResourceAttributes, na *authorization.NonResourceAttributes) authorization.SubjectAccessReviewStatus {
	a := authz.Attributes{User: u}
	if ra != nil {
		version := ra.Version
		if version == "" {
			version = "*"
		}
		a.ResourceRequest, a.Verb, a.Namespace, a.APIGroup, a.APIVersion = true, ra.Verb, ra.Namespace, ra.Group, version
		a.Resource, a.Subresource, a.Name = ra.Resource, ra.Subresource, ra.Name
	} else {
		a.Verb, a.Path = na.Verb, na.Path
	}
	d, reason, err := s.authorizer.Authorize(ctx, a)
	st := authorization.SubjectAccessReviewStatus{Allowed: d == authz.Allow, Denied: d == authz.Deny, Reason: reason}
	if err != nil {
		st.EvaluationError = err.Error()
	}
	return st
}

func specUser(spec *authorization.SubjectAccessReviewSpec) *authn.User {
	u := &authn.User{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if len(spec.Extra) > 0 {
		u.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			u.Extra[k] = v
		}
	}
	return u
}

func validateSARSpec(spec *authorization.SubjectAccessReviewSpec) field.ErrorList {
	errs := validateAttributes(spec.ResourceAttributes, spec.NonResourceAttributes)
	if spec.User == "" && len(spec.Groups) == 0 {
		errs = append(errs, field.Invalid(field.NewPath("spec", "user"), spec.User, "at least one of user or group must be specified"))
	}
	return errs
}

func validateAttributes(ra *authorization.ResourceAttributes, na *authorization.NonResourceAttributes) field.ErrorList {
	path := field.NewPath("spec")
	switch {
	case ra != nil && na != nil:
		return field.ErrorList{field.Invalid(path.Child("nonResourceAttributes"), na, "cannot be specified in combination with resourceAttributes")}
	case ra == nil && na == nil:
		return field.ErrorList{field.Invalid(path.Child("resourceAttributes"), na, "exactly one of nonResourceAttributes or resourceAttributes must be specified")}
	}
	return nil
}

// metadataMustBeEmpty: a review names nothing (a local one only its namespace).
func metadataMustBeEmpty(m *meta.ObjectMeta, keepNamespace bool) field.ErrorList {
	c := *m
	if keepNamespace {
		c.Namespace = ""
	}
	if !reflect.DeepEqual(c, meta.ObjectMeta{}) {
		return field.ErrorList{field.Invalid(field.NewPath("metadata"), m, "must be empty")}
	}
	return nil
}
