package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
)

// skiff.dev/local volumes: the controller manager's provisioner makes the PersistentVolume
// (path <local dir>/<volume name>, pinned to this node); this node makes the directory when
// a pod first uses the volume, and removes it when the volume is deleted. The node marks a
// volume whose data it holds with the skiff.dev/local-volume finalizer before it creates
// the directory, so a deleted volume waits for the node to remove the data; a volume no pod
// ever used has no directory and no finalizer, and goes at once. (The Node authorizer lets a
// node read and update its own local volumes; NodeRestriction lets it change only that
// finalizer.)

// LocalVolumeDir is where the node under root keeps its local volumes.
func LocalVolumeDir(root string) string { return filepath.Join(root, "local-volumes") }

// prepareLocal holds the volume (finalizer) and makes its directory; it returns the path.
func (m *Manager) prepareLocal(ctx context.Context, pv *core.PersistentVolume) (string, error) {
	dir := filepath.Join(m.LocalDir, pv.Name)
	if filepath.Clean(pv.Spec.Local.Path) != dir {
		// Not this node's layout: a volume provisioned for another directory (or node).
		return "", fmt.Errorf("persistentvolume %q: path %s is not under this node's local volume directory %s", pv.Name, pv.Spec.Local.Path, m.LocalDir)
	}
	if pv.DeletionTimestamp != nil {
		return "", fmt.Errorf("persistentvolume %q is being deleted", pv.Name)
	}
	if !slices.Contains(pv.Finalizers, storage.LocalVolumeFinalizer) {
		cp := *pv
		cp.Finalizers = append(slices.Clone(pv.Finalizers), storage.LocalVolumeFinalizer)
		if _, err := m.objects.UpdatePersistentVolume(ctx, &cp); err != nil {
			return "", fmt.Errorf("hold persistentvolume %q: %w", pv.Name, err)
		}
	}
	if err := makeOpenDir(dir); err != nil { // any user of the pod may write, as with emptyDir
		return "", err
	}
	return dir, nil
}

// CleanupLocalVolumes removes the data of this node's local volumes that were deleted
// (reclaim policy Delete), then lets the volume go by removing its finalizer. A directory
// whose volume cannot be read (gone, or not this node's) is left alone: data is never
// removed on a guess.
func (m *Manager) CleanupLocalVolumes(ctx context.Context) error {
	entries, err := os.ReadDir(m.LocalDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		pv, err := m.objects.PersistentVolume(ctx, e.Name())
		if err != nil {
			if !client.IsNotFound(err) && !client.IsForbidden(err) {
				errs = append(errs, err)
			}
			continue
		}
		if pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, storage.LocalVolumeFinalizer) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.LocalDir, e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		cp := *pv
		cp.Finalizers = slices.DeleteFunc(slices.Clone(pv.Finalizers), func(f string) bool { return f == storage.LocalVolumeFinalizer })
		if _, err := m.objects.UpdatePersistentVolume(ctx, &cp); err != nil && !client.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("release persistentvolume %q: %w", pv.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up local volumes: %v", errs)
	}
	return nil
}
