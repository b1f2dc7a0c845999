package sim

import (
	"context"
	"fmt"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// ImageFsUsage: a simulated node has no disk, so no image garbage collection and never
// DiskPressure.
func (r *Runtime) ImageFsUsage(context.Context) (*runtime.FsUsage, error) {
	return nil, fmt.Errorf("an image filesystem is %w by the sim runtime", runtime.ErrNotSupported)
}

// RemoveImage has nothing to remove: simulated images are never stored.
func (r *Runtime) RemoveImage(context.Context, string) error { return nil }

// WritableLayerUsage: simulated containers write nothing (their synthetic local storage
// comes from annotations, in nodeagent/stats).
func (r *Runtime) WritableLayerUsage(context.Context, string) (runtime.DiskUsage, error) {
	return runtime.DiskUsage{}, fmt.Errorf("writable layers are %w by the sim runtime", runtime.ErrNotSupported)
}
