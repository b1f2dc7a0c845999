package runtime

import (
	"fmt"
	"syscall"
)

// Statfs reports the usage of the filesystem holding path.
func Statfs(path string) (*FsUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return &FsUsage{
		Path: path, CapacityBytes: st.Blocks * bs, FreeBytes: st.Bavail * bs,
		InodesTotal: st.Files, InodesFree: st.Ffree,
	}, nil
}

// UsedPercent is how full the filesystem is, as the kubelet computes it for image
// garbage collection: 100 − available ÷ capacity (blocks reserved for root count as used).
func (u *FsUsage) UsedPercent() float64 {
	if u == nil || u.CapacityBytes == 0 {
		return 0
	}
	return 100 - u.FreePercent()
}

// FreePercent is the share of the filesystem still available.
func (u *FsUsage) FreePercent() float64 {
	if u == nil || u.CapacityBytes == 0 {
		return 100
	}
	return 100 * float64(u.FreeBytes) / float64(u.CapacityBytes)
}

// InodesFreePercent is the share of inodes left (100 on filesystems without a count).
func (u *FsUsage) InodesFreePercent() float64 {
	if u == nil || u.InodesTotal == 0 {
		return 100
	}
	return 100 * float64(u.InodesFree) / float64(u.InodesTotal)
}
