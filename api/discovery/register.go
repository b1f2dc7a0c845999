// Package discovery holds the kinds of the discovery.k8s.io API group (EndpointSlice), field for field
// as k8s.io/api/discovery/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package discovery

// GroupName is the API group of these kinds.
const GroupName = "discovery.k8s.io"

// Version is the served version of the group.
const Version = "v1"
