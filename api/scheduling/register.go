// Package scheduling holds the kinds of the scheduling.k8s.io API group (PriorityClass), field for field
// as k8s.io/api/scheduling/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package scheduling

// GroupName is the API group of these kinds.
const GroupName = "scheduling.k8s.io"

// Version is the served version of the group.
const Version = "v1"
