package replicaset

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

// These tests call sync directly on prepared caches and assert the exact writes (the
// integration tests in replicaset_test.go run the controller against a real API server).

const (
	podsPath   = "/api/v1/namespaces/default/pods"
	statusPath = "/apis/apps/v1/namespaces/default/replicasets/web/status"
)

func testRS(replicas int32) *apps.ReplicaSet {
	return &apps.ReplicaSet{
		TypeMeta:   meta.TypeMeta{Kind: "ReplicaSet", APIVersion: "apps/v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "web", UID: "rs-uid", Generation: 2, ResourceVersion: "7"},
		Spec: apps.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: core.PodTemplateSpec{
				ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec:       core.PodSpec{Containers: []core.Container{{Name: "c", Image: "busybox"}}},
			},
		},
	}
}

// testPod is a pod of rs (owner nil: an orphan) on node ("" unscheduled), ready or not.
func testPod(name string, rs *apps.ReplicaSet, node string, ready bool) *core.Pod {
	p := &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, UID: "uid-" + name, Labels: map[string]string{"app": "web"},
			CreationTimestamp: meta.NewTime(time.Unix(1000, 0))},
		Spec:   core.PodSpec{NodeName: node},
		Status: core.PodStatus{Phase: core.PodPending},
	}
	if rs != nil {
		p.OwnerReferences = []meta.OwnerReference{meta.NewControllerRef(rs, "apps/v1", "ReplicaSet")}
	}
	if node != "" {
		p.Status.Phase = core.PodRunning
	}
	if ready {
		p.Status.Conditions = []core.PodCondition{{Type: core.PodReady, Status: core.ConditionTrue, LastTransitionTime: meta.NewTime(time.Unix(1000, 0))}}
	}
	return p
}

func newTestController(t *testing.T, rs *apps.ReplicaSet, pods ...*core.Pod) (*ReplicaSetController, *testenv.Fake) {
	f := testenv.NewFake(t)
	c := New(f.CC)
	c.now = func() time.Time { return time.Unix(2000, 0) }
	c.sets.Indexer().Add(rs)
	for _, p := range pods {
		c.pods.Indexer().Add(p)
	}
	return c, f
}

func writtenStatus(t *testing.T, f *testenv.Fake) apps.ReplicaSetStatus {
	t.Helper()
	for _, w := range f.Writes() {
		if w.Path == statusPath {
			var rs apps.ReplicaSet
			if err := json.Unmarshal(w.Body, &rs); err != nil {
				t.Fatal(err)
			}
			return rs.Status
		}
	}
	t.Fatal("no status write")
	return apps.ReplicaSetStatus{}
}

func TestSyncWrites(t *testing.T) {
	rs := testRS(3)
	tests := []struct {
		name       string
		rs         *apps.ReplicaSet
		pods       []*core.Pod
		want       []string
		wantStatus string // replicas/fullyLabeled/ready/available
	}{
		{
			name: "creates the missing pods",
			rs:   rs,
			want: []string{"POST " + podsPath, "POST " + podsPath, "POST " + podsPath, "PUT " + statusPath},
		},
		{
			name: "deletes the extra pods, unscheduled and unready first",
			rs:   testRS(1),
			pods: []*core.Pod{testPod("ready", rs, "n1", true), testPod("pending", rs, "", false), testPod("unready", rs, "n1", false)},
			want: []string{"DELETE " + podsPath + "/pending", "DELETE " + podsPath + "/unready", "PUT " + statusPath},
		},
		{
			name: "adopts a matching orphan instead of creating",
			rs:   testRS(1),
			pods: []*core.Pod{testPod("orphan", nil, "n1", true)},
			want: []string{"PATCH " + podsPath + "/orphan", "PUT " + statusPath},
		},
		{
			name: "leaves pods of another controller alone",
			rs:   testRS(0),
			pods: []*core.Pod{testPod("theirs", &apps.ReplicaSet{ObjectMeta: meta.ObjectMeta{Name: "other", UID: "other-uid"}}, "n1", true)},
			want: []string{"PUT " + statusPath},
		},
		{
			name: "finished pods do not count",
			rs:   testRS(1),
			pods: []*core.Pod{func() *core.Pod { p := testPod("done", rs, "n1", false); p.Status.Phase = core.PodSucceeded; return p }()},
			want: []string{"POST " + podsPath, "PUT " + statusPath},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, f := newTestController(t, tc.rs, tc.pods...)
			f.Seed(t, "/apis/apps/v1/namespaces/default/replicasets/web", tc.rs)
			if err := c.sync(context.Background(), "default/web"); err != nil {
				t.Fatal(err)
			}
			got := f.WriteStrings()
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("writes:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestSyncCreatesPodsFromTemplateWithControllerRef(t *testing.T) {
	c, f := newTestController(t, testRS(1))
	if err := c.sync(context.Background(), "default/web"); err != nil {
		t.Fatal(err)
	}
	w := f.Writes()[0]
	var p core.Pod
	if err := json.Unmarshal(w.Body, &p); err != nil {
		t.Fatal(err)
	}
	ref := meta.GetControllerOf(&p.ObjectMeta)
	if p.GenerateName != "web-" || p.Labels["app"] != "web" || ref == nil || ref.UID != "rs-uid" || ref.Kind != "ReplicaSet" {
		t.Errorf("created pod: generateName %q labels %v controller %+v", p.GenerateName, p.Labels, ref)
	}
	if st := writtenStatus(t, f); st.Replicas != 0 || st.ObservedGeneration != 2 {
		t.Errorf("status after creating: %+v, want replicas 0 (none seen yet), observedGeneration 2", st)
	}
}

func TestSyncWaitsForExpectedCreations(t *testing.T) {
	c, f := newTestController(t, testRS(2))
	ctx := context.Background()
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	st := writtenStatus(t, f)
	f.Reset()
	// The informer has not seen the two pods yet: a second sync must not create more.
	rs := testRS(2)
	rs.Status = st
	c.sets.Indexer().Add(rs)
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if w := f.WriteStrings(); len(w) != 0 {
		t.Errorf("second sync before the creations were observed wrote %q", w)
	}
	// Once they are seen, the ReplicaSet is in step and a sync reports them.
	for _, name := range []string{"a", "b"} {
		p := testPod(name, rs, "n1", true)
		c.pods.Indexer().Add(p)
		c.addPod(p)
	}
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if got := f.WriteStrings(); !slices.Equal(got, []string{"PUT " + statusPath}) {
		t.Fatalf("sync after the pods were seen wrote %q, want only the status", got)
	}
	st = writtenStatus(t, f)
	if st.Replicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 2 || st.FullyLabeledReplicas != 2 {
		t.Errorf("status %+v, want 2 replicas, all ready and available", st)
	}
	// With that status recorded, nothing is left to write.
	f.Reset()
	rs = testRS(2)
	rs.Status = st
	c.sets.Indexer().Add(rs)
	if err := c.sync(ctx, "default/web"); err != nil {
		t.Fatal(err)
	}
	if w := f.WriteStrings(); len(w) != 0 {
		t.Errorf("sync of a ReplicaSet in step wrote %q", w)
	}
}
