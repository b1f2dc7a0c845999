package nodeagent

import (
	"context"
	"path/filepath"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/nodeagent/podworker"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/stats"
)

// newStats is the node's usage collector: cgroups and procfs on a real node, synthetic
// usage (stats.Sim) on a simulated one.
func (a *Agent) newStats() *stats.Collector {
	cfg := stats.Config{
		NodeName: a.cfg.NodeName, Interval: a.cfg.StatsInterval, Pods: a.workers.Pods, Runtime: a.rt, Log: a.log,
	}
	if a.cfg.Sim {
		capacity, _ := a.capacity()
		cfg.Source = &stats.Sim{Capacity: capacity}
		cfg.NodeFs = simFs
		cfg.ImageFs = simFs
		cfg.LocalStorage = stats.SimStorage{}
	} else {
		parent := a.cfg.CgroupParent
		cfg.Source = &stats.CgroupSource{Cgroups: stats.NewCgroups(""),
			PodCgroup: func(p *core.Pod) string { return podworker.PodCgroup(parent, p) }}
		root := a.cfg.RootDir
		cfg.NodeFs = func(context.Context) (*runtime.FsUsage, error) { return runtime.Statfs(root) }
		cfg.ImageFs = a.rt.ImageFsUsage
		cfg.Rlimit = stats.Proc{}.Rlimit
		cfg.LocalStorage = &stats.RuntimeStorage{Runtime: a.rt,
			LogDir: func(_ *core.Pod, c *runtime.Container) string {
				if c.LogPath == "" {
					return ""
				}
				return filepath.Dir(c.LogPath) // every attempt of the container
			},
			VolumeUsage: a.volumeUsage}
	}
	return stats.New(cfg)
}

// volumeUsage is the usage of a pod's emptyDir volumes, and which are memory-backed.
func (a *Agent) volumeUsage(pod *core.Pod) ([]statsapi.VolumeStats, map[string]bool) {
	if a.localVolumes == nil {
		return nil, nil
	}
	var out []statsapi.VolumeStats
	memory := map[string]bool{}
	for _, u := range a.localVolumes.Usage(pod) {
		out = append(out, u.Stats)
		memory[u.Stats.Name] = u.Memory
	}
	return out, memory
}

// Stats is the node's usage collector (node-pressure eviction reads its samples).
func (a *Agent) Stats() *stats.Collector { return a.stats }

// simFs is a simulated node's filesystem: 1Ti, a twentieth of it used.
func simFs(context.Context) (*runtime.FsUsage, error) {
	const capacity = 1 << 40
	return &runtime.FsUsage{Path: "/", CapacityBytes: capacity, FreeBytes: capacity - capacity/20,
		InodesTotal: 1 << 26, InodesFree: 1<<26 - 1<<20}, nil
}
