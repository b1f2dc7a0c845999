package controller

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func pod(name, node string, phase core.PodPhase, ready bool, readySince time.Time, tweak func(*core.Pod)) *core.Pod {
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, CreationTimestamp: meta.NewTime(time.Unix(1000, 0))},
		Spec: core.PodSpec{NodeName: node}, Status: core.PodStatus{Phase: phase}}
	if ready {
		p.Status.Conditions = []core.PodCondition{{Type: core.PodReady, Status: core.ConditionTrue, LastTransitionTime: meta.NewTime(readySince)}}
	}
	if tweak != nil {
		tweak(p)
	}
	return p
}

func names(pods []*core.Pod) string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return strings.Join(out, " ")
}

func TestRankPodsForDeletion(t *testing.T) {
	t0 := time.Unix(2000, 0)
	for _, tc := range []struct {
		name string
		pods []*core.Pod
		want string
	}{
		{"unassigned first", []*core.Pod{pod("assigned", "n1", core.PodPending, false, t0, nil), pod("unassigned", "", core.PodPending, false, t0, nil)}, "unassigned assigned"},
		{"pending before running", []*core.Pod{pod("running", "n1", core.PodRunning, false, t0, nil), pod("pending", "n1", core.PodPending, false, t0, nil)}, "pending running"},
		{"not ready before ready", []*core.Pod{pod("ready", "n1", core.PodRunning, true, t0, nil), pod("unready", "n1", core.PodRunning, false, t0, nil)}, "unready ready"},
		{"lower deletion cost first", []*core.Pod{
			pod("costly", "n1", core.PodRunning, true, t0, func(p *core.Pod) { p.Annotations = map[string]string{core.PodDeletionCost: "100"} }),
			pod("cheap", "n2", core.PodRunning, true, t0, nil)}, "cheap costly"},
		{"crowded node first", []*core.Pod{pod("alone", "n1", core.PodRunning, true, t0, nil),
			pod("crowd-a", "n2", core.PodRunning, true, t0, nil), pod("crowd-b", "n2", core.PodRunning, true, t0, nil)}, "crowd-a crowd-b alone"},
		{"ready for less time first", []*core.Pod{pod("old", "n1", core.PodRunning, true, t0, nil), pod("young", "n2", core.PodRunning, true, t0.Add(time.Hour), nil)}, "young old"},
		{"more restarts first", []*core.Pod{pod("steady", "n1", core.PodRunning, true, t0, nil),
			pod("flaky", "n2", core.PodRunning, true, t0, func(p *core.Pod) { p.Status.ContainerStatuses = []core.ContainerStatus{{RestartCount: 3}} })}, "flaky steady"},
		{"newer first", []*core.Pod{pod("older", "n1", core.PodRunning, true, t0, nil),
			pod("newer", "n2", core.PodRunning, true, t0, func(p *core.Pod) { p.CreationTimestamp = meta.NewTime(time.Unix(1500, 0)) })}, "newer older"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			RankPodsForDeletion(tc.pods, tc.pods)
			if got := names(tc.pods); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestIsPodAvailable(t *testing.T) {
	now := time.Unix(10000, 0)
	for _, tc := range []struct {
		readyFor time.Duration
		ready    bool
		minReady int32
		want     bool
	}{
		{0, true, 0, true},
		{5 * time.Second, true, 10, false},
		{10 * time.Second, true, 10, true},
		{time.Hour, false, 0, false},
	} {
		p := pod("p", "n", core.PodRunning, tc.ready, now.Add(-tc.readyFor), nil)
		if got := IsPodAvailable(p, tc.minReady, now); got != tc.want {
			t.Errorf("ready %v for %v, minReadySeconds %d: got %v", tc.ready, tc.readyFor, tc.minReady, got)
		}
	}
}

func TestExpectations(t *testing.T) {
	e := NewExpectations()
	now := time.Unix(0, 0)
	e.now = func() time.Time { return now }
	steps := []struct {
		do   func()
		want bool
	}{
		{func() {}, true},
		{func() { e.ExpectCreations("rs", 2) }, false},
		{func() { e.CreationObserved("rs") }, false},
		{func() { e.CreationObserved("rs") }, true},
		{func() { e.ExpectDeletions("rs", []string{"ns/a", "ns/b"}) }, false},
		{func() { e.DeletionObserved("rs", "ns/a"); e.DeletionObserved("rs", "ns/a") }, false}, // seen twice, counted once
		{func() { e.DeletionObserved("rs", "ns/b") }, true},
		{func() { e.ExpectCreations("rs", 1) }, false},
		{func() { now = now.Add(ExpectationsTimeout + time.Second) }, true}, // a lost event does not block forever
	}
	for i, s := range steps {
		s.do()
		if got := e.Satisfied("rs"); got != s.want {
			t.Fatalf("step %d: satisfied %v, want %v", i, got, s.want)
		}
	}
}

func TestWriteTracker(t *testing.T) {
	w := NewWriteTracker()
	cache := map[string]string{"a": "5"}
	lookup := func(k string) (string, bool) { rv, ok := cache[k]; return rv, ok }
	w.Wrote("owner", "a", "7")
	w.Deleted("owner", "b")
	if w.CaughtUp("owner", lookup) {
		t.Fatal("cache at rv 5 cannot show a write at rv 7")
	}
	cache["a"] = "8" // a later version counts too
	if !w.CaughtUp("owner", lookup) {
		t.Fatal("caught up: a at 8, b gone")
	}
	w.Deleted("owner", "a")
	if w.CaughtUp("owner", lookup) {
		t.Fatal("a still cached after its deletion")
	}
}

func TestSlowStartBatch(t *testing.T) {
	for _, tc := range []struct {
		count, failAt int // failAt: the call number (1-based) that fails, 0 none
		wantOK, calls int
	}{
		{10, 0, 10, 10},
		{10, 1, 0, 1}, // the first batch of one fails: nothing more is tried
		{10, 2, 2, 3}, // batches of 1 and 2: the second fails, after both its calls ran
		{0, 0, 0, 0},
	} {
		var n atomic.Int32
		ok, err := SlowStartBatch(tc.count, 1, func() error {
			if int(n.Add(1)) == tc.failAt {
				return errors.New("boom")
			}
			return nil
		})
		if ok != tc.wantOK || int(n.Load()) != tc.calls || (err != nil) != (tc.failAt > 0) {
			t.Errorf("%+v: ok %d calls %d err %v", tc, ok, n.Load(), err)
		}
	}
}

func TestTemplateRevisions(t *testing.T) {
	tmpl := &core.PodTemplateSpec{ObjectMeta: meta.ObjectMeta{Labels: map[string]string{"app": "x"}},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img:1"}}}}
	data, err := TemplatePatch(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"$patch":"replace"`) {
		t.Errorf("revision data %s lacks the replace directive", data)
	}
	back, err := TemplateOf(&apps.ControllerRevision{Data: data})
	if err != nil || !SemanticEqual(back, tmpl) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	h1, h2 := ComputeHash(tmpl, nil), ComputeHash(tmpl, Ptr(int32(1)))
	if h1 == h2 || h1 != ComputeHash(tmpl, nil) || strings.ContainsAny(h1, "aeiou") {
		t.Errorf("hashes %q %q: must be stable, change with the collision count, and have no vowels", h1, h2)
	}
}
