package nodelifecycle

import (
	"net/netip"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

func TestCIDRSet(t *testing.T) {
	s, err := newCIDRSet(netip.MustParsePrefix("10.244.0.0/22"), 24) // four /24s
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op, cidr, want string
	}{
		{"occupy", "10.244.1.0/24", ""},
		{"occupy", "192.168.0.0/24", ""}, // outside the range: ignored
		{"alloc", "", "10.244.0.0/24"},
		{"alloc", "", "10.244.2.0/24"},
		{"release", "10.244.0.0/24", ""},
		{"alloc", "", "10.244.3.0/24"}, // first free after the last one, not the one just released
		{"alloc", "", "10.244.0.0/24"},
		{"alloc", "", "error"},
	}
	for i, st := range steps {
		switch st.op {
		case "occupy":
			s.occupy(netip.MustParsePrefix(st.cidr))
		case "release":
			s.release(netip.MustParsePrefix(st.cidr))
		case "alloc":
			p, err := s.allocate()
			got := p.String()
			if err != nil {
				got = "error"
			}
			if got != st.want {
				t.Fatalf("step %d: allocated %s, want %s", i, got, st.want)
			}
		}
	}
	if _, err := newCIDRSet(netip.MustParsePrefix("10.244.0.0/16"), 8); err == nil {
		t.Error("a node mask wider than the cluster's must be refused")
	}
}

func TestTolerationTime(t *testing.T) {
	unreachable := core.Taint{Key: core.TaintNodeUnreachable, Effect: core.TaintEffectNoExecute}
	notReady := core.Taint{Key: core.TaintNodeNotReady, Effect: core.TaintEffectNoExecute}
	tol := func(key string, secs *int64) core.Toleration {
		return core.Toleration{Key: key, Operator: core.TolerationOpExists, Effect: core.TaintEffectNoExecute, TolerationSeconds: secs}
	}
	for _, tc := range []struct {
		name        string
		taints      []core.Taint
		tolerations []core.Toleration
		want        time.Duration
	}{
		{"not tolerated", []core.Taint{unreachable}, nil, 0},
		{"tolerated forever", []core.Taint{unreachable}, []core.Toleration{tol(core.TaintNodeUnreachable, nil)}, -1},
		{"tolerated 300s (the default tolerations)", []core.Taint{unreachable}, []core.Toleration{tol(core.TaintNodeUnreachable, controller.Ptr(int64(300)))}, 300 * time.Second},
		{"one of two not tolerated", []core.Taint{unreachable, notReady}, []core.Toleration{tol(core.TaintNodeUnreachable, nil)}, 0},
		{"the shortest wins", []core.Taint{unreachable, notReady},
			[]core.Toleration{tol(core.TaintNodeUnreachable, controller.Ptr(int64(60))), tol(core.TaintNodeNotReady, controller.Ptr(int64(10)))}, 10 * time.Second},
		{"negative means now", []core.Taint{unreachable}, []core.Toleration{tol(core.TaintNodeUnreachable, controller.Ptr(int64(-5)))}, 0},
		{"tolerate everything", []core.Taint{unreachable, notReady}, []core.Toleration{{Operator: core.TolerationOpExists}}, -1},
	} {
		if got := tolerationTime(tc.taints, tc.tolerations); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
