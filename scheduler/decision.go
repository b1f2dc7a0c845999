package scheduler

import (
	"cmp"
	"encoding/json"
	"slices"

	"github.com/skiff-sh/skiff/api/scheduling"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// rejections counts the filter reasons of the nodes that failed (nil entries passed or were
// not tried), most frequent first, as FailedScheduling counts them.
func rejections(statuses []*fw.Status) []scheduling.Rejection {
	type key struct{ plugin, reason string }
	counts := map[key]int{}
	for _, st := range statuses {
		if st == nil {
			continue
		}
		for _, r := range st.Reasons() {
			counts[key{st.Plugin(), r}]++
		}
	}
	out := make([]scheduling.Rejection, 0, len(counts))
	for k, n := range counts {
		out = append(out, scheduling.Rejection{Plugin: k.plugin, Reason: k.reason, Nodes: n})
	}
	slices.SortFunc(out, func(a, b scheduling.Rejection) int {
		return cmp.Or(cmp.Compare(b.Nodes, a.Nodes), cmp.Compare(a.Reason, b.Reason))
	})
	return out
}

// topScores lists the chosen node (index chosen) and then the other best-scoring nodes,
// at most scheduling.MaxDecisionScores, with each plugin's share.
func topScores(nodes []*fw.NodeInfo, totals []int64, byPlugin []fw.PluginScores, chosen int) []scheduling.NodeScore {
	order := make([]int, 0, len(nodes))
	for i := range nodes {
		if i != chosen {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(totals[b], totals[a]) })
	order = append([]int{chosen}, order[:min(len(order), scheduling.MaxDecisionScores-1)]...)
	out := make([]scheduling.NodeScore, len(order))
	for i, n := range order {
		ns := scheduling.NodeScore{Node: nodes[n].Name(), Total: totals[n], Plugins: map[string]int64{}}
		for _, p := range byPlugin {
			ns.Plugins[p.Plugin] = p.Scores[n]
		}
		out[i] = ns
	}
	return out
}

// decisionAnnotation is the Binding's annotations carrying d (nil when d is nil).
func decisionAnnotation(d *scheduling.Decision) map[string]string {
	if d == nil || d.Node == "" {
		return nil
	}
	data, err := json.Marshal(d)
	if err != nil {
		return nil // cannot happen: plain fields only
	}
	return map[string]string{scheduling.DecisionAnnotation: string(data)}
}

// countEqual counts the scores equal to v.
func countEqual(scores []int64, v int64) int {
	n := 0
	for _, s := range scores {
		if s == v {
			n++
		}
	}
	return n
}
