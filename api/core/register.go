// Package core holds the kinds of the legacy core API group (Kubernetes' core/v1): pods,
// services, nodes, namespaces, config maps, secrets, events, volumes and claims.
//
// The types mirror k8s.io/api/core/v1 field for field: same JSON names, the same omitempty
// and pointers (so "unset" survives a round trip), and the same patchStrategy/patchMergeKey
// struct tags, which strategic merge patch reads by reflection. Only the deprecated in-tree
// cloud volume plugins and a few kinds skiff does not serve (ReplicationController,
// ComponentStatus) are left out.
package core

// GroupName is the API group of these kinds: the legacy core group, served under /api.
const GroupName = ""

// Version is the only served version.
const Version = "v1"
