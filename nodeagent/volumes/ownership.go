package volumes

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/skiff-sh/skiff/api/core"
)

// fsGroup ownership, as the kubelet's volume.SetVolumeOwnership does it: every file and
// directory of a volume gets the pod's fsGroup as its group, group read (and write, unless
// the volume is read-only) on top of its mode, and directories also group execute and the
// setgid bit, so that what a container creates there later belongs to the fsGroup too.
// Symlinks only change group. Which volumes get it follows the kubelet's plugins:
//
//   - emptyDir, and the persistentVolumeClaim/ephemeral volumes on local PersistentVolumes
//     mounted read-write: when the pod's volume is first set up, honouring
//     fsGroupChangePolicy (OnRootMismatch skips a volume whose top directory already has the
//     group, the modes and setgid; Always, the default, walks it all);
//   - configMap, secret, downwardAPI and projected volumes: read-only (0440 added), every
//     time their files are written;
//   - hostPath volumes (and claims on hostPath volumes): never, as in Kubernetes.

const (
	rwMask   = os.FileMode(0o660)
	roMask   = os.FileMode(0o440)
	execMask = os.FileMode(0o110)
)

// fsGroupOf is the pod's fsGroup, nil when it sets none.
func fsGroupOf(pod *core.Pod) *int64 {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroup
	}
	return nil
}

// changePolicyOf is the pod's fsGroupChangePolicy, nil when unset (Always).
func changePolicyOf(pod *core.Pod) *core.PodFSGroupChangePolicy {
	if sc := pod.Spec.SecurityContext; sc != nil {
		return sc.FSGroupChangePolicy
	}
	return nil
}

// setOwnership gives dir and everything under it to fsGroup (nothing when fsGroup is nil).
func setOwnership(dir string, fsGroup *int64, policy *core.PodFSGroupChangePolicy, readOnly bool) error {
	if fsGroup == nil {
		return nil
	}
	if policy != nil && *policy == core.FSGroupChangeOnRootMismatch && !needsOwnership(dir, *fsGroup, readOnly) {
		return nil
	}
	// Children before their directory (the kubelet's walkDeep), so a directory is
	// opened to the group only once what is in it is.
	return walkDeep(dir, func(p string, fi os.FileInfo) error {
		changeOwnership(p, fi, *fsGroup, readOnly)
		return nil
	})
}

// needsOwnership reports whether dir's root lacks the group, the group modes or setgid.
func needsOwnership(dir string, fsGroup int64, readOnly bool) bool {
	fi, err := os.Stat(dir)
	if err != nil {
		return true
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int64(st.Gid) != fsGroup || !fi.IsDir() {
		return true
	}
	want := rwMask
	if readOnly {
		want = roMask
	}
	want |= execMask
	return fi.Mode().Perm()&want != want || fi.Mode()&os.ModeSetgid == 0
}

// changeOwnership is best effort, as the kubelet's: a file that cannot change (a read-only
// bind mount inside the volume, say) must not keep the pod from starting.
func changeOwnership(p string, fi os.FileInfo, fsGroup int64, readOnly bool) {
	_ = os.Lchown(p, -1, int(fsGroup))
	if fi.Mode()&os.ModeSymlink != 0 {
		return
	}
	mask := rwMask
	if readOnly {
		mask = roMask
	}
	if fi.IsDir() {
		mask |= os.ModeSetgid | execMask
	}
	keep := fi.Mode() & (os.ModePerm | os.ModeSetgid | os.ModeSetuid | os.ModeSticky)
	_ = os.Chmod(p, keep|mask)
}

// walkDeep calls fn for root and everything under it, children first, without following
// symlinks (a volume's link must not lead the walk out of the volume).
func walkDeep(root string, fn func(string, os.FileInfo) error) error {
	fi, err := os.Lstat(root)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(root)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := walkDeep(filepath.Join(root, e.Name()), fn); err != nil {
				return err
			}
		}
	}
	return fn(root, fi)
}

// ownOnce applies ownership to a pod's volume the first time it is set up for the pod (the
// kubelet does it when it mounts the volume, not on every sync): a marker under the pod's
// volumes directory, removed with them at teardown, records that it was done.
func (m *Manager) ownOnce(pod *core.Pod, volume, dir string, readOnly bool) error {
	fsGroup := fsGroupOf(pod)
	if fsGroup == nil {
		return nil
	}
	marker := filepath.Join(m.volumesDir(pod.UID), ".ownership", volume)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if err := setOwnership(dir, fsGroup, changePolicyOf(pod), readOnly); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(marker), 0o700); err != nil {
		return err
	}
	return os.WriteFile(marker, nil, 0o600)
}
