// Package networking holds the kinds of the networking.k8s.io API group, field for field
// as k8s.io/api/networking/v1 declares them: same JSON names, omitempty, pointers and
// patch tags.
package networking

// GroupName is the API group of these kinds.
const GroupName = "networking.k8s.io"

// Version is the served version of the group.
const Version = "v1"
