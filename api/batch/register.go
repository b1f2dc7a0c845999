// Package batch holds the kinds of the batch API group (Job, CronJob), field for field
// as k8s.io/api/batch/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package batch

// GroupName is the API group of these kinds.
const GroupName = "batch"

// Version is the served version of the group.
const Version = "v1"
