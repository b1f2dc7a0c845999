package eviction

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/statsapi"
)

// localStorage evicts the pods past a local storage limit, as the kubelet's
// localStorageEviction: an emptyDir volume above its sizeLimit, a pod above the sum of its
// containers' ephemeral-storage limits, or a container above its own (its writable layer
// and logs). These pods get no grace and no DisruptionTarget condition.
func (m *Manager) localStorage(ctx context.Context, pods []*core.Pod, stats statsFunc) []*core.Pod {
	var evicted []*core.Pod
	for _, pod := range pods {
		ps, ok := stats(pod)
		if !ok {
			continue
		}
		if msg := overLocalStorage(pod, ps); msg != "" && m.evict(ctx, pod, 1, msg, nil, nil) {
			evicted = append(evicted, pod)
		}
	}
	return evicted
}

// overLocalStorage is the eviction message of the first local storage limit the pod is
// past, "" if none.
func overLocalStorage(pod *core.Pod, ps statsapi.PodStats) string {
	used := map[string]uint64{}
	for _, v := range ps.VolumeStats {
		if v.UsedBytes != nil {
			used[v.Name] = *v.UsedBytes
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Sign() <= 0 {
			continue
		}
		u, ok := used[v.Name]
		if ok && resource.NewQuantity(int64(u), resource.BinarySI).Cmp(*v.EmptyDir.SizeLimit) > 0 {
			return fmt.Sprintf(emptyDirMessageFmt, v.Name, v.EmptyDir.SizeLimit.String())
		}
	}
	if limit, ok := quota.PodLimits(pod)[core.ResourceEphemeralStorage]; ok {
		var u int64
		if ps.EphemeralStorage != nil && ps.EphemeralStorage.UsedBytes != nil {
			u = int64(*ps.EphemeralStorage.UsedBytes)
		}
		if resource.NewQuantity(u, resource.BinarySI).Cmp(limit) > 0 {
			return fmt.Sprintf(podEphemeralStorageMessageFmt, limit.String())
		}
	}
	limits := map[string]resource.Quantity{}
	for _, c := range pod.Spec.Containers {
		if l, ok := c.Resources.Limits[core.ResourceEphemeralStorage]; ok && !l.IsZero() {
			limits[c.Name] = l
		}
	}
	for _, cs := range ps.Containers {
		l, ok := limits[cs.Name]
		if !ok {
			continue
		}
		u := fsUsed(cs.Logs) + fsUsed(cs.Rootfs) // the writable layer is on the node's disk
		if l.Cmp(*resource.NewQuantity(int64(u), resource.BinarySI)) < 0 {
			return fmt.Sprintf(containerEphemeralStorageMessageFmt, cs.Name, l.String())
		}
	}
	return ""
}

func fsUsed(f *statsapi.FsStats) uint64 {
	if f == nil || f.UsedBytes == nil {
		return 0
	}
	return *f.UsedBytes
}
