package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
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

// DirUsage is what the tree under path holds, as du counts it: allocated blocks (a sparse
// file counts what it uses) and inodes, each hard-linked file once; it stays on path's
// filesystem (a mount below it is not counted). A missing path holds nothing.
func DirUsage(path string) (DiskUsage, error) {
	var u DiskUsage
	var root syscall.Stat_t
	if err := syscall.Lstat(path, &root); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return u, nil
		}
		return u, fmt.Errorf("du %s: %w", path, err)
	}
	seen := map[uint64]bool{}
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return nil
		}
		if st.Dev != root.Dev {
			return filepath.SkipDir
		}
		if st.Nlink > 1 && !d.IsDir() {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		u.Bytes += uint64(st.Blocks) * 512
		u.Inodes++
		return nil
	})
	if err != nil {
		return u, fmt.Errorf("du %s: %w", path, err)
	}
	return u, nil
}
