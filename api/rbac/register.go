// Package rbac holds the kinds of the rbac.authorization.k8s.io API group (Role, ClusterRole,
// RoleBinding, ClusterRoleBinding), field for field as k8s.io/api/rbac/v1 declares them: same
// JSON names, omitempty and protobuf tags. The rule matching that uses them lives in
// apiserver/authz/rbac; the helpers here are the few that several packages need.
package rbac

// GroupName is the API group of these kinds.
const GroupName = "rbac.authorization.k8s.io"

// Version is the served version of the group.
const Version = "v1"
