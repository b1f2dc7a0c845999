// Package node holds the kinds of the node.k8s.io API group (RuntimeClass), field for field
// as k8s.io/api/node/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package node

// GroupName is the API group of these kinds.
const GroupName = "node.k8s.io"

// Version is the served version of the group.
const Version = "v1"
