package defaults

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
)

// StorageClass: reclaimPolicy Delete and volumeBindingMode Immediate, as
// pkg/apis/storage/v1/defaults.go.
func StorageClass(c *storage.StorageClass) {
	if c.ReclaimPolicy == nil {
		c.ReclaimPolicy = ptr(core.PersistentVolumeReclaimDelete)
	}
	if c.VolumeBindingMode == nil {
		c.VolumeBindingMode = ptr(storage.VolumeBindingImmediate)
	}
}

// CSIDriver: attach required, no pod info or capacity tracking, persistent volumes only.
func CSIDriver(d *storage.CSIDriver) {
	s := &d.Spec
	if s.AttachRequired == nil {
		s.AttachRequired = ptr(true)
	}
	if s.PodInfoOnMount == nil {
		s.PodInfoOnMount = ptr(false)
	}
	if s.StorageCapacity == nil {
		s.StorageCapacity = ptr(false)
	}
	if s.FSGroupPolicy == nil {
		s.FSGroupPolicy = ptr(storage.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(s.VolumeLifecycleModes) == 0 {
		s.VolumeLifecycleModes = []storage.VolumeLifecycleMode{storage.VolumeLifecyclePersistent}
	}
	if s.RequiresRepublish == nil {
		s.RequiresRepublish = ptr(false)
	}
	if s.SELinuxMount == nil {
		s.SELinuxMount = ptr(false)
	}
}
