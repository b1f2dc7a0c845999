package nodeagent

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/eviction"
	"github.com/skiff-sh/skiff/nodeagent/gc"
)

// newCollector is the node's garbage collector (dead containers, unused images).
func (a *Agent) newCollector(node *core.Node) *gc.Collector {
	cfg := a.cfg.GC
	cfg.Runtime, cfg.Log = a.rt, a.log
	if a.cfg.Recorder != nil && cfg.Event == nil {
		cfg.Event = func(eventType, reason, msg string) {
			a.cfg.Recorder.Eventf(node, eventType, reason, "%s", msg)
		}
	}
	return gc.New(cfg)
}

// thresholds are the node's eviction thresholds: the configured ones, else the kubelet's
// defaults.
func (a *Agent) thresholds() []eviction.Threshold {
	if a.cfg.Eviction.Thresholds != nil {
		return a.cfg.Eviction.Thresholds
	}
	ts, err := eviction.Parse(eviction.Flags{Hard: eviction.DefaultHard})
	if err != nil {
		panic(err) // a constant
	}
	return ts
}

// newEviction is the node's eviction manager: it reads the stats collector's samples, frees
// disk through the garbage collector and evicts through the pod workers.
func (a *Agent) newEviction(node *core.Node) *eviction.Manager {
	cfg := a.cfg.Eviction
	cfg.Thresholds = a.thresholds()
	if cfg.Interval <= 0 {
		cfg.Interval = a.stats.Interval()
	}
	cfg.Summary, cfg.Refresh, cfg.Pods = a.stats.Latest, a.stats.Refresh, a.workers.Pods
	cfg.AllocatableMemory = func() int64 {
		q := a.allocatableBeforeEviction()[core.ResourceMemory]
		return q.Value()
	}
	cfg.DiskReclaim = []func(context.Context) error{a.gc.DeleteAllUnusedContainers, a.gc.DeleteUnusedImages}
	cfg.Evict = a.workers.Evict
	cfg.PodCleanedUp = func(ctx context.Context, pod *core.Pod) bool { return a.workers.Reclaimed(ctx, pod.UID) }
	cfg.Log = a.log
	if r := a.cfg.Recorder; r != nil {
		cfg.NodeEvent = func(eventType, reason, msg string) { r.Eventf(node, eventType, reason, "%s", msg) }
		cfg.PodEvent = func(pod *core.Pod, eventType, reason, msg string) { r.Eventf(pod, eventType, reason, "%s", msg) }
	}
	return eviction.New(cfg)
}

// pressureConditions are the node's MemoryPressure, DiskPressure and PIDPressure
// conditions, made with cond (nodeStatus's).
func (a *Agent) pressureConditions(cond func(core.NodeConditionType, core.ConditionStatus, string, string) core.NodeCondition) []core.NodeCondition {
	var out []core.NodeCondition
	for _, t := range []core.NodeConditionType{core.NodeMemoryPressure, core.NodeDiskPressure, core.NodePIDPressure} {
		under := a.eviction != nil && a.eviction.Under(t)
		reason, msg := eviction.ConditionText(t, under)
		status := core.ConditionFalse
		if under {
			status = core.ConditionTrue
		}
		out = append(out, cond(t, status, reason, msg))
	}
	return out
}
