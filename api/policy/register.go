// Package policy holds the kinds of the policy API group (PodDisruptionBudget, Eviction), field for field
// as k8s.io/api/policy/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package policy

// GroupName is the API group of these kinds.
const GroupName = "policy"

// Version is the served version of the group.
const Version = "v1"
