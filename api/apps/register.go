// Package apps holds the kinds of the apps API group (Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision), field for field
// as k8s.io/api/apps/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package apps

// GroupName is the API group of these kinds.
const GroupName = "apps"

// Version is the served version of the group.
const Version = "v1"
