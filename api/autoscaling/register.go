// Package autoscaling holds the kinds of the autoscaling API group (Scale, the body of the
// /scale subresource, from autoscaling/v1; HorizontalPodAutoscaler from autoscaling/v2), field for field
// as k8s.io/api/autoscaling/v1 declares them: same JSON names, omitempty, pointers and patch tags.
package autoscaling

// GroupName is the API group of these kinds.
const GroupName = "autoscaling"

// Version is the served version of the group.
const Version = "v1"
