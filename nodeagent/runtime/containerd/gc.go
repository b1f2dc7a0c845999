package containerd

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// ImageFsUsage reports the filesystem of the snapshotter's root: where unpacked images
// and containers' writable layers live (and, in the usual layout, the content store).
func (r *Runtime) ImageFsUsage(ctx context.Context) (*runtime.FsUsage, error) {
	return runtime.Statfs(r.imageFsPath(ctx))
}

// imageFsPath asks containerd where its snapshotter keeps its data (once); the data dir
// of the containerd started here is the fallback.
func (r *Runtime) imageFsPath(ctx context.Context) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.imageFs != "" {
		return r.imageFs
	}
	path := filepath.Join(r.o.DataDir, "containerd")
	resp, err := r.client.IntrospectionService().Plugins(r.ns(ctx),
		fmt.Sprintf("type==io.containerd.snapshotter.v1,id==%s", r.o.Snapshotter))
	if err == nil && len(resp.Plugins) > 0 && resp.Plugins[0].Exports["root"] != "" {
		path = resp.Plugins[0].Exports["root"]
		r.imageFs = path // found: keep it (the fallback is tried again next time)
	}
	return path
}

// RemoveImage deletes every name of the image ref points to; containerd's garbage
// collector then frees its content and snapshots (before this returns: the last delete
// is synchronous).
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	ctx = r.ns(ctx)
	img, err := r.client.ImageService().Get(ctx, ref)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.pause != nil && img.Target.Digest == r.pause.Target().Digest {
		return fmt.Errorf("image %s is the pause image", ref)
	}
	all, err := r.client.ImageService().List(ctx, fmt.Sprintf("target.digest==%s", img.Target.Digest))
	if err != nil {
		return err
	}
	for i, named := range all {
		var opts []images.DeleteOpt
		if i == len(all)-1 {
			opts = append(opts, images.SynchronousDelete())
		}
		if err := r.client.ImageService().Delete(ctx, named.Name, opts...); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove image %s: %w", named.Name, err)
		}
	}
	return nil
}

// WritableLayerUsage is the size of the container's snapshot (its writable layer: the
// snapshot key is the container ID), as the snapshotter measures it.
func (r *Runtime) WritableLayerUsage(ctx context.Context, id string) (runtime.DiskUsage, error) {
	u, err := r.client.SnapshotService(r.o.Snapshotter).Usage(r.ns(ctx), id)
	if err != nil {
		if errdefs.IsNotFound(err) {
			return runtime.DiskUsage{}, fmt.Errorf("writable layer of %s: %w", id, runtime.ErrNotFound)
		}
		return runtime.DiskUsage{}, fmt.Errorf("writable layer of %s: %w", id, err)
	}
	return runtime.DiskUsage{Bytes: uint64(max(u.Size, 0)), Inodes: uint64(max(u.Inodes, 0))}, nil
}
