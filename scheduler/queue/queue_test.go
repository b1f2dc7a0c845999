package queue

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newPod(name string, prio int32) *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default", UID: "uid-" + name},
		Spec: core.PodSpec{Priority: &prio, Containers: []core.Container{{Name: "c"}}}}
}

// nodeAdded is registered by the "Fit" plugin for NodeAdd, with a hint that only nodes
// labelled fits=yes help.
var events = map[string][]fw.ClusterEventWithHint{
	"Fit": {{Event: fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add},
		Hint: func(_ *core.Pod, _, newObj any) bool { return newObj.(*core.Node).Labels["fits"] == "yes" }}},
	"Ports": {{Event: fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete}}},
}

func newQueue(c *clock) *Queue {
	return New(Options{Events: events, Now: c.now})
}

func popName(t *testing.T, q *Queue) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("pop: %v", err)
	}
	return p.Pod.Name
}

func node(fits string) *core.Node {
	return &core.Node{ObjectMeta: meta.ObjectMeta{Name: "n", Labels: map[string]string{"fits": fits}}}
}

func TestPopOrder(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := newQueue(c)
	for _, p := range []struct {
		name string
		prio int32
	}{{"old-low", 0}, {"high", 100}, {"new-low", 0}, {"mid", 50}} {
		q.Add(newPod(p.name, p.prio))
		c.advance(time.Second)
	}
	var got []string
	for i := 0; i < 4; i++ {
		got = append(got, popName(t, q))
	}
	if want := []string{"high", "mid", "old-low", "new-low"}; !slices.Equal(got, want) {
		t.Fatalf("pop order %v, want %v", got, want)
	}
}

func TestBackoffDoubles(t *testing.T) {
	q := New(Options{})
	var got []time.Duration
	for attempts := 1; attempts <= 6; attempts++ {
		got = append(got, q.backoffDuration(attempts))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("backoffs %v, want %v", got, want)
	}
}

func TestWhereFailedPodsGo(t *testing.T) {
	tests := []struct {
		name string
		// during runs while the pod is in flight; after, once it has been requeued.
		rejectors map[string]bool
		during    func(q *Queue)
		after     func(q *Queue, c *clock)
		want      string
	}{
		{name: "unschedulable waits", rejectors: map[string]bool{"Fit": true}, want: "unschedulable"},
		{name: "an irrelevant event leaves it", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, _ *clock) {
				q.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete}, newPod("x", 0), nil)
			}, want: "unschedulable"},
		{name: "a registered event whose hint says no leaves it", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, _ *clock) {
				q.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}, nil, node("no"))
			},
			want: "unschedulable"},
		{name: "a helpful event while still backing off goes to backoff", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, _ *clock) {
				q.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}, nil, node("yes"))
			},
			want: "backoff"},
		{name: "a helpful event after the backoff goes to active", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, c *clock) {
				c.advance(2 * time.Second)
				q.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}, nil, node("yes"))
			},
			want: "active"},
		{name: "a helpful event during the attempt sends it to backoff", rejectors: map[string]bool{"Ports": true},
			during: func(q *Queue) {
				q.OnEvent(fw.ClusterEvent{Resource: fw.AssignedPodEvent, Action: fw.Delete}, newPod("x", 0), nil)
			},
			want: "backoff"},
		{name: "an unhelpful event during the attempt does not", rejectors: map[string]bool{"Ports": true},
			during: func(q *Queue) { q.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}, nil, node("yes")) },
			want:   "unschedulable"},
		{name: "rejected by no plugin: any event helps", rejectors: nil,
			after: func(q *Queue, c *clock) {
				c.advance(2 * time.Second)
				q.OnEvent(fw.ClusterEvent{Resource: fw.NodeEvent, Action: fw.Add}, nil, node("no"))
			},
			want: "active"},
		{name: "deleted during the attempt is dropped", rejectors: map[string]bool{"Fit": true},
			during: func(q *Queue) { q.Delete(newPod("p", 0)) }, want: ""},
		{name: "a spec change retries it", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, c *clock) {
				c.advance(2 * time.Second)
				p := newPod("p", 0)
				p.Labels = map[string]string{"new": "label"}
				q.Update(p)
			},
			want: "active"},
		{name: "five minutes without events retries it", rejectors: map[string]bool{"Fit": true},
			after: func(q *Queue, c *clock) {
				q.flush(c.now())
				c.advance(5 * time.Minute)
				q.flush(c.now())
			},
			want: "active"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1000, 0)}
			q := newQueue(c)
			q.Add(newPod("p", 0))
			ctx := context.Background()
			p, err := q.Pop(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tc.during != nil {
				tc.during(q)
			}
			q.AddUnschedulable(p, tc.rejectors)
			if tc.after != nil {
				tc.after(q, c)
			}
			if got := q.Where("uid-p"); got != tc.want {
				t.Fatalf("pod is in %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBackoffFlushAndErrors(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := newQueue(c)
	q.Add(newPod("p", 0))
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		p, err := q.Pop(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		q.AddBackoff(p) // an API error, say
		if next := q.flush(c.now()); next != wait {
			t.Fatalf("attempt %d: next flush in %v, want %v", attempt+1, next, wait)
		}
		c.advance(wait - time.Millisecond)
		q.flush(c.now())
		if got := q.Where("uid-p"); got != "backoff" {
			t.Fatalf("attempt %d: before the backoff ended the pod is in %q", attempt+1, got)
		}
		c.advance(time.Millisecond)
		q.flush(c.now())
		if got := q.Where("uid-p"); got != "active" {
			t.Fatalf("attempt %d: after the backoff the pod is in %q, want active", attempt+1, got)
		}
	}
}

func TestGatedPods(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := newQueue(c)
	p := newPod("p", 0)
	p.Spec.SchedulingGates = []core.PodSchedulingGate{{Name: "wait"}}
	q.Add(p)
	if got := q.Where("uid-p"); got != "gated" {
		t.Fatalf("gated pod is in %q", got)
	}
	ungated := newPod("p", 0)
	q.Update(ungated)
	if got := popName(t, q); got != "p" {
		t.Fatalf("popped %s", got)
	}
}

func TestNominatedPods(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	q := newQueue(c)
	p := newPod("p", 10)
	q.Add(p)
	q.Nominate(fw.NewPodInfo(p), "n1")
	// A status-less update keeps the in-memory nomination.
	q.Update(newPod("p", 10))
	names := func(node string) []string {
		var out []string
		for _, pi := range q.NominatedPods(node) {
			out = append(out, pi.Pod.Name)
		}
		return out
	}
	if got := names("n1"); !slices.Equal(got, []string{"p"}) {
		t.Fatalf("nominated to n1: %v", got)
	}
	withStatus := newPod("p", 10)
	withStatus.Status.NominatedNodeName = "n2"
	q.Update(withStatus)
	if got := fmt.Sprint(names("n1"), names("n2")); got != "[] [p]" {
		t.Fatalf("after the status moved it: %s", got)
	}
	q.Delete(withStatus)
	if q.NominatedPodsByNode() != nil {
		t.Fatal("deleted pod still nominated")
	}
}

func TestPopWaitsAndCloses(t *testing.T) {
	q := New(Options{})
	got := make(chan string)
	go func() {
		p, err := q.Pop(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- p.Pod.Name
	}()
	q.Add(newPod("late", 0))
	if name := <-got; name != "late" {
		t.Fatalf("got %s", name)
	}
	go func() {
		_, err := q.Pop(context.Background())
		got <- fmt.Sprint(err)
	}()
	q.Close()
	if msg := <-got; msg != ErrClosed.Error() {
		t.Fatalf("pop after close: %s", msg)
	}
}

// An unschedulable pod updated in its status only (the scheduler's own PodScheduled=False,
// say) stays where it is: its tolerations, decoded anew with fresh tolerationSeconds
// pointers, are the same tolerations. A toleration changed in value retries it.
func TestStatusOnlyUpdateDoesNotRetry(t *testing.T) {
	withTolerations := func(secs int64) *core.Pod {
		p := newPod("p", 0)
		p.Spec.Tolerations = []core.Toleration{{Key: core.TaintNodeNotReady, Operator: core.TolerationOpExists,
			Effect: core.TaintEffectNoExecute, TolerationSeconds: &secs}}
		return p
	}
	c := &clock{t: time.Unix(1000, 0)}
	q := newQueue(c)
	q.Add(withTolerations(300))
	p, err := q.Pop(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	q.AddUnschedulable(p, map[string]bool{"Fit": true})
	c.advance(2 * time.Second)

	updated := withTolerations(300)
	updated.Status.Conditions = []core.PodCondition{{Type: core.PodScheduled, Status: core.ConditionFalse, Reason: core.PodReasonUnschedulable}}
	q.Update(updated)
	if got := q.Where("uid-p"); got != "unschedulable" {
		t.Fatalf("after a status update the pod is in %q, want unschedulable", got)
	}
	q.Update(withTolerations(60))
	if got := q.Where("uid-p"); got != "active" {
		t.Fatalf("after a toleration change the pod is in %q, want active", got)
	}
}
