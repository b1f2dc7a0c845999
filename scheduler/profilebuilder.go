package scheduler

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/skiff-sh/skiff/api/validation/field"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
	"github.com/skiff-sh/skiff/scheduler/plugins"
)

// buildProfile turns one configured profile into a runnable one. The steps run in the
// order Kubernetes applies a profile's plugin lists: start from the default plugins of each
// extension point, apply multiPoint, then each point's own disabled (by name, or "*" for
// all defaults) and enabled lists; then check the points skiff runs without plugins, read
// the plugins' args, and instantiate the plugins into a framework.
func buildProfile(cp *Profile, path *field.Path, registry map[string]plugins.Factory, h plugins.Handle) (*profile, error) {
	b := newProfileBuilder(cp, path, registry, h)
	for _, step := range []func() error{
		b.multiPoint, b.filterPoint, b.scorePoint, b.postFilterPoint,
		b.fixedPoints, b.prePoints, b.pluginConfig, b.assemble,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b.p, nil
}

// entry is a score plugin and its weight.
type entry struct {
	name   string
	weight int64
}

// profileBuilder holds a profile's plugin lists while buildProfile resolves them.
type profileBuilder struct {
	cp       *Profile
	ps       *Plugins
	path     *field.Path
	registry map[string]plugins.Factory
	h        plugins.Handle
	p        *profile

	defaultWeight map[string]int64
	filters       []string
	scores        []entry
	preemption    bool
	args          map[string]json.RawMessage
}

func newProfileBuilder(cp *Profile, path *field.Path, registry map[string]plugins.Factory, h plugins.Handle) *profileBuilder {
	b := &profileBuilder{
		cp: cp, ps: cp.Plugins, path: path, registry: registry, h: h,
		p: &profile{name: cp.SchedulerName, percentage: cp.PercentageOfNodesToScore, policy: cp.Policy,
			minCandidatePercentage: 10, minCandidateAbsolute: 100, plugins: map[string]fw.Plugin{}},
		defaultWeight: map[string]int64{},
		filters:       slices.Clone(plugins.DefaultFilters),
		preemption:    true,
		args:          map[string]json.RawMessage{},
	}
	if b.ps == nil {
		b.ps = &Plugins{}
	}
	for _, s := range plugins.DefaultScores {
		b.scores = append(b.scores, entry{s.Name, s.Weight})
		b.defaultWeight[s.Name] = s.Weight
	}
	return b
}

// known checks that name is a registered plugin or one of the built-in point names.
func (b *profileBuilder) known(path *field.Path, name string) error {
	if _, ok := b.registry[name]; ok {
		return nil
	}
	switch name {
	case plugins.PrioritySortName, plugins.DefaultPreemptionName, plugins.DefaultBinderName:
		return nil
	}
	return field.NotSupported(path, name, append(slices.Sorted(maps.Keys(b.registry)), plugins.PrioritySortName, plugins.DefaultPreemptionName, plugins.DefaultBinderName))
}

// weightOf is r's score weight: its own (1 to 100), else the plugin's default, else 1.
func (b *profileBuilder) weightOf(path *field.Path, r PluginRef) (int64, error) {
	if r.Weight == nil || *r.Weight == 0 {
		if w, ok := b.defaultWeight[r.Name]; ok {
			return w, nil
		}
		return 1, nil
	}
	if *r.Weight < 0 || *r.Weight > 100 {
		return 0, field.Invalid(path.Child("weight"), *r.Weight, "must be in the range [1, 100]")
	}
	return int64(*r.Weight), nil
}

func disabledAll(set PluginSet) bool {
	return slices.ContainsFunc(set.Disabled, func(r PluginRef) bool { return r.Name == "*" })
}

func (b *profileBuilder) removeFilter(name string) {
	b.filters = slices.DeleteFunc(b.filters, func(n string) bool { return n == name })
}

func (b *profileBuilder) removeScore(name string) {
	b.scores = slices.DeleteFunc(b.scores, func(e entry) bool { return e.name == name })
}

// setScore puts name at the end of the score list with weight w (replacing it if present).
func (b *profileBuilder) setScore(name string, w int64) {
	b.removeScore(name)
	b.scores = append(b.scores, entry{name, w})
}

// multiPoint applies multiPoint: its disabled list removes plugins from every point, and a
// plugin enabled there joins every point it implements.
func (b *profileBuilder) multiPoint() error {
	set, mp := b.ps.MultiPoint, b.path.Child("plugins", "multiPoint")
	if disabledAll(set) {
		b.filters, b.scores, b.preemption = nil, nil, false
	} else {
		for j, r := range set.Disabled {
			if err := b.known(mp.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
				return err
			}
			b.removeFilter(r.Name)
			b.removeScore(r.Name)
			if r.Name == plugins.DefaultPreemptionName {
				b.preemption = false
			}
		}
	}
	for j, r := range set.Enabled {
		rp := mp.Child("enabled").Index(j)
		if err := b.known(rp.Child("name"), r.Name); err != nil {
			return err
		}
		if r.Name == plugins.DefaultPreemptionName {
			b.preemption = true
			continue
		}
		f, ok := b.registry[r.Name]
		if !ok {
			continue
		}
		pl, err := f(nil, b.h)
		if err != nil {
			return fmt.Errorf("%s: %w", rp, err)
		}
		if _, ok := pl.(fw.FilterPlugin); ok && !slices.Contains(b.filters, r.Name) {
			b.filters = append(b.filters, r.Name)
		}
		if _, ok := pl.(fw.ScorePlugin); ok {
			w, err := b.weightOf(rp, r)
			if err != nil {
				return err
			}
			b.setScore(r.Name, w)
		}
	}
	return nil
}

// filterPoint applies the filter point's own lists.
func (b *profileBuilder) filterPoint() error {
	set, fp := b.ps.Filter, b.path.Child("plugins", "filter")
	if disabledAll(set) {
		b.filters = nil
	}
	for j, r := range set.Disabled {
		if r.Name == "*" {
			continue
		}
		if err := b.known(fp.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
			return err
		}
		b.removeFilter(r.Name)
	}
	for j, r := range set.Enabled {
		if err := b.known(fp.Child("enabled").Index(j).Child("name"), r.Name); err != nil {
			return err
		}
		if !slices.Contains(b.filters, r.Name) {
			b.filters = append(b.filters, r.Name)
		}
	}
	return nil
}

// scorePoint applies the score point's own lists, with weights.
func (b *profileBuilder) scorePoint() error {
	set, sp := b.ps.Score, b.path.Child("plugins", "score")
	if disabledAll(set) {
		b.scores = nil
	}
	for j, r := range set.Disabled {
		if r.Name == "*" {
			continue
		}
		if err := b.known(sp.Child("disabled").Index(j).Child("name"), r.Name); err != nil {
			return err
		}
		b.removeScore(r.Name)
	}
	for j, r := range set.Enabled {
		rp := sp.Child("enabled").Index(j)
		if err := b.known(rp.Child("name"), r.Name); err != nil {
			return err
		}
		w, err := b.weightOf(rp, r)
		if err != nil {
			return err
		}
		b.setScore(r.Name, w)
	}
	return nil
}

// postFilterPoint: DefaultPreemption is the only postFilter plugin.
func (b *profileBuilder) postFilterPoint() error {
	set, pf := b.ps.PostFilter, b.path.Child("plugins", "postFilter")
	if disabledAll(set) || slices.ContainsFunc(set.Disabled, func(r PluginRef) bool { return r.Name == plugins.DefaultPreemptionName }) {
		b.preemption = false
	}
	for j, r := range set.Enabled {
		if r.Name != plugins.DefaultPreemptionName {
			return field.NotSupported(pf.Child("enabled").Index(j).Child("name"), r.Name, []string{plugins.DefaultPreemptionName})
		}
		b.preemption = true
	}
	return nil
}

// fixedPoints checks the points skiff runs without plugins: only the built-in names may
// appear there.
func (b *profileBuilder) fixedPoints() error {
	ps := b.ps
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
				return field.NotSupported(b.path.Child("plugins", pt.name, "enabled").Index(j).Child("name"), r.Name, pt.allowed)
			}
		}
	}
	return nil
}

// prePoints checks preFilter and preScore, which follow filter and score: naming a plugin
// there that is not also enabled at filter/score would mean something skiff does not do.
func (b *profileBuilder) prePoints() error {
	for _, pt := range []struct {
		name string
		set  PluginSet
		in   func(string) bool
	}{
		{"preFilter", b.ps.PreFilter, func(n string) bool { return slices.Contains(b.filters, n) }},
		{"preScore", b.ps.PreScore, func(n string) bool { return slices.ContainsFunc(b.scores, func(e entry) bool { return e.name == n }) }},
	} {
		for j, r := range pt.set.Enabled {
			rp := b.path.Child("plugins", pt.name, "enabled").Index(j).Child("name")
			if err := b.known(rp, r.Name); err != nil {
				return err
			}
			if !pt.in(r.Name) {
				return field.Invalid(rp, r.Name, "skiff runs a plugin's "+pt.name+" together with its "+pt.name[3:]+": enable it there")
			}
		}
	}
	return nil
}

// pluginConfig reads each plugin's args (once per plugin), and DefaultPreemption's into the
// profile.
func (b *profileBuilder) pluginConfig() error {
	for j, pc := range b.cp.PluginConfig {
		pcPath := b.path.Child("pluginConfig").Index(j)
		if err := b.known(pcPath.Child("name"), pc.Name); err != nil {
			return err
		}
		if _, dup := b.args[pc.Name]; dup {
			return field.Duplicate(pcPath.Child("name"), pc.Name)
		}
		b.args[pc.Name] = pc.Args
		if pc.Name == plugins.DefaultPreemptionName {
			if err := b.preemptionArgs(pc.Args, pcPath.Child("args")); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *profileBuilder) preemptionArgs(raw json.RawMessage, path *field.Path) error {
	var a defaultPreemptionArgs
	if err := strictJSON(raw, &a); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if a.MinCandidateNodesPercentage != nil {
		if v := *a.MinCandidateNodesPercentage; v < 0 || v > 100 {
			return field.Invalid(path.Child("minCandidateNodesPercentage"), v, "not in valid range [0, 100]")
		}
		b.p.minCandidatePercentage = *a.MinCandidateNodesPercentage
	}
	if a.MinCandidateNodesAbsolute != nil {
		if v := *a.MinCandidateNodesAbsolute; v < 0 {
			return field.Invalid(path.Child("minCandidateNodesAbsolute"), v, "not in valid range [0, inf)")
		}
		b.p.minCandidateAbsolute = *a.MinCandidateNodesAbsolute
	}
	return nil
}

// instance is the profile's one instance of plugin name, made on first use with its args
// (nil for a built-in point name such as DefaultBinder).
func (b *profileBuilder) instance(name string) (fw.Plugin, error) {
	if pl, ok := b.p.plugins[name]; ok {
		return pl, nil
	}
	f, ok := b.registry[name]
	if !ok {
		return nil, nil
	}
	pl, err := f(b.args[name], b.h)
	if err != nil {
		for j, pc := range b.cp.PluginConfig {
			if pc.Name == name {
				return nil, fmt.Errorf("%s: %w", b.path.Child("pluginConfig").Index(j).Child("args"), err)
			}
		}
		return nil, fmt.Errorf("%s: plugin %s: %w", b.path, name, err)
	}
	b.p.plugins[name] = pl
	return pl, nil
}

// assemble instantiates the filter and score plugins (with their pre-points) into the
// profile's framework.
func (b *profileBuilder) assemble() error {
	framework := &fw.Framework{Parallelizer: b.h.Parallelizer}
	for _, name := range b.filters {
		pl, err := b.instance(name)
		if err != nil {
			return err
		}
		f, ok := pl.(fw.FilterPlugin)
		if !ok {
			return field.Invalid(b.path.Child("plugins", "filter"), name, "plugin has no Filter")
		}
		framework.Filter = append(framework.Filter, f)
		if pf, ok := pl.(fw.PreFilterPlugin); ok {
			framework.PreFilter = append(framework.PreFilter, pf)
		}
		// skiff runs a filter's Reserve and PreBind with it (no separate point lists).
		if r, ok := pl.(fw.ReservePlugin); ok {
			framework.Reserve = append(framework.Reserve, r)
		}
		if pb, ok := pl.(fw.PreBindPlugin); ok {
			framework.PreBind = append(framework.PreBind, pb)
		}
	}
	for _, e := range b.scores {
		pl, err := b.instance(e.name)
		if err != nil {
			return err
		}
		s, ok := pl.(fw.ScorePlugin)
		if !ok {
			return field.Invalid(b.path.Child("plugins", "score"), e.name, "plugin has no Score")
		}
		framework.Score = append(framework.Score, fw.WeightedScore{ScorePlugin: s, Weight: e.weight})
		if ps, ok := pl.(fw.PreScorePlugin); ok {
			framework.PreScore = append(framework.PreScore, ps)
		}
	}
	b.p.framework = framework
	b.p.preemption = b.preemption
	return nil
}
