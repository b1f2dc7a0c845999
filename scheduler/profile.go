package scheduler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"runtime"
	"slices"

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

type entry struct {
	name   string
	weight int64
}

func buildProfile(cp *Profile, path *field.Path, registry map[string]plugins.Factory, h plugins.Handle) (*profile, error) {
	p := &profile{name: cp.SchedulerName, percentage: cp.PercentageOfNodesToScore, policy: cp.Policy,
		minCandidatePercentage: 10, minCandidateAbsolute: 100, plugins: map[string]fw.Plugin{}}
	ps := cp.Plugins
	if ps == nil {
		ps = &Plugins{}
	}
	defaultWeight := map[string]int64{}
	filters := slices.Clone(plugins.DefaultFilters)
	var scores []entry
	for _, s := range plugins.DefaultScores {
		scores = append(scores, entry{s.Name, s.Weight})
		defaultWeight[s.Name] = s.Weight
	}
	preemption := true

	known := func(path *field.Path, name string) error {
		if _, ok := registry[name]; ok {
			return nil
		}
		switch name {
		case plugins.PrioritySortName, plugins.DefaultPreemptionName, plugins.DefaultBinderName:
			return nil
		}
		return field.NotSupported(path, name, append(slices.Sorted(maps.Keys(registry)), plugins.PrioritySortName, plugins.DefaultPreemptionName, plugins.DefaultBinderName))
	}
	weightOf := func(path *field.Path, r PluginRef) (int64, error) {
		if r.Weight == nil || *r.Weight == 0 {
			if w, ok := defaultWeight[r.Name]; ok {
				return w, nil
			}
			return 1, nil
		}
		if *r.Weight < 0 || *r.Weight > 100 {
			return 0, field.Invalid(path.Child("weight"), *r.Weight, "must be in the range [1, 100]")
		}
		return int64(*r.Weight), nil
	}
	disabledAll := func(set PluginSet) bool {
		return slices.ContainsFunc(set.Disabled, func(r PluginRef) bool { return r.Name == "*" })
	}
	disable := func(set PluginSet, setPath *field.Path) error {
		if disabledAll(set) {
			filters, scores, preemption = nil, nil, false
			return nil
		}
		for j, r := range set.Disabled {
			if err := known(setPath.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
				return err
			}
			filters = slices.DeleteFunc(filters, func(n string) bool { return n == r.Name })
			scores = slices.DeleteFunc(scores, func(e entry) bool { return e.name == r.Name })
			if r.Name == plugins.DefaultPreemptionName {
				preemption = false
			}
		}
		return nil
	}

	// multiPoint: a plugin enabled there joins every point it implements.
	mp := path.Child("plugins", "multiPoint")
	if err := disable(ps.MultiPoint, mp); err != nil {
		return nil, err
	}
	for j, r := range ps.MultiPoint.Enabled {
		rp := mp.Child("enabled").Index(j)
		if err := known(rp.Child("name"), r.Name); err != nil {
			return nil, err
		}
		if r.Name == plugins.DefaultPreemptionName {
			preemption = true
			continue
		}
		f, ok := registry[r.Name]
		if !ok {
			continue
		}
		pl, err := f(nil, h)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rp, err)
		}
		if _, ok := pl.(fw.FilterPlugin); ok && !slices.Contains(filters, r.Name) {
			filters = append(filters, r.Name)
		}
		if _, ok := pl.(fw.ScorePlugin); ok {
			w, err := weightOf(rp, r)
			if err != nil {
				return nil, err
			}
			scores = slices.DeleteFunc(scores, func(e entry) bool { return e.name == r.Name })
			scores = append(scores, entry{r.Name, w})
		}
	}

	// filter and score, each with its own lists.
	fp := path.Child("plugins", "filter")
	if disabledAll(ps.Filter) {
		filters = nil
	}
	for j, r := range ps.Filter.Disabled {
		if r.Name == "*" {
			continue
		}
		if err := known(fp.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
			return nil, err
		}
		filters = slices.DeleteFunc(filters, func(n string) bool { return n == r.Name })
	}
	for j, r := range ps.Filter.Enabled {
		if err := known(fp.Child("enabled").Index(j).Child("name"), r.Name); err != nil {
			return nil, err
		}
		if !slices.Contains(filters, r.Name) {
			filters = append(filters, r.Name)
		}
	}
	sp := path.Child("plugins", "score")
	if disabledAll(ps.Score) {
		scores = nil
	}
	for j, r := range ps.Score.Disabled {
		if r.Name == "*" {
			continue
		}
		if err := known(sp.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
			return nil, err
		}
		scores = slices.DeleteFunc(scores, func(e entry) bool { return e.name == r.Name })
	}
	for j, r := range ps.Score.Enabled {
		rp := sp.Child("enabled").Index(j)
		if err := known(rp.Child("name"), r.Name); err != nil {
			return nil, err
		}
		w, err := weightOf(rp, r)
		if err != nil {
			return nil, err
		}
		scores = slices.DeleteFunc(scores, func(e entry) bool { return e.name == r.Name })
		scores = append(scores, entry{r.Name, w})
	}

	// postFilter: DefaultPreemption is the only one.
	pf := path.Child("plugins", "postFilter")
	if disabledAll(ps.PostFilter) || slices.ContainsFunc(ps.PostFilter.Disabled, func(r PluginRef) bool { return r.Name == plugins.DefaultPreemptionName }) {
		preemption = false
	}
	for j, r := range ps.PostFilter.Enabled {
		if r.Name != plugins.DefaultPreemptionName {
			return nil, field.NotSupported(pf.Child("enabled").Index(j).Child("name"), r.Name, []string{plugins.DefaultPreemptionName})
		}
		preemption = true
	}
	// Points skiff runs without plugins: only the built-in names may appear there.
	for _, pt := range []struct {
		name    string
		set     PluginSet
		allowed []string
	}{
		{"preEnqueue", ps.PreEnqueue, []string{"SchedulingGates"}},
		{"queueSort", ps.QueueSort, []string{plugins.PrioritySortName}},
		{"reserve", ps.Reserve, nil}, {"permit", ps.Permit, nil}, {"preBind", ps.PreBind, nil},
		{"bind", ps.Bind, []string{plugins.DefaultBinderName}}, {"postBind", ps.PostBind, nil},
	} {
		for j, r := range pt.set.Enabled {
			if !slices.Contains(pt.allowed, r.Name) {
				return nil, field.NotSupported(path.Child("plugins", pt.name, "enabled").Index(j).Child("name"), r.Name, pt.allowed)
			}
		}
	}
	// preFilter and preScore follow filter and score; naming a plugin there that is not also
	// enabled at filter/score would mean something skiff does not do.
	for _, pt := range []struct {
		name string
		set  PluginSet
		in   func(string) bool
	}{
		{"preFilter", ps.PreFilter, func(n string) bool { return slices.Contains(filters, n) }},
		{"preScore", ps.PreScore, func(n string) bool { return slices.ContainsFunc(scores, func(e entry) bool { return e.name == n }) }},
	} {
		for j, r := range pt.set.Enabled {
			rp := path.Child("plugins", pt.name, "enabled").Index(j).Child("name")
			if err := known(rp, r.Name); err != nil {
				return nil, err
			}
			if !pt.in(r.Name) {
				return nil, field.Invalid(rp, r.Name, "skiff runs a plugin's "+pt.name+" together with its "+pt.name[3:]+": enable it there")
			}
		}
	}

	// Args, then instances.
	args := map[string]json.RawMessage{}
	for j, pc := range cp.PluginConfig {
		pcPath := path.Child("pluginConfig").Index(j)
		if err := known(pcPath.Child("name"), pc.Name); err != nil {
			return nil, err
		}
		if _, dup := args[pc.Name]; dup {
			return nil, field.Duplicate(pcPath.Child("name"), pc.Name)
		}
		args[pc.Name] = pc.Args
		if pc.Name == plugins.DefaultPreemptionName {
			var a defaultPreemptionArgs
			if err := strictJSON(pc.Args, &a); err != nil {
				return nil, fmt.Errorf("%s: %w", pcPath.Child("args"), err)
			}
			if a.MinCandidateNodesPercentage != nil {
				if v := *a.MinCandidateNodesPercentage; v < 0 || v > 100 {
					return nil, field.Invalid(pcPath.Child("args", "minCandidateNodesPercentage"), v, "not in valid range [0, 100]")
				}
				p.minCandidatePercentage = *a.MinCandidateNodesPercentage
			}
			if a.MinCandidateNodesAbsolute != nil {
				if v := *a.MinCandidateNodesAbsolute; v < 0 {
					return nil, field.Invalid(pcPath.Child("args", "minCandidateNodesAbsolute"), v, "not in valid range [0, inf)")
				}
				p.minCandidateAbsolute = *a.MinCandidateNodesAbsolute
			}
		}
	}
	instance := func(name string) (fw.Plugin, error) {
		if pl, ok := p.plugins[name]; ok {
			return pl, nil
		}
		f, ok := registry[name]
		if !ok {
			return nil, nil // a built-in point name (DefaultBinder, ...) outside the lists
		}
		pl, err := f(args[name], h)
		if err != nil {
			for j, pc := range cp.PluginConfig {
				if pc.Name == name {
					return nil, fmt.Errorf("%s: %w", path.Child("pluginConfig").Index(j).Child("args"), err)
				}
			}
			return nil, fmt.Errorf("%s: plugin %s: %w", path, name, err)
		}
		p.plugins[name] = pl
		return pl, nil
	}
	framework := &fw.Framework{Parallelizer: h.Parallelizer}
	for _, name := range filters {
		pl, err := instance(name)
		if err != nil {
			return nil, err
		}
		f, ok := pl.(fw.FilterPlugin)
		if !ok {
			return nil, field.Invalid(path.Child("plugins", "filter"), name, "plugin has no Filter")
		}
		framework.Filter = append(framework.Filter, f)
		if pf, ok := pl.(fw.PreFilterPlugin); ok {
			framework.PreFilter = append(framework.PreFilter, pf)
		}
	}
	for _, e := range scores {
		pl, err := instance(e.name)
		if err != nil {
			return nil, err
		}
		s, ok := pl.(fw.ScorePlugin)
		if !ok {
			return nil, field.Invalid(path.Child("plugins", "score"), e.name, "plugin has no Score")
		}
		framework.Score = append(framework.Score, fw.WeightedScore{ScorePlugin: s, Weight: e.weight})
		if ps, ok := pl.(fw.PreScorePlugin); ok {
			framework.PreScore = append(framework.PreScore, ps)
		}
	}
	p.framework = framework
	p.preemption = preemption
	return p, nil
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
