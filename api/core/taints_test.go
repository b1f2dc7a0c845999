package core

import "testing"

func TestFindMatchingUntoleratedTaint(t *testing.T) {
	gpu := Taint{Key: "gpu", Value: "yes", Effect: TaintEffectNoSchedule}
	soft := Taint{Key: "soft", Effect: TaintEffectPreferNoSchedule}
	evict := Taint{Key: "bad", Effect: TaintEffectNoExecute}
	tests := []struct {
		name    string
		taints  []Taint
		tols    []Toleration
		include func(*Taint) bool
		want    string // key of the untolerated taint, "" for none
	}{
		{"no taints", nil, nil, DoNotScheduleTaints, ""},
		{"untolerated NoSchedule", []Taint{gpu}, nil, DoNotScheduleTaints, "gpu"},
		{"tolerated by Equal", []Taint{gpu}, []Toleration{{Key: "gpu", Value: "yes"}}, DoNotScheduleTaints, ""},
		{"Equal with other value", []Taint{gpu}, []Toleration{{Key: "gpu", Value: "no"}}, DoNotScheduleTaints, "gpu"},
		{"Exists with empty key tolerates all", []Taint{gpu, evict}, []Toleration{{Operator: TolerationOpExists}}, nil, ""},
		{"effect must match", []Taint{gpu}, []Toleration{{Key: "gpu", Operator: TolerationOpExists, Effect: TaintEffectNoExecute}}, DoNotScheduleTaints, "gpu"},
		{"PreferNoSchedule not selected", []Taint{soft}, nil, DoNotScheduleTaints, ""},
		{"PreferNoSchedule with every taint", []Taint{soft}, nil, nil, "soft"},
		{"NoExecute filter skips NoSchedule", []Taint{gpu, evict}, nil, NoExecuteTaints, "bad"},
	}
	for _, tc := range tests {
		got, ok := FindMatchingUntoleratedTaint(tc.taints, tc.tols, tc.include)
		if ok != (tc.want != "") || (ok && got.Key != tc.want) {
			t.Errorf("%s: got %v %v, want %q", tc.name, got, ok, tc.want)
		}
	}
}

func TestMergeTolerations(t *testing.T) {
	sec := func(n int64) *int64 { return &n }
	a := Toleration{Key: "a", Operator: TolerationOpEqual, Value: "1", Effect: TaintEffectNoSchedule}
	aAny := Toleration{Key: "a", Operator: TolerationOpExists}
	all := Toleration{Operator: TolerationOpExists}
	b := Toleration{Key: "b", Operator: TolerationOpExists, Effect: TaintEffectNoExecute, TolerationSeconds: sec(60)}
	bLonger := Toleration{Key: "b", Operator: TolerationOpExists, Effect: TaintEffectNoExecute, TolerationSeconds: sec(300)}
	tests := []struct {
		name          string
		first, second []Toleration
		want          []Toleration
	}{
		{"disjoint: both kept in order", []Toleration{a}, []Toleration{b}, []Toleration{a, b}},
		{"equal: the first kept", []Toleration{a}, []Toleration{a}, []Toleration{a}},
		{"a superset in the second replaces the first's", []Toleration{a}, []Toleration{aAny}, []Toleration{aAny}},
		{"tolerate-everything swallows the rest", []Toleration{a, b}, []Toleration{all}, []Toleration{all}},
		{"a shorter NoExecute window is the narrower one", []Toleration{bLonger}, []Toleration{b}, []Toleration{bLonger}},
		{"nothing", nil, nil, nil},
	}
	for _, tc := range tests {
		got := MergeTolerations(tc.first, tc.second)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !tolerationsEqual(got[i], tc.want[i]) {
				t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
				break
			}
		}
	}
}
