package podworker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// failingPulls has no image: "missing" fails to pull, "slow" pulls until canceled.
type failingPulls struct {
	runtime.Runtime
	mu      sync.Mutex
	pulls   int
	started chan struct{}
}

func (r *failingPulls) Type() string { return "fake" }

func (r *failingPulls) EnsureImage(ctx context.Context, ref string, policy core.PullPolicy, _ []runtime.PullAuth) (*runtime.Image, error) {
	if policy == core.PullNever {
		return nil, fmt.Errorf("%w: not present", runtime.ErrImageNeverPull)
	}
	r.mu.Lock()
	r.pulls++
	r.mu.Unlock()
	if ref == "slow" {
		close(r.started)
		<-ctx.Done()
		return nil, fmt.Errorf("%w: %v", runtime.ErrImagePull, ctx.Err())
	}
	return nil, fmt.Errorf("%w: failed to pull and unpack image %q: not found", runtime.ErrImagePull, ref)
}

func (r *failingPulls) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls
}

// A failed pull leaves the container in ErrImagePull with the kubelet's events; until the
// back-off ends the next syncs do not pull, and the container waits in ImagePullBackOff
// with the last failure in its message and a sync asked for when the back-off ends.
func TestPullBackOff(t *testing.T) {
	var events eventList
	rt := &failingPulls{}
	// A back-off longer than the test: the second sync is inside it whatever the machine's speed.
	m := New(Config{Runtime: rt, Recorder: &events, BackoffBase: time.Hour, BackoffMax: 2 * time.Hour})
	c := core.Container{Name: "c", Image: "missing"}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}, Spec: core.PodSpec{Containers: []core.Container{c}}}
	ac := &actionContext{pod: pod, st: &podState{waiting: map[string]core.ContainerStateWaiting{}}, sandbox: &runtime.Sandbox{}}

	if err := m.startContainer(context.Background(), ac, &c, 0, false); !errors.Is(err, runtime.ErrImagePull) {
		t.Fatalf("first sync: %v, want ErrImagePull", err)
	}
	if w := ac.st.waiting["c"]; w.Reason != "ErrImagePull" || !strings.Contains(w.Message, `"docker.io/library/missing:latest"`) && !strings.Contains(w.Message, `image "missing"`) {
		t.Errorf("after the failed pull: waiting %+v", w)
	}
	want := []string{`Pulling: Pulling image "missing"`, `Failed: Failed to pull image "missing": ErrImagePull: failed to pull`, `Failed: Error: ErrImagePull`}
	if len(events) != len(want) {
		t.Fatalf("events %q, want %q", events, want)
	}
	for i := range want {
		if !strings.HasPrefix(events[i], want[i]) {
			t.Errorf("event %d %q, want %q...", i, events[i], want[i])
		}
	}

	events = nil
	if err := m.startContainer(context.Background(), ac, &c, 0, false); err != nil {
		t.Fatalf("sync in back-off: %v (waiting it out is not an error)", err)
	}
	if rt.count() != 1 {
		t.Errorf("pulled %d times, want 1: the back-off was not waited out", rt.count())
	}
	w := ac.st.waiting["c"]
	if w.Reason != "ImagePullBackOff" || !strings.HasPrefix(w.Message, `Back-off pulling image "missing": ErrImagePull: `) || !strings.Contains(w.Message, "not found") {
		t.Errorf("in back-off: waiting %+v", w)
	}
	if strings.Join(events, "|") != `BackOff: Back-off pulling image "missing"|Failed: Error: ImagePullBackOff` {
		t.Errorf("in back-off: events %q", events)
	}
	if ac.after <= 0 || ac.after > time.Hour {
		t.Errorf("requeue after %v, want the rest of the back-off", ac.after)
	}
}

// Deleting a pod cancels the pull its sync waits for, and a canceled pull is neither a
// failure nor a back-off.
func TestPullCanceledByDelete(t *testing.T) {
	var events eventList
	rt := &failingPulls{started: make(chan struct{})}
	m := New(Config{Runtime: rt, Recorder: &events})
	c := core.Container{Name: "c", Image: "slow"}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p", UID: "u"}, Spec: core.PodSpec{Containers: []core.Container{c}}}
	m.Upsert(pod)
	done := make(chan error, 1)
	go func() {
		_, err := m.ensureImage(context.Background(), pod, &c, nil)
		done <- err
	}()
	select {
	case <-rt.started:
	case <-time.After(30 * time.Second):
		t.Fatal("the pull never started")
	}
	deleted := *pod
	now := meta.Now()
	deleted.DeletionTimestamp = &now
	m.Upsert(&deleted) // what the informer delivers when the pod is deleted gracefully
	select {
	case err := <-done:
		if !errors.Is(err, errPullCanceled) {
			t.Errorf("pull ended with %v, want %v", err, errPullCanceled)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the pull was not canceled by the pod's deletion")
	}
	if wait, _ := m.pullBackOff("pull/u/c", time.Now()); wait != 0 {
		t.Errorf("a canceled pull started a back-off of %v", wait)
	}
	for _, e := range events {
		if strings.HasPrefix(e, "Failed") {
			t.Errorf("a canceled pull recorded %q", e)
		}
	}
}
