package defaulttolerationseconds_test

import (
	"context"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/defaulttolerationseconds"
)

func TestTolerationsAddedUnlessCovered(t *testing.T) {
	five := int64(5)
	cases := []struct {
		name  string
		have  []core.Toleration
		added []string // keys added
	}{
		{"none", nil, []string{core.TaintNodeNotReady, core.TaintNodeUnreachable}},
		{"not-ready tolerated already", []core.Toleration{{Key: core.TaintNodeNotReady, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute, TolerationSeconds: &five}},
			[]string{core.TaintNodeUnreachable}},
		{"tolerates everything", []core.Toleration{{Operator: core.TolerationOpExists}}, nil},
		{"NoSchedule only does not cover", []core.Toleration{{Key: core.TaintNodeUnreachable, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoSchedule}},
			[]string{core.TaintNodeNotReady, core.TaintNodeUnreachable}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &core.Pod{}
			p.Spec.Tolerations = append([]core.Toleration(nil), c.have...)
			if err := (defaulttolerationseconds.Plugin{}).Admit(context.Background(), &admission.Attributes{Operation: admission.Create, Object: p}); err != nil {
				t.Fatal(err)
			}
			added := p.Spec.Tolerations[len(c.have):]
			if len(added) != len(c.added) {
				t.Fatalf("added %+v, want keys %v", added, c.added)
			}
			for i, tol := range added {
				if tol.Key != c.added[i] || tol.Effect != core.TaintEffectNoExecute || tol.TolerationSeconds == nil || *tol.TolerationSeconds != 300 {
					t.Errorf("added %+v", tol)
				}
			}
		})
	}
	// Updates are left alone.
	p := &core.Pod{}
	_ = (defaulttolerationseconds.Plugin{}).Admit(context.Background(), &admission.Attributes{Operation: admission.Update, Object: p})
	if len(p.Spec.Tolerations) != 0 {
		t.Errorf("an update got tolerations: %+v", p.Spec.Tolerations)
	}
}
