package framework

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestParallelizerCoversEveryPieceOnce(t *testing.T) {
	for _, tc := range []struct{ pieces, workers int }{{0, 4}, {1, 4}, {7, 1}, {100, 3}, {5000, 16}} {
		seen := make([]atomic.Int32, tc.pieces)
		Parallelizer{Workers: tc.workers}.Until(context.Background(), tc.pieces, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if n := seen[i].Load(); n != 1 {
				t.Fatalf("%d pieces on %d workers: piece %d ran %d times", tc.pieces, tc.workers, i, n)
			}
		}
	}
}

// fixedScore scores nodes by a table and normalizes by DefaultNormalizeScore.
type fixedScore struct {
	name    string
	scores  map[string]int64
	reverse bool
}

func (f fixedScore) Name() string { return f.name }
func (f fixedScore) Score(_ context.Context, _ *CycleState, _ *PodInfo, n *NodeInfo) (int64, *Status) {
	return f.scores[n.Name()], nil
}
func (f fixedScore) NormalizeScore(_ *CycleState, _ *PodInfo, _ []*NodeInfo, scores []int64) {
	DefaultNormalizeScore(scores, f.reverse)
}

func nodeInfo(name string) *NodeInfo {
	n := NewNodeInfo()
	n.SetNode(&core.Node{ObjectMeta: meta.ObjectMeta{Name: name}})
	return n
}

func TestRunScorePluginsNormalizesAndWeighs(t *testing.T) {
	nodes := []*NodeInfo{nodeInfo("a"), nodeInfo("b"), nodeInfo("c")}
	f := &Framework{Parallelizer: Parallelizer{Workers: 2}, Score: []WeightedScore{
		{ScorePlugin: fixedScore{name: "more", scores: map[string]int64{"a": 2, "b": 4, "c": 0}}, Weight: 1},
		{ScorePlugin: fixedScore{name: "fewer", scores: map[string]int64{"a": 1, "b": 0, "c": 1}, reverse: true}, Weight: 3},
	}}
	state := NewCycleState(NewSnapshot(nodes...), nil)
	got, byPlugin, st := f.RunScorePluginsDetailed(context.Background(), state, NewPodInfo(&core.Pod{}), nodes)
	if !st.IsSuccess() {
		t.Fatal(st.Message())
	}
	// "more": 50, 100, 0. "fewer" reversed: 0, 100, 0, times 3.
	if want := []int64{50, 400, 0}; !slices.Equal(got, want) {
		t.Fatalf("totals %v, want %v", got, want)
	}
	// Each plugin's share, weighted: what the scheduler's decision annotation explains.
	if len(byPlugin) != 2 || byPlugin[0].Plugin != "more" || !slices.Equal(byPlugin[0].Scores, []int64{50, 100, 0}) ||
		byPlugin[1].Plugin != "fewer" || !slices.Equal(byPlugin[1].Scores, []int64{0, 300, 0}) {
		t.Fatalf("per plugin %+v", byPlugin)
	}
	if totals, st := f.RunScorePlugins(context.Background(), state, NewPodInfo(&core.Pod{}), nodes); !st.IsSuccess() || !slices.Equal(totals, got) {
		t.Fatalf("RunScorePlugins %v, want %v", totals, got)
	}
}

// rejectIfCrowded rejects a node holding more than max pods; it has PreFilter extensions that
// count nominated pods.
type rejectIfCrowded struct{ max int }

func (rejectIfCrowded) Name() string { return "Crowded" }
func (r rejectIfCrowded) Filter(_ context.Context, _ *CycleState, _ *PodInfo, n *NodeInfo) *Status {
	if len(n.Pods) >= r.max {
		return NewStatus(Unschedulable, "crowded")
	}
	return nil
}

func TestFilterWithNominatedPods(t *testing.T) {
	f := &Framework{Filter: []FilterPlugin{rejectIfCrowded{max: 1}}}
	n := nodeInfo("a")
	pod := NewPodInfo(&core.Pod{ObjectMeta: meta.ObjectMeta{UID: "p"}})
	nominated := NewPodInfo(&core.Pod{ObjectMeta: meta.ObjectMeta{UID: "n"}})
	state := NewCycleState(NewSnapshot(n), nil)
	if st := f.RunFilterPluginsWithNominatedPods(context.Background(), state, pod, n, nil); !st.IsSuccess() {
		t.Fatalf("empty node rejected: %s", st.Message())
	}
	st := f.RunFilterPluginsWithNominatedPods(context.Background(), state, pod, n, []*PodInfo{nominated})
	if st.Code() != Unschedulable || st.Plugin() != "Crowded" {
		t.Fatalf("with a nominated pod: %v %q from %q", st.Code(), st.Message(), st.Plugin())
	}
	if len(n.Pods) != 0 {
		t.Fatal("the nominated pod was added to the node itself, not to a copy")
	}
}

func TestMemo(t *testing.T) {
	var m Memo
	if _, ok := m.Load(1, "a"); ok {
		t.Fatal("empty memo answered")
	}
	m.Store(1, "a", true)
	if v, ok := m.Load(1, "a"); !ok || !v {
		t.Fatalf("stored answer: %v %v", v, ok)
	}
	// Another key with the same hash is a miss, never the other key's answer.
	if _, ok := m.Load(1, "b"); ok {
		t.Fatal("a hash collision returned the other key's answer")
	}
	m.Store(1, "b", false)
	if v, ok := m.Load(1, "b"); !ok || v {
		t.Fatalf("after overwrite: %v %v", v, ok)
	}
}

func TestLabelsKeyAndTermKey(t *testing.T) {
	pod := func(ns string, labels map[string]string) *PodInfo {
		return NewPodInfo(&core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: ns, Labels: labels}})
	}
	a := pod("default", map[string]string{"app": "web", "tier": "fe"})
	b := pod("default", map[string]string{"tier": "fe", "app": "web"})
	c := pod("other", map[string]string{"app": "web", "tier": "fe"})
	d := pod("default", map[string]string{"app": "webtier", "": "fe"})
	if a.LabelsKey != b.LabelsKey || a.LabelsHash != b.LabelsHash {
		t.Fatal("equal label sets have different keys")
	}
	if a.LabelsKey == c.LabelsKey || a.LabelsKey == d.LabelsKey {
		t.Fatal("different namespaces or labels share a key")
	}
}
