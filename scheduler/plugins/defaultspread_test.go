package plugins

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// fakeWorkloads is a WorkloadLister over fixed objects.
type fakeWorkloads struct {
	services     []*core.Service
	replicaSets  []*apps.ReplicaSet
	statefulSets []*apps.StatefulSet
}

func (f *fakeWorkloads) Services(ns string) []*core.Service {
	var out []*core.Service
	for _, s := range f.services {
		if s.Namespace == ns {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeWorkloads) ReplicaSet(ns, name string) (*apps.ReplicaSet, bool) {
	for _, r := range f.replicaSets {
		if r.Namespace == ns && r.Name == name {
			return r, true
		}
	}
	return nil, false
}

func (f *fakeWorkloads) StatefulSet(ns, name string) (*apps.StatefulSet, bool) {
	for _, s := range f.statefulSets {
		if s.Namespace == ns && s.Name == name {
			return s, true
		}
	}
	return nil, false
}

func service(name string, sel map[string]string) *core.Service {
	return &core.Service{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"}, Spec: core.ServiceSpec{Selector: sel}}
}

func replicaSet(name string, sel map[string]string) *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec: apps.ReplicaSetSpec{Selector: &meta.LabelSelector{MatchLabels: sel}}}
}

func statefulSet(name string, sel map[string]string) *apps.StatefulSet {
	return &apps.StatefulSet{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec: apps.StatefulSetSpec{Selector: &meta.LabelSelector{MatchLabels: sel}}}
}

// ownedBy makes the pod a controlled dependent of kind/name (apps/v1).
func (b *podB) ownedBy(kind, name string) *podB {
	yes := true
	b.p.OwnerReferences = append(b.p.OwnerReferences, meta.OwnerReference{APIVersion: "apps/v1", Kind: kind, Name: name, UID: "uid-" + name, Controller: &yes})
	return b
}

func TestDefaultSelector(t *testing.T) {
	w := &fakeWorkloads{
		services: []*core.Service{
			service("web", map[string]string{"app": "web"}),
			service("web-canary", map[string]string{"app": "web", "track": "canary"}),
			service("headless-no-selector", nil),
			service("db", map[string]string{"app": "db"}),
		},
		replicaSets:  []*apps.ReplicaSet{replicaSet("web-1", map[string]string{"app": "web", "pod-template-hash": "1"})},
		statefulSets: []*apps.StatefulSet{statefulSet("store", map[string]string{"app": "store"})},
	}
	other := service("web", map[string]string{"app": "web"})
	other.Namespace = "other"
	w.services = append(w.services, other)
	tests := []struct {
		name string
		pod  *podB
		want string
	}{
		{"selected by nothing", pod("p").labels("app", "lonely"), ""},
		{"a Service", pod("p").labels("app", "web"), "app=web"},
		{"two Services merge", pod("p").labels("app", "web", "track", "canary"), "app=web,track=canary"},
		{"Service and ReplicaSet", pod("p").labels("app", "web", "pod-template-hash", "1").ownedBy("ReplicaSet", "web-1"), "app=web,app=web,pod-template-hash=1"},
		{"a StatefulSet", pod("p").labels("app", "store").ownedBy("StatefulSet", "store"), "app=store"},
		{"an unknown controller", pod("p").labels("app", "lonely").ownedBy("ReplicaSet", "gone"), ""},
		{"a controller of another kind", pod("p").labels("app", "lonely").ownedBy("DaemonSet", "ds"), ""},
		{"other namespaces' Services do not count", pod("p").ns("kube-system").labels("app", "web"), ""},
	}
	for _, tc := range tests {
		if got := DefaultSelector(tc.pod.p, w).String(); got != tc.want {
			t.Errorf("%s: selector %q, want %q", tc.name, got, tc.want)
		}
	}
	if !DefaultSelector(pod("p").labels("app", "web").p, nil).Empty() {
		t.Error("no lister: the selector must be empty")
	}
}

func TestPodTopologySpreadSystemDefaults(t *testing.T) {
	w := &fakeWorkloads{replicaSets: []*apps.ReplicaSet{replicaSet("web-1", map[string]string{"app": "web"})}}
	p, err := NewPodTopologySpread(PodTopologySpreadArgs{}, Handle{Parallelizer: fw.Parallelizer{Workers: 1}, Workloads: w})
	if err != nil {
		t.Fatal(err)
	}
	replica := func(name string) *podB { return pod(name).labels("app", "web").ownedBy("ReplicaSet", "web-1") }
	// Identical nodes without zone labels; n1 already runs two replicas, n2 one, n3 none (but
	// pods of other apps).
	snap := fw.NewSnapshot(
		node("n1").info(replica("r1"), replica("r2")),
		node("n2").info(replica("r3")),
		node("n3").info(pod("x1").labels("app", "other"), pod("x2").labels("app", "web").ns("elsewhere")),
	)
	got := scoreAll(t, p, replica("new").info(), snap)
	if !(got[2] == fw.MaxNodeScore && got[1] < got[2] && got[0] < got[1]) {
		t.Errorf("scores n1, n2, n3 = %v; want n3 (no replica) best, then n2, then n1", got)
	}

	// Not selected by anything: no default constraints, every node alike.
	if got := scoreAll(t, p, pod("loner").labels("app", "web").info(), snap); slices.Max(got) != 0 {
		t.Errorf("a pod without Services or controller scored %v, want no scores", got)
	}
	// A pod's own constraints replace the defaults (here: DoNotSchedule only, nothing to score).
	own := replica("own").spec(func(s *core.PodSpec) {
		s.TopologySpreadConstraints = []core.TopologySpreadConstraint{constraint(1, "zone", core.DoNotSchedule, map[string]string{"app": "web"})}
	})
	if got := scoreAll(t, p, own.info(), snap); slices.Max(got) != 0 {
		t.Errorf("a pod with its own constraints scored %v by the defaults", got)
	}
	// The system defaults never filter.
	if got := filterAll(t, p, replica("f").info(), snap); !slices.Equal(got, []string{"", "", ""}) {
		t.Errorf("filter: %q", got)
	}

	// Zones count too, where nodes have them; a node without a zone is still scored, by hostname
	// only (which, as in Kubernetes, puts it ahead: it has no zone term at all). Raw scores,
	// count·log(domains+2) + maxSkew-1 per constraint: a1 1·log6+2 + 1·log5+4 = 9, a2 8, b1 6,
	// nozone 2; normalized 100·(max+min-s)/max.
	zoned := fw.NewSnapshot(
		node("a1").labels(core.LabelTopologyZone, "a").info(replica("z1")),
		node("a2").labels(core.LabelTopologyZone, "a").info(),
		node("b1").labels(core.LabelTopologyZone, "b").info(),
		node("nozone").info(),
	)
	got = scoreAll(t, p, replica("new").info(), zoned)
	if want := []int64{22, 33, 55, 100}; !slices.Equal(got, want) {
		t.Errorf("scores a1, a2, b1, nozone = %v; want %v", got, want)
	}
}

func TestPodTopologySpreadListDefaults(t *testing.T) {
	w := &fakeWorkloads{services: []*core.Service{service("web", map[string]string{"app": "web"})}}
	h := Handle{Parallelizer: fw.Parallelizer{Workers: 1}, Workloads: w}
	p, err := NewPodTopologySpread(PodTopologySpreadArgs{DefaultingType: ListDefaulting,
		DefaultConstraints: []core.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: core.LabelHostname, WhenUnsatisfiable: core.DoNotSchedule}}}, h)
	if err != nil {
		t.Fatal(err)
	}
	snap := fw.NewSnapshot(node("n1").info(pod("w1").labels("app", "web")), node("n2").info())
	const skew = "Unschedulable: " + ReasonTopologyMismatch
	if got := filterAll(t, p, pod("p").labels("app", "web").info(), snap); !slices.Equal(got, []string{skew, ""}) {
		t.Errorf("filter with a DoNotSchedule default: %q", got)
	}
	if got := filterAll(t, p, pod("p").labels("app", "db").info(), snap); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("a pod no Service selects: %q", got)
	}
	// List without constraints: no defaults at all.
	p, err = NewPodTopologySpread(PodTopologySpreadArgs{DefaultingType: ListDefaulting}, h)
	if err != nil {
		t.Fatal(err)
	}
	if got := scoreAll(t, p, pod("p").labels("app", "web").info(), snap); slices.Max(got) != 0 {
		t.Errorf("List without constraints scored %v", got)
	}
}

func TestPodTopologySpreadArgs(t *testing.T) {
	c := func(maxSkew int32, key string, action core.UnsatisfiableConstraintAction) core.TopologySpreadConstraint {
		return core.TopologySpreadConstraint{MaxSkew: maxSkew, TopologyKey: key, WhenUnsatisfiable: action}
	}
	tests := []struct {
		args PodTopologySpreadArgs
		err  string
	}{
		{PodTopologySpreadArgs{}, ""},
		{PodTopologySpreadArgs{DefaultingType: SystemDefaulting}, ""},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{c(1, "zone", core.ScheduleAnyway)}}, ""},
		{PodTopologySpreadArgs{DefaultingType: "Sometimes"}, `defaultingType: Unsupported value: "Sometimes"`},
		{PodTopologySpreadArgs{DefaultConstraints: []core.TopologySpreadConstraint{c(1, "zone", core.ScheduleAnyway)}}, "must be empty"},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{c(0, "zone", core.ScheduleAnyway)}}, "defaultConstraints[0].maxSkew"},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{c(1, "", core.ScheduleAnyway)}}, "defaultConstraints[0].topologyKey"},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{c(1, "zone", "Maybe")}}, "defaultConstraints[0].whenUnsatisfiable"},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{
			constraint(1, "zone", core.ScheduleAnyway, map[string]string{"a": "b"})}}, "defaultConstraints[0].labelSelector: Forbidden"},
		{PodTopologySpreadArgs{DefaultingType: ListDefaulting, DefaultConstraints: []core.TopologySpreadConstraint{
			c(1, "zone", core.ScheduleAnyway), c(2, "zone", core.ScheduleAnyway)}}, "defaultConstraints[1]: Duplicate value"},
	}
	for i, tc := range tests {
		_, err := NewPodTopologySpread(tc.args, Handle{})
		got := fmt.Sprint(err)
		if err == nil {
			got = ""
		}
		if (tc.err == "") != (got == "") || !strings.Contains(got, tc.err) {
			t.Errorf("%d: error %q, want one containing %q", i, got, tc.err)
		}
	}
}
