package podgc

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

// These tests run gc passes directly on prepared caches with a fake clock and assert the
// exact writes, in order (TestPodGC runs the controller against a real API server).

func pod(name, node string, phase core.PodPhase, created int64) *core.Pod {
	return &core.Pod{
		ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: name, UID: "uid-" + name, CreationTimestamp: meta.NewTime(time.Unix(created, 0))},
		Spec:       core.PodSpec{NodeName: node},
		Status:     core.PodStatus{Phase: phase},
	}
}

func path(name string) string { return "/api/v1/namespaces/ns/pods/" + name }

func TestGCPasses(t *testing.T) {
	deleting := pod("deleting-unscheduled", "", core.PodPending, 1)
	deleting.DeletionTimestamp = &meta.Time{Time: time.Unix(5, 0)}
	tests := []struct {
		name      string
		threshold int
		pods      []*core.Pod
		nodes     []string
		// writes of each pass; the clock moves on by step between passes.
		step   time.Duration
		passes [][]string
	}{
		{
			name:      "oldest finished pods beyond the threshold",
			threshold: 1,
			pods:      []*core.Pod{pod("new", "n1", core.PodSucceeded, 30), pod("old", "n1", core.PodFailed, 10), pod("mid", "n1", core.PodSucceeded, 20), pod("running", "n1", core.PodRunning, 1)},
			nodes:     []string{"n1"},
			passes:    [][]string{{"DELETE " + path("old"), "DELETE " + path("mid")}},
		},
		{
			name:      "a negative threshold keeps every finished pod",
			threshold: -1,
			pods:      []*core.Pod{pod("a", "n1", core.PodSucceeded, 1), pod("b", "n1", core.PodSucceeded, 2)},
			nodes:     []string{"n1"},
			passes:    [][]string{nil},
		},
		{
			name:      "pods of a missing node go after the quarantine, marked Failed first",
			threshold: 100,
			pods:      []*core.Pod{pod("lost", "gone", core.PodRunning, 1), pod("kept", "n1", core.PodRunning, 1)},
			nodes:     []string{"n1"},
			step:      30 * time.Second,
			passes: [][]string{
				nil, // first seen missing
				nil, // 30s: still in quarantine (40s)
				{"PUT " + path("lost") + "/status", "DELETE " + path("lost")}, // 60s
			},
		},
		{
			name:      "terminating pods that never reached a node",
			threshold: 100,
			pods:      []*core.Pod{deleting},
			passes:    [][]string{{"PUT " + path("deleting-unscheduled") + "/status", "DELETE " + path("deleting-unscheduled")}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := testenv.NewFake(t)
			c := New(f.CC, Options{TerminatedPodThreshold: tc.threshold})
			now := time.Unix(1000, 0)
			c.now = func() time.Time { return now }
			for _, p := range tc.pods {
				c.pods.Indexer().Add(p)
			}
			for _, n := range tc.nodes {
				c.nodes.Indexer().Add(&core.Node{ObjectMeta: meta.ObjectMeta{Name: n}})
			}
			for i, want := range tc.passes {
				f.Reset()
				c.gc(context.Background())
				var got []string
				for _, w := range f.Writes() {
					got = append(got, w.String())
				}
				if !slices.Equal(got, want) {
					t.Errorf("pass %d: writes\n got %q\nwant %q", i, got, want)
				}
				now = now.Add(tc.step)
			}
		})
	}
}

func TestGCKeepsPodsOfANodeTheCacheLags(t *testing.T) {
	// The node is missing from the cache but the API server still has it: nothing goes.
	f := testenv.NewFake(t)
	c := New(f.CC, Options{})
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	c.pods.Indexer().Add(pod("p", "late", core.PodRunning, 1))
	f.Seed(t, "/api/v1/nodes/late", &core.Node{ObjectMeta: meta.ObjectMeta{Name: "late"}})
	c.gc(context.Background())
	now = now.Add(time.Minute)
	c.gc(context.Background())
	if w := f.WriteStrings(); len(w) != 0 {
		t.Errorf("writes %q, want none", w)
	}
}
