package nodeaffinity

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func node(name string, labels map[string]string) *core.Node {
	return &core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: labels}}
}

func expr(key string, op core.NodeSelectorOperator, values ...string) core.NodeSelectorRequirement {
	return core.NodeSelectorRequirement{Key: key, Operator: op, Values: values}
}

func podWith(sel map[string]string, terms ...core.NodeSelectorTerm) *core.Pod {
	p := &core.Pod{Spec: core.PodSpec{NodeSelector: sel}}
	if terms != nil {
		p.Spec.Affinity = &core.Affinity{NodeAffinity: &core.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &core.NodeSelector{NodeSelectorTerms: terms}}}
	}
	return p
}

func TestRequiredNodeAffinity(t *testing.T) {
	n := node("n1", map[string]string{"zone": "a", "cores": "8"})
	type T = core.NodeSelectorTerm
	tests := []struct {
		name    string
		pod     *core.Pod
		want    bool
		wantErr bool
	}{
		{"no constraints", podWith(nil), true, false},
		{"nodeSelector matches", podWith(map[string]string{"zone": "a"}), true, false},
		{"nodeSelector other value", podWith(map[string]string{"zone": "b"}), false, false},
		{"nodeSelector missing label", podWith(map[string]string{"gpu": ""}), false, false},
		{"In", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "a", "b")}}), true, false},
		{"NotIn on missing label passes", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("gpu", core.NodeSelectorOpNotIn, "x")}}), true, false},
		{"Exists", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpExists)}}), true, false},
		{"DoesNotExist", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpDoesNotExist)}}), false, false},
		{"Gt", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("cores", core.NodeSelectorOpGt, "4")}}), true, false},
		{"Lt", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("cores", core.NodeSelectorOpLt, "4")}}), false, false},
		{"Gt on missing label", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("mem", core.NodeSelectorOpGt, "4")}}), false, false},
		{"Gt not a number", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("cores", core.NodeSelectorOpGt, "four")}}), false, true},
		{"unknown operator", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", "Near", "a")}}), false, true},
		{"matchFields by name", podWith(nil, T{MatchFields: []core.NodeSelectorRequirement{expr(NodeNameField, core.NodeSelectorOpIn, "n1")}}), true, false},
		{"matchFields other name", podWith(nil, T{MatchFields: []core.NodeSelectorRequirement{expr(NodeNameField, core.NodeSelectorOpIn, "n2")}}), false, false},
		{"matchFields unsupported field", podWith(nil, T{MatchFields: []core.NodeSelectorRequirement{expr("spec.unschedulable", core.NodeSelectorOpIn, "x")}}), false, true},
		{"empty term matches nothing", podWith(nil, T{}), false, false},
		{"terms are ORed", podWith(nil, T{}, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "a")}}), true, false},
		{"requirements are ANDed", podWith(nil, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "a"), expr("cores", core.NodeSelectorOpLt, "2")}}), false, false},
		{"selector and affinity both apply", podWith(map[string]string{"zone": "b"}, T{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpExists)}}), false, false},
	}
	for _, tc := range tests {
		got, err := GetRequiredNodeAffinity(tc.pod).Match(n)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%s: Match = %v, %v; want %v, error %v", tc.name, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPreferredSchedulingTerms(t *testing.T) {
	terms := []core.PreferredSchedulingTerm{
		{Weight: 5, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpIn, "a")}}},
		{Weight: 3, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("disk", core.NodeSelectorOpExists)}}},
		{Weight: 0, Preference: core.NodeSelectorTerm{MatchExpressions: []core.NodeSelectorRequirement{expr("zone", core.NodeSelectorOpExists)}}},
	}
	p, err := NewPreferredSchedulingTerms(terms)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		labels map[string]string
		want   int64
	}{{nil, 0}, {map[string]string{"zone": "a"}, 5}, {map[string]string{"zone": "a", "disk": "ssd"}, 8}, {map[string]string{"zone": "b", "disk": ""}, 3}} {
		if got := p.Score(node("n", tc.labels)); got != tc.want {
			t.Errorf("Score(%v) = %d, want %d", tc.labels, got, tc.want)
		}
	}
}
