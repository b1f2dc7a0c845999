package plugins

import (
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

func constraint(maxSkew int32, key string, action core.UnsatisfiableConstraintAction, sel map[string]string) core.TopologySpreadConstraint {
	return core.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action,
		LabelSelector: &meta.LabelSelector{MatchLabels: sel}}
}

func TestPodTopologySpreadFilter(t *testing.T) {
	app := map[string]string{"app": "x"}
	x := func(name string) *podB { return pod(name).labels("app", "x") }
	terminating := x("gone")
	terminating.p.DeletionTimestamp = &meta.Time{Time: time.Now()}
	// Zone a holds two matching pods (plus ones that must not count), zone b one.
	snapshot := func() *fw.Snapshot {
		return fw.NewSnapshot(
			node("a1").labels("zone", "a").info(x("x1"), x("x2"), x("other-ns").ns("kube-system"), terminating),
			node("a2").labels("zone", "a").info(pod("unrelated").labels("app", "y")),
			node("b1").labels("zone", "b").info(x("x3")),
			node("nozone").info(),
		)
	}
	spreadPod := func(cs ...core.TopologySpreadConstraint) *podB {
		return x("p").spec(func(s *core.PodSpec) { s.TopologySpreadConstraints = cs })
	}
	const skew = "Unschedulable: " + ReasonTopologyMismatch
	const noLabel = "Unresolvable: " + ReasonTopologyNoLabel
	tests := []struct {
		name string
		pod  *podB
		want []string // a1, a2, b1, nozone
	}{
		{"no constraints", x("p"), []string{"", "", "", ""}},
		{"ScheduleAnyway never filters", spreadPod(constraint(1, "zone", core.ScheduleAnyway, app)), []string{"", "", "", ""}},
		{"maxSkew 1 over zones", spreadPod(constraint(1, "zone", core.DoNotSchedule, app)), []string{skew, skew, "", noLabel}},
		{"maxSkew 2 allows zone a", spreadPod(constraint(2, "zone", core.DoNotSchedule, app)), []string{"", "", "", noLabel}},
		{"a pod its selector does not match adds nothing", spreadPod(constraint(1, "zone", core.DoNotSchedule, map[string]string{"app": "y"})),
			[]string{"", "", "", noLabel}},
		{"minDomains above the domain count makes the minimum 0", spreadPod(func() core.TopologySpreadConstraint {
			c := constraint(1, "zone", core.DoNotSchedule, app)
			c.MinDomains = ptrTo(int32(3))
			return c
		}()), []string{skew, skew, skew, noLabel}},
		{"per host", spreadPod(constraint(1, core.LabelHostname, core.DoNotSchedule, app)), []string{skew, "", skew, ""}},
		{"nodeAffinityPolicy Honor counts only nodes the pod may use", spreadPod(constraint(1, "zone", core.DoNotSchedule, app)).
			spec(func(s *core.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }), []string{"", "", "", noLabel}},
		{"nodeAffinityPolicy Ignore counts every node", spreadPod(func() core.TopologySpreadConstraint {
			c := constraint(1, "zone", core.DoNotSchedule, app)
			c.NodeAffinityPolicy = ptrTo(core.NodeInclusionPolicyIgnore)
			return c
		}()).spec(func(s *core.PodSpec) { s.NodeSelector = map[string]string{"zone": "a"} }), []string{skew, skew, "", noLabel}},
		{"matchLabelKeys narrow the selector to the pod's values", spreadPod(func() core.TopologySpreadConstraint {
			c := constraint(1, "zone", core.DoNotSchedule, map[string]string{})
			c.MatchLabelKeys = []string{"app"}
			return c
		}()), []string{skew, skew, "", noLabel}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &PodTopologySpread{parallel: fw.Parallelizer{Workers: 2}}
			if got := filterAll(t, p, tc.pod.info(), snapshot()); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPodTopologySpreadScore(t *testing.T) {
	app := map[string]string{"app": "x"}
	x := func(name string) *podB { return pod(name).labels("app", "x") }
	snap := fw.NewSnapshot(
		node("a1").labels("zone", "a").info(x("x1"), x("x2")),
		node("b1").labels("zone", "b").info(x("x3")),
		node("c1").labels("zone", "c").info(),
		node("nozone").info(),
	)
	p := &PodTopologySpread{parallel: fw.Parallelizer{Workers: 1}}
	got := scoreAll(t, p, x("p").spec(func(s *core.PodSpec) {
		s.TopologySpreadConstraints = []core.TopologySpreadConstraint{constraint(1, "zone", core.ScheduleAnyway, app)}
	}).info(), snap)
	// The emptiest zone scores best; a node without the key gets 0.
	if !(got[2] > got[1] && got[1] > got[0] && got[3] == 0 && got[2] == fw.MaxNodeScore) {
		t.Fatalf("scores a1, b1, c1, nozone = %v; want c1 (empty) > b1 > a1, nozone 0", got)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestInterPodAffinityFilter(t *testing.T) {
	snapshot := func() *fw.Snapshot {
		antiWeb := pod("guard").spec(func(s *core.PodSpec) {
			s.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{
				{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: core.LabelHostname}}}}
		})
		return fw.NewSnapshot(
			node("n1").labels("zone", "a").info(pod("db").labels("app", "db")),
			node("n2").labels("zone", "a").info(antiWeb),
			node("n3").labels("zone", "b").info(),
		)
	}
	term := func(app, key string) core.PodAffinityTerm {
		return core.PodAffinityTerm{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: key}
	}
	affine := func(terms ...core.PodAffinityTerm) func(*core.PodSpec) {
		return func(s *core.PodSpec) {
			s.Affinity = &core.Affinity{PodAffinity: &core.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
		}
	}
	anti := func(terms ...core.PodAffinityTerm) func(*core.PodSpec) {
		return func(s *core.PodSpec) {
			s.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
		}
	}
	const (
		noAff  = "Unresolvable: " + ReasonAffinityMismatch
		noAnti = "Unschedulable: " + ReasonAntiAffinity
		guard  = "Unschedulable: " + ReasonExistingAntiAffine
	)
	tests := []struct {
		name string
		pod  *podB
		want []string // n1, n2, n3
	}{
		{"nothing asked", pod("p"), []string{"", "", ""}},
		{"affinity by zone", pod("p").spec(affine(term("db", "zone"))), []string{"", "", noAff}},
		{"affinity by host", pod("p").spec(affine(term("db", core.LabelHostname))), []string{"", noAff, noAff}},
		{"affinity to pods that do not exist", pod("p").spec(affine(term("cache", "zone"))), []string{noAff, noAff, noAff}},
		{"the first pod of a self-affine group goes anywhere", pod("p").labels("app", "cache").spec(affine(term("cache", "zone"))), []string{"", "", ""}},
		{"affinity only looks in the pod's namespace", pod("p").ns("other").spec(affine(term("db", "zone"))), []string{noAff, noAff, noAff}},
		{"an empty namespaceSelector looks everywhere", pod("p").ns("other").spec(affine(func() core.PodAffinityTerm {
			tm := term("db", "zone")
			tm.NamespaceSelector = &meta.LabelSelector{}
			return tm
		}())), []string{"", "", noAff}},
		{"anti-affinity by zone", pod("p").spec(anti(term("db", "zone"))), []string{noAnti, noAnti, ""}},
		{"existing pods' anti-affinity to the incoming pod", pod("p").labels("app", "web"), []string{"", guard, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &InterPodAffinity{parallel: fw.Parallelizer{Workers: 2}, hardWeight: 1}
			if got := filterAll(t, p, tc.pod.info(), snapshot()); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInterPodAffinityScore(t *testing.T) {
	prefers := func(app string, weight int32) *podB {
		return pod("fan").spec(func(s *core.PodSpec) {
			s.Affinity = &core.Affinity{PodAffinity: &core.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []core.WeightedPodAffinityTerm{
				{Weight: weight, PodAffinityTerm: core.PodAffinityTerm{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{"app": app}}, TopologyKey: "zone"}}}}}
		})
	}
	avoids := pod("loner").spec(func(s *core.PodSpec) {
		s.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []core.WeightedPodAffinityTerm{
			{Weight: 50, PodAffinityTerm: core.PodAffinityTerm{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, TopologyKey: "zone"}}}}}
	})
	snapshot := func() *fw.Snapshot {
		return fw.NewSnapshot(
			node("a1").labels("zone", "a").info(pod("db").labels("app", "db")),
			node("a2").labels("zone", "a").info(),
			node("b1").labels("zone", "b").info(prefers("web", 80).labels("app", "fan")),
		)
	}
	tests := []struct {
		name string
		pod  *podB
		want []int64
	}{
		{"preferred affinity", prefers("db", 10), []int64{100, 100, 0}},
		{"preferred anti-affinity", avoids, []int64{0, 0, 100}},
		{"placed pods' preferences count for the incoming pod", pod("web").labels("app", "web"), []int64{0, 0, 100}},
		{"nothing to say", pod("quiet"), []int64{0, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &InterPodAffinity{parallel: fw.Parallelizer{Workers: 2}, hardWeight: 1}
			if got := scoreAll(t, p, tc.pod.info(), snapshot()); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPreFilterExtensions: adding and removing a pod through the extensions gives the same
// verdicts as building the state with (or without) that pod in the first place, which is what
// preemption and nominated pods rely on.
func TestPreFilterExtensions(t *testing.T) {
	victim := pod("victim").labels("app", "x")
	build := func(with bool) *fw.Snapshot {
		var pods []*podB
		if with {
			pods = append(pods, victim)
		}
		return fw.NewSnapshot(node("a1").labels("zone", "a").info(pods...), node("b1").labels("zone", "b").info())
	}
	incoming := pod("p").labels("app", "x").spec(func(s *core.PodSpec) {
		s.TopologySpreadConstraints = []core.TopologySpreadConstraint{constraint(1, "zone", core.DoNotSchedule, map[string]string{"app": "x"})}
		s.Affinity = &core.Affinity{PodAntiAffinity: &core.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []core.PodAffinityTerm{
			{LabelSelector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "x"}}, TopologyKey: core.LabelHostname}}}}
	}).info()
	for _, plugin := range []interface {
		fw.PreFilterPlugin
		fw.FilterPlugin
		fw.PreFilterExtensions
	}{
		&PodTopologySpread{parallel: fw.Parallelizer{Workers: 1}},
		&InterPodAffinity{parallel: fw.Parallelizer{Workers: 1}, hardWeight: 1},
	} {
		t.Run(plugin.Name(), func(t *testing.T) {
			without := filterAll(t, plugin, incoming, build(false))
			with := filterAll(t, plugin, incoming, build(true))
			if slices.Equal(with, without) {
				t.Fatalf("the victim should change the verdicts; both %q", with)
			}
			// State built with the victim, then the victim removed through the extension.
			snap := build(true)
			state := fw.NewCycleState(snap, nil)
			plugin.PreFilter(t.Context(), state, incoming)
			vi := snap.NodeInfoList[0].Pods[0]
			a1 := snap.NodeInfoList[0].Clone()
			a1.RemovePod(vi.Pod)
			plugin.RemovePod(state, incoming, vi, a1)
			got := []string{statusString(plugin.Filter(t.Context(), state, incoming, a1)), statusString(plugin.Filter(t.Context(), state, incoming, snap.NodeInfoList[1]))}
			if !slices.Equal(got, without) {
				t.Fatalf("after RemovePod: %q, want %q", got, without)
			}
			a1.AddPod(vi)
			plugin.AddPod(state, incoming, vi, a1)
			got = []string{statusString(plugin.Filter(t.Context(), state, incoming, a1)), statusString(plugin.Filter(t.Context(), state, incoming, snap.NodeInfoList[1]))}
			if !slices.Equal(got, with) {
				t.Fatalf("after AddPod: %q, want %q", got, with)
			}
		})
	}
}
