// Package coordination holds the kinds of the coordination.k8s.io API group (Lease), field for field
// as k8s.io/api/coordination/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package coordination

// GroupName is the API group of these kinds.
const GroupName = "coordination.k8s.io"

// Version is the served version of the group.
const Version = "v1"
