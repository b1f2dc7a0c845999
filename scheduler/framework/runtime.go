package framework

import (
	"context"
	"fmt"
)

// WeightedScore is a score plugin with the weight its profile gives it.
type WeightedScore struct {
	ScorePlugin
	Weight int64
}

// Framework runs one profile's plugins at each extension point, in order.
type Framework struct {
	PreFilter []PreFilterPlugin
	Filter    []FilterPlugin
	PreScore  []PreScorePlugin
	Score     []WeightedScore
	Reserve   []ReservePlugin
	PreBind   []PreBindPlugin
	// Parallelizer bounds the goroutines used per extension point.
	Parallelizer Parallelizer
}

// RunPreFilterPlugins runs every PreFilter; plugins that answer Skip are recorded so that their
// Filter is not called. A rejection is returned as is (every node then fails with it).
func (f *Framework) RunPreFilterPlugins(ctx context.Context, state *CycleState, pod *PodInfo) *Status {
	state.SkipFilter = nil
	for _, p := range f.PreFilter {
		s := p.PreFilter(ctx, state, pod)
		switch {
		case s.IsSkip():
			if state.SkipFilter == nil {
				state.SkipFilter = map[string]bool{}
			}
			state.SkipFilter[p.Name()] = true
		case !s.IsSuccess():
			if s.Code() == Error {
				return AsStatus(fmt.Errorf("running PreFilter plugin %q: %w", p.Name(), s.Err())).WithPlugin(p.Name())
			}
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunFilterPlugins runs the Filters on one node and returns the first non-success, tagged
// with its plugin. Safe to call in parallel for different nodes.
func (f *Framework) RunFilterPlugins(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo) *Status {
	for _, p := range f.Filter {
		if state.SkipFilter[p.Name()] {
			continue
		}
		if s := p.Filter(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunFilterPluginsWithNominatedPods runs the Filters as if the given nominated pods (pods of at
// least this pod's priority that preempted room on the node and wait for it) were already
// there, and then, if that passed, also without them: the pod must fit both when they do
// arrive and if they never do (a pod that has affinity to a nominated pod must not rely on it).
func (f *Framework) RunFilterPluginsWithNominatedPods(ctx context.Context, state *CycleState, pod *PodInfo, node *NodeInfo, nominated []*PodInfo) *Status {
	if len(nominated) == 0 {
		return f.RunFilterPlugins(ctx, state, pod, node)
	}
	withNominated, stateWith := node.Clone(), state.Clone()
	for _, np := range nominated {
		withNominated.AddPod(np)
		f.RunPreFilterExtensionAddPod(stateWith, pod, np, withNominated)
	}
	if s := f.RunFilterPlugins(ctx, stateWith, pod, withNominated); !s.IsSuccess() {
		return s
	}
	return f.RunFilterPlugins(ctx, state, pod, node)
}

// RunPreFilterExtensionAddPod tells the plugins that added now runs on node.
func (f *Framework) RunPreFilterExtensionAddPod(state *CycleState, pod, added *PodInfo, node *NodeInfo) {
	for _, p := range f.PreFilter {
		if ext, ok := p.(PreFilterExtensions); ok && !state.SkipFilter[p.Name()] {
			ext.AddPod(state, pod, added, node)
		}
	}
}

// RunPreFilterExtensionRemovePod tells the plugins that removed no longer runs on node.
func (f *Framework) RunPreFilterExtensionRemovePod(state *CycleState, pod, removed *PodInfo, node *NodeInfo) {
	for _, p := range f.PreFilter {
		if ext, ok := p.(PreFilterExtensions); ok && !state.SkipFilter[p.Name()] {
			ext.RemovePod(state, pod, removed, node)
		}
	}
}

// RunPreScorePlugins runs every PreScore over the feasible nodes.
func (f *Framework) RunPreScorePlugins(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status {
	state.SkipScore = nil
	for _, p := range f.PreScore {
		s := p.PreScore(ctx, state, pod, nodes)
		switch {
		case s.IsSkip():
			if state.SkipScore == nil {
				state.SkipScore = map[string]bool{}
			}
			state.SkipScore[p.Name()] = true
		case !s.IsSuccess():
			return AsStatus(fmt.Errorf("running PreScore plugin %q: %s", p.Name(), s.Message())).WithPlugin(p.Name())
		}
	}
	return nil
}

// PluginScores is one plugin's normalized, weighted scores (for explaining a decision).
type PluginScores struct {
	Plugin string
	Scores []int64
}

// RunScorePlugins scores every node with every score plugin (in parallel over nodes),
// normalizes each plugin's scores, applies the weights and returns each node's total.
func (f *Framework) RunScorePlugins(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) ([]int64, *Status) {
	totals, _, st := f.RunScorePluginsDetailed(ctx, state, pod, nodes)
	return totals, st
}

// RunScorePluginsDetailed is RunScorePlugins that also returns each plugin's normalized,
// weighted scores (the totals are their sums), for explaining a decision.
func (f *Framework) RunScorePluginsDetailed(ctx context.Context, state *CycleState, pod *PodInfo, nodes []*NodeInfo) ([]int64, []PluginScores, *Status) {
	totals := make([]int64, len(nodes))
	active := make([]WeightedScore, 0, len(f.Score))
	for _, p := range f.Score {
		if !state.SkipScore[p.Name()] {
			active = append(active, p)
		}
	}
	if len(active) == 0 {
		return totals, nil, nil
	}
	scores := make([][]int64, len(active))
	for i := range scores {
		scores[i] = make([]int64, len(nodes))
	}
	var firstErr atomicStatus
	f.Parallelizer.Until(ctx, len(nodes), func(n int) {
		for i, p := range active {
			s, st := p.Score(ctx, state, pod, nodes[n])
			if !st.IsSuccess() {
				firstErr.set(st.WithPlugin(p.Name()))
				return
			}
			scores[i][n] = s
		}
	})
	if s := firstErr.get(); s != nil {
		return nil, nil, AsStatus(fmt.Errorf("running Score plugin %q: %s", s.Plugin(), s.Message()))
	}
	byPlugin := make([]PluginScores, len(active))
	for i, p := range active {
		if norm, ok := p.ScorePlugin.(ScoreNormalizer); ok {
			norm.NormalizeScore(state, pod, nodes, scores[i])
		}
		for n := range scores[i] {
			scores[i][n] *= p.Weight
			totals[n] += scores[i][n]
		}
		byPlugin[i] = PluginScores{Plugin: p.Name(), Scores: scores[i]}
	}
	return totals, byPlugin, nil
}

// DefaultNormalizeScore scales scores to 0..MaxNodeScore by the largest one, reversed
// (MaxNodeScore - scaled) when reverse is set, as Kubernetes' helper does.
func DefaultNormalizeScore(scores []int64, reverse bool) {
	var maxScore int64
	for _, s := range scores {
		maxScore = max(maxScore, s)
	}
	if maxScore == 0 {
		if reverse {
			for i := range scores {
				scores[i] = MaxNodeScore
			}
		}
		return
	}
	for i, s := range scores {
		s = MaxNodeScore * s / maxScore
		if reverse {
			s = MaxNodeScore - s
		}
		scores[i] = s
	}
}

// RunReservePlugins runs every Reserve; on a failure the ones that succeeded are undone.
func (f *Framework) RunReservePlugins(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status {
	for i, p := range f.Reserve {
		if s := p.Reserve(ctx, state, pod, node); !s.IsSuccess() {
			for j := i - 1; j >= 0; j-- {
				f.Reserve[j].Unreserve(ctx, state, pod, node)
			}
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}

// RunUnreservePlugins undoes every Reserve, in reverse order.
func (f *Framework) RunUnreservePlugins(ctx context.Context, state *CycleState, pod *PodInfo, node string) {
	for i := len(f.Reserve) - 1; i >= 0; i-- {
		f.Reserve[i].Unreserve(ctx, state, pod, node)
	}
}

// RunPreBindPlugins runs every PreBind; the first failure stops them.
func (f *Framework) RunPreBindPlugins(ctx context.Context, state *CycleState, pod *PodInfo, node string) *Status {
	for _, p := range f.PreBind {
		if s := p.PreBind(ctx, state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(p.Name())
		}
	}
	return nil
}
