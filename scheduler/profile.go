package scheduler

import (
	"bytes"
	"encoding/json"
	"runtime"

	"github.com/skiff-sh/skiff/api/validation/field"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
	"github.com/skiff-sh/skiff/scheduler/plugins"
)

// profile is one built scheduling profile.
type profile struct {
	name       string
	framework  *fw.Framework
	percentage *int32 // nil: the configuration's
	preemption bool
	// Preemption tuning (DefaultPreemption args).
	minCandidatePercentage int32
	minCandidateAbsolute   int32
	policy                 string
	rrNext                 int // round-robin position in the node list
	// plugins by name, for the queue's event registrations.
	plugins map[string]fw.Plugin
}

// DefaultPreemption's args.
type defaultPreemptionArgs struct {
	MinCandidateNodesPercentage *int32 `json:"minCandidateNodesPercentage,omitempty"`
	MinCandidateNodesAbsolute   *int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

func pluginsHandle(cfg *Configuration) plugins.Handle {
	workers := 16
	if cfg.Parallelism != nil {
		workers = int(*cfg.Parallelism)
	}
	// More goroutines than CPUs only adds switching for this CPU-bound work.
	workers = min(workers, max(1, runtime.GOMAXPROCS(0)))
	return plugins.Handle{Parallelizer: fw.Parallelizer{Workers: workers}}
}

// buildProfiles resolves every profile's plugin lists against the defaults, as Kubernetes
// does: start from the default plugins of each extension point, apply multiPoint, then the
// point's own disabled (by name, or "*" for all defaults) and enabled lists.
func buildProfiles(cfg *Configuration, h plugins.Handle) (map[string]*profile, error) {
	registry := plugins.Registry()
	out := map[string]*profile{}
	for i := range cfg.Profiles {
		p, err := buildProfile(&cfg.Profiles[i], field.NewPath("profiles").Index(i), registry, h)
		if err != nil {
			return nil, err
		}
		out[p.name] = p
	}
	return out, nil
}

func strictJSON(data json.RawMessage, into any) error {
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(into)
}

// events gathers the cluster events the profiles' plugins registered, by plugin name.
func events(profiles map[string]*profile) map[string][]fw.ClusterEventWithHint {
	out := map[string][]fw.ClusterEventWithHint{}
	for _, p := range profiles {
		for name, pl := range p.plugins {
			if _, done := out[name]; done {
				continue
			}
			if ext, ok := pl.(fw.EnqueueExtensions); ok {
				out[name] = ext.EventsToRegister()
			}
		}
	}
	return out
}
