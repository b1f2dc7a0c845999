package eviction

import (
	"fmt"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

// Reason is the evicted pod's status.reason and its event's reason.
const Reason = "Evicted"

// The kubelet's message formats (pkg/kubelet/eviction/helpers.go), word for word.
const (
	nodeLowMessageFmt                   = "The node was low on resource: %v. "
	thresholdMetMessageFmt              = "Threshold quantity: %v, available: %v. "
	containerMessageFmt                 = "Container %s was using %s, request is %s, has larger consumption of %v. "
	containerEphemeralStorageMessageFmt = "Container %s exceeded its local ephemeral storage limit %q. "
	podEphemeralStorageMessageFmt       = "Pod ephemeral local storage usage exceeds the total limit of containers %s. "
	emptyDirMessageFmt                  = "Usage of EmptyDir volume %q exceeds the limit %q. "
)

// Annotations of the Evicted event (the kubelet's keys).
const (
	OffendingContainersKey      = "offending_containers"
	OffendingContainersUsageKey = "offending_containers_usage"
	StarvedResourceKey          = "starved_resource"
)

// message is the evicted pod's status message and its event's annotations: the resource
// the node was low on, the threshold and what was available, and each container using
// more than it requests.
func message(res core.ResourceName, pod *core.Pod, stats statsFunc, thresholds []Threshold, obs observations) (string, map[string]string) {
	msg := fmt.Sprintf(nodeLowMessageFmt, res)
	for _, t := range thresholds {
		if signalResource[t.Signal] != res {
			continue
		}
		if o, ok := obs[t.Signal]; ok {
			q := t.Value.quantity(o.capacity)
			msg += fmt.Sprintf(thresholdMetMessageFmt, q.String(), o.available.String())
			break
		}
	}
	ps, ok := stats(pod)
	if !ok {
		return msg, nil
	}
	containers := append(append([]core.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	var names, usages []string
	for _, cs := range ps.Containers {
		for _, c := range containers {
			if c.Name != cs.Name {
				continue
			}
			req := c.Resources.Requests[res]
			var usage *resource.Quantity
			switch res {
			case core.ResourceEphemeralStorage:
				if cs.Rootfs != nil && cs.Rootfs.UsedBytes != nil && cs.Logs != nil && cs.Logs.UsedBytes != nil {
					usage = resource.NewQuantity(int64(*cs.Rootfs.UsedBytes+*cs.Logs.UsedBytes), resource.BinarySI)
				}
			case core.ResourceMemory:
				if cs.Memory != nil && cs.Memory.WorkingSetBytes != nil {
					usage = resource.NewQuantity(int64(*cs.Memory.WorkingSetBytes), resource.BinarySI)
				}
			}
			if usage != nil && usage.Cmp(req) > 0 {
				msg += fmt.Sprintf(containerMessageFmt, c.Name, usage.String(), req.String(), res)
				names = append(names, c.Name)
				usages = append(usages, usage.String())
			}
			break
		}
	}
	return msg, map[string]string{
		OffendingContainersKey:      strings.Join(names, ","),
		OffendingContainersUsageKey: strings.Join(usages, ","),
		StarvedResourceKey:          string(res),
	}
}
