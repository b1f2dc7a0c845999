// Package authorization holds the kinds of the authorization.k8s.io API group
// (SubjectAccessReview, SelfSubjectAccessReview, LocalSubjectAccessReview,
// SelfSubjectRulesReview), field for field as k8s.io/api/authorization/v1 declares them.
// They are create-only: the API server answers a POST with the review filled in and stores
// nothing (see registry.Kind.CreateOnly).
package authorization

// GroupName is the API group of these kinds.
const GroupName = "authorization.k8s.io"

// Version is the served version of the group.
const Version = "v1"
