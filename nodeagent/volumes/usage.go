package volumes

import (
	"path/filepath"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Usage is what each emptyDir volume of the pod holds (its directory, or its tmpfs), as the
// kubelet's volume stats report it: for emptyDir.sizeLimit eviction and the pod's local
// storage. Memory says whether the volume is memory-backed (not on the node's disk).
func (m *Manager) Usage(pod *core.Pod) []VolumeUsage {
	var out []VolumeUsage
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil {
			continue
		}
		u, err := runtime.DirUsage(filepath.Join(m.volumesDir(pod.UID), "empty-dir", v.Name))
		if err != nil {
			continue
		}
		used, inodes := u.Bytes, u.Inodes
		out = append(out, VolumeUsage{Memory: v.EmptyDir.Medium == core.StorageMediumMemory,
			Stats: statsapi.VolumeStats{Name: v.Name, FsStats: statsapi.FsStats{Time: meta.Now(), UsedBytes: &used, InodesUsed: &inodes}}})
	}
	return out
}

// VolumeUsage is one volume's stats.
type VolumeUsage struct {
	Stats  statsapi.VolumeStats
	Memory bool
}
