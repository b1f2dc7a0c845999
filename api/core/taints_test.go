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
