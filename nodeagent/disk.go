package nodeagent

import (
	"context"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/nodeagent/gc"
)

// newCollector is the node's garbage collector (dead containers, unused images) and the
// judge of its DiskPressure condition.
func (a *Agent) newCollector(node *core.Node) *gc.Collector {
	cfg := a.cfg.GC
	cfg.Runtime, cfg.Log = a.rt, a.log
	if !a.cfg.Sim {
		cfg.NodeFsPath = a.cfg.RootDir
	}
	if a.cfg.Recorder != nil && cfg.Event == nil {
		cfg.Event = func(eventType, reason, msg string) {
			a.cfg.Recorder.Eventf(node, eventType, reason, "%s", msg)
		}
	}
	return gc.New(cfg)
}

// diskCondition is the node's DiskPressure condition, made with cond (nodeStatus's).
func (a *Agent) diskCondition(ctx context.Context, cond func(core.NodeConditionType, core.ConditionStatus, string, string) core.NodeCondition) core.NodeCondition {
	if a.gc != nil {
		if p := a.gc.DiskPressure(ctx); p.Under {
			return cond(core.NodeDiskPressure, core.ConditionTrue, "KubeletHasDiskPressure", p.Message)
		}
	}
	return cond(core.NodeDiskPressure, core.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure")
}
