package nodeagent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
)

// localVolumeCleanupPeriod is how often the node looks for deleted local volumes whose data
// it still holds, and measures the room left for local volumes.
const localVolumeCleanupPeriod = 10 * time.Second

// localVolumeLoop removes the data of this node's deleted skiff.dev/local volumes (reclaim
// Delete) and reports the room left for new ones, until ctx ends.
func (a *Agent) localVolumeLoop(ctx context.Context) {
	t := time.NewTicker(localVolumeCleanupPeriod)
	defer t.Stop()
	reported := ""
	for {
		if err := a.localVolumes.CleanupLocalVolumes(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("local volume cleanup", "err", err)
		}
		if free, err := localVolumeRoom(a.localVolumes.LocalDir); err != nil {
			a.log.Warn("measuring room for local volumes", "err", err)
		} else if free != reported {
			if err := a.annotateNode(ctx, storage.LocalVolumeCapacityAnnotation, free); err != nil && ctx.Err() == nil {
				a.log.Warn("reporting room for local volumes", "err", err)
			} else {
				reported = free
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// localVolumeRoom is the space available to unprivileged writers on the filesystem that
// holds dir (or, before the first volume, its nearest existing parent), rounded down to a
// hundredth of the filesystem so that the Node is not rewritten for every block written.
func localVolumeRoom(dir string) (string, error) {
	for {
		if _, err := os.Stat(dir); err == nil || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", err
	}
	return strconv.FormatInt(roundRoom(int64(st.Bavail)*st.Bsize, int64(st.Blocks)*st.Bsize), 10), nil
}

// roundRoom rounds free down to a multiple of a hundredth of total (at least 1MiB).
func roundRoom(free, total int64) int64 {
	step := max(total/100, 1<<20)
	return free / step * step
}

// annotateNode sets one annotation of the agent's Node (a merge patch: nothing else moves).
func (a *Agent) annotateNode(ctx context.Context, key, value string) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return err
	}
	_, err = a.nodes.Patch(ctx, "", a.cfg.NodeName, client.MergePatchType, body, "")
	return err
}

// simLocalVolumeRoom is what a simulated node reports free for local volumes: its
// ephemeral storage (sim nodes have no files, so nothing is ever used).
func simLocalVolumeRoom(capacity core.ResourceList) string {
	q, ok := capacity[core.ResourceEphemeralStorage]
	if !ok {
		q = SimCapacity[core.ResourceEphemeralStorage]
	}
	return strconv.FormatInt(q.Value(), 10)
}
