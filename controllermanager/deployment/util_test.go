package deployment

import (
	"fmt"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

func TestResolveFenceposts(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable string
		desired            int32
		wantSurge, wantU   int32
	}{
		{"25%", "25%", 10, 3, 2}, // surge rounds up, unavailable down
		{"25%", "25%", 4, 1, 1},
		{"25%", "25%", 1, 1, 0},
		{"0", "0", 3, 0, 1}, // both zero: one may be unavailable
		{"0%", "0%", 3, 0, 1},
		{"1", "0", 3, 1, 0},
		{"50%", "10%", 5, 3, 0},
		{"100%", "100%", 3, 3, 3},
		{"2", "30%", 10, 2, 3},
	} {
		t.Run(fmt.Sprintf("%s/%s of %d", tc.surge, tc.unavailable, tc.desired), func(t *testing.T) {
			s, u := intstr.Parse(tc.surge), intstr.Parse(tc.unavailable)
			gs, gu := resolveFenceposts(&s, &u, tc.desired)
			if gs != tc.wantSurge || gu != tc.wantU {
				t.Errorf("got surge %d unavailable %d, want %d %d", gs, gu, tc.wantSurge, tc.wantU)
			}
		})
	}
}

func dep(replicas int32, surge, unavailable string) *apps.Deployment {
	s, u := intstr.Parse(surge), intstr.Parse(unavailable)
	return &apps.Deployment{Spec: apps.DeploymentSpec{
		Replicas: &replicas,
		Strategy: apps.DeploymentStrategy{Type: apps.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &apps.RollingUpdateDeployment{MaxSurge: &s, MaxUnavailable: &u}},
	}}
}

func rsOf(name string, replicas, available int32, annotations map[string]string) *apps.ReplicaSet {
	return &apps.ReplicaSet{ObjectMeta: meta.ObjectMeta{Name: name, Annotations: annotations},
		Spec:   apps.ReplicaSetSpec{Replicas: &replicas},
		Status: apps.ReplicaSetStatus{Replicas: replicas, AvailableReplicas: available}}
}

func TestNewRSNewReplicas(t *testing.T) {
	for _, tc := range []struct {
		name         string
		d            *apps.Deployment
		newRS, oldRS int32
		want         int32
	}{
		{"room under surge", dep(10, "3", "2"), 0, 10, 3},
		{"at surge", dep(10, "3", "2"), 3, 10, 3},
		{"old scaled down", dep(10, "3", "2"), 3, 8, 5},
		{"never above desired", dep(10, "3", "2"), 9, 1, 10},
		{"no surge", dep(4, "0", "1"), 0, 4, 0},
		{"no surge, old down", dep(4, "0", "1"), 0, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newRS, old := rsOf("new", tc.newRS, 0, nil), rsOf("old", tc.oldRS, 0, nil)
			if got := newRSNewReplicas(tc.d, []*apps.ReplicaSet{old, newRS}, newRS); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
	recreate := &apps.Deployment{Spec: apps.DeploymentSpec{Replicas: controller.Ptr(int32(5)), Strategy: apps.DeploymentStrategy{Type: apps.RecreateDeploymentStrategyType}}}
	if got := newRSNewReplicas(recreate, nil, rsOf("new", 0, 0, nil)); got != 5 {
		t.Errorf("recreate: got %d", got)
	}
}

// The example of Kubernetes' documentation: 10 replicas, maxSurge 3, maxUnavailable 2, a
// rollout stuck at 8 old and 5 new; scaled to 15, the 5 more go 3 to the old and 2 to the new.
func TestProportionalScaling(t *testing.T) {
	d := dep(15, "3", "2")
	ann := map[string]string{MaxReplicasAnnotation: "13", DesiredReplicasAnnotation: "10"}
	old, newRS := rsOf("old", 8, 8, ann), rsOf("new", 5, 0, ann)
	all := []*apps.ReplicaSet{old, newRS}
	bySize(all, true)
	toAdd := replicas(d) + maxSurge(d) - replicaCount(all)
	if toAdd != 5 {
		t.Fatalf("toAdd %d", toAdd)
	}
	var added int32
	got := map[string]int32{}
	for _, rs := range all {
		p := proportion(rs, d, toAdd, added)
		added += p
		got[rs.Name] = rsReplicas(rs) + p
	}
	if got["old"] != 11 || got["new"] != 7 || added != toAdd {
		t.Errorf("got %v (added %d)", got, added)
	}
	// Scaling to zero takes everything away.
	zero := dep(0, "3", "2")
	if p := proportion(old, zero, -13, 0); p != -8 {
		t.Errorf("to zero: %d", p)
	}
}

func TestRevisionAnnotations(t *testing.T) {
	d := dep(3, "1", "0")
	d.Annotations = map[string]string{"kubernetes.io/change-cause": "kubectl set image", core.LastAppliedConfigAnnotation: "{}", RevisionAnnotation: "7"}
	for _, tc := range []struct {
		name     string
		before   map[string]string
		exists   bool
		revision string
		want     map[string]string
	}{
		{"new replica set", nil, false, "1", map[string]string{
			RevisionAnnotation: "1", DesiredReplicasAnnotation: "3", MaxReplicasAnnotation: "4", "kubernetes.io/change-cause": "kubectl set image"}},
		{"brought back by undo", map[string]string{RevisionAnnotation: "1"}, true, "3", map[string]string{
			RevisionAnnotation: "3", RevisionHistoryAnnotation: "1", "kubernetes.io/change-cause": "kubectl set image"}},
		{"brought back twice", map[string]string{RevisionAnnotation: "3", RevisionHistoryAnnotation: "1"}, true, "5", map[string]string{
			RevisionAnnotation: "5", RevisionHistoryAnnotation: "1,3", "kubernetes.io/change-cause": "kubectl set image"}},
		{"already current", map[string]string{RevisionAnnotation: "5", "kubernetes.io/change-cause": "kubectl set image"}, true, "5", map[string]string{
			RevisionAnnotation: "5", "kubernetes.io/change-cause": "kubectl set image"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := &apps.ReplicaSet{ObjectMeta: meta.ObjectMeta{Annotations: tc.before}}
			setNewReplicaSetAnnotations(d, rs, tc.revision, tc.exists)
			if !controller.SemanticEqual(rs.Annotations, tc.want) {
				t.Errorf("got %v\nwant %v", rs.Annotations, tc.want)
			}
		})
	}
}

func TestFindActiveOrLatest(t *testing.T) {
	a, b, c := rsOf("a", 0, 0, nil), rsOf("b", 2, 0, nil), rsOf("c", 0, 0, nil)
	a.CreationTimestamp = meta.Now()
	c.CreationTimestamp = meta.NewTime(a.CreationTimestamp.Add(1e9))
	for _, tc := range []struct {
		name  string
		newRS *apps.ReplicaSet
		olds  []*apps.ReplicaSet
		want  string
	}{
		{"only active", nil, []*apps.ReplicaSet{a, b}, "b"},
		{"none active: the new one", rsOf("n", 0, 0, nil), []*apps.ReplicaSet{a, c}, "n"},
		{"none active, no new: the newest old", nil, []*apps.ReplicaSet{a, c}, "c"},
		{"two active", rsOf("n", 1, 0, nil), []*apps.ReplicaSet{b}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := findActiveOrLatest(tc.newRS, tc.olds)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Errorf("got %q, want %q", name, tc.want)
			}
		})
	}
}

func TestEqualIgnoreHash(t *testing.T) {
	a := core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "i:1"}}}}
	b := *controller.DeepCopy(&a)
	b.Labels["pod-template-hash"] = "abc"
	if !equalIgnoreHash(&a, &b) {
		t.Error("the hash label must not matter")
	}
	b.Spec.Containers[0].Image = "i:2"
	if equalIgnoreHash(&a, &b) {
		t.Error("a different image must matter")
	}
}
