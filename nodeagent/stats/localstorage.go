package stats

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// LocalStorage reads what pods keep on the node's disk, for the kubelet's local storage
// limits (emptyDir sizeLimit, ephemeral-storage) and disk-pressure ranking.
type LocalStorage interface {
	// Volumes is the usage of the pod's emptyDir volumes; memory marks those on tmpfs.
	Volumes(pod *core.Pod) (stats []statsapi.VolumeStats, memory map[string]bool)
	// Container is a running container's writable layer and logs (nil: unknown).
	Container(ctx context.Context, pod *core.Pod, c *runtime.Container) (rootfs, logs *statsapi.FsStats)
}

// localStorage fills the pod's volume, container rootfs/logs and ephemeral-storage stats:
// the pod's local storage is its containers' writable layers and logs and its disk-backed
// emptyDir volumes (as the kubelet counts it).
func (c *Collector) localStorage(ctx context.Context, pod *core.Pod, cts []*runtime.Container, ps *statsapi.PodStats) {
	var used, inodes uint64
	add := func(f *statsapi.FsStats) {
		if f == nil {
			return
		}
		if f.UsedBytes != nil {
			used += *f.UsedBytes
		}
		if f.InodesUsed != nil {
			inodes += *f.InodesUsed
		}
	}
	byName := map[string]*runtime.Container{}
	for _, ct := range cts {
		byName[ct.Name] = ct
	}
	for i := range ps.Containers {
		ct := byName[ps.Containers[i].Name]
		if ct == nil {
			continue
		}
		rootfs, logs := c.cfg.LocalStorage.Container(ctx, pod, ct)
		ps.Containers[i].Rootfs, ps.Containers[i].Logs = rootfs, logs
		add(rootfs)
		add(logs)
	}
	vols, memory := c.cfg.LocalStorage.Volumes(pod)
	ps.VolumeStats = vols
	for i := range vols {
		if !memory[vols[i].Name] {
			add(&vols[i].FsStats)
		}
	}
	ps.EphemeralStorage = &statsapi.FsStats{Time: meta.Now(), UsedBytes: ptr(used), InodesUsed: ptr(inodes)}
}

// RuntimeStorage is a real node's LocalStorage: writable layers from the runtime, logs and
// volumes measured on disk.
type RuntimeStorage struct {
	Runtime runtime.Runtime
	// LogDir is the directory of a container's logs (every attempt), "" if none.
	LogDir func(pod *core.Pod, c *runtime.Container) string
	// VolumeUsage is the usage of the pod's emptyDir volumes.
	VolumeUsage func(pod *core.Pod) (stats []statsapi.VolumeStats, memory map[string]bool)
}

func (s *RuntimeStorage) Volumes(pod *core.Pod) ([]statsapi.VolumeStats, map[string]bool) {
	return s.VolumeUsage(pod)
}

func (s *RuntimeStorage) Container(ctx context.Context, pod *core.Pod, c *runtime.Container) (*statsapi.FsStats, *statsapi.FsStats) {
	var rootfs, logs *statsapi.FsStats
	now := meta.Now()
	if u, err := s.Runtime.WritableLayerUsage(ctx, c.ID); err == nil {
		rootfs = &statsapi.FsStats{Time: now, UsedBytes: ptr(u.Bytes), InodesUsed: ptr(u.Inodes)}
	}
	if dir := s.LogDir(pod, c); dir != "" {
		if u, err := runtime.DirUsage(dir); err == nil {
			logs = &statsapi.FsStats{Time: now, UsedBytes: ptr(u.Bytes), InodesUsed: ptr(u.Inodes)}
		}
	}
	return rootfs, logs
}
