// Package flowcontrol holds the kinds of the flowcontrol.apiserver.k8s.io API group
// (FlowSchema, PriorityLevelConfiguration), field for field as k8s.io/api/flowcontrol/v1
// declares them: same JSON names, omitempty, pointers and patch tags. The API server's
// priority and fairness filter (apiserver/flowcontrol) is configured by these objects.
package flowcontrol

// GroupName is the API group of these kinds.
const GroupName = "flowcontrol.apiserver.k8s.io"

// Version is the served version of the group.
const Version = "v1"
