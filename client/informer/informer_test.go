package informer

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/client"
)

// eventLog records handler calls as strings: "add ns/a x", "update ns/a x->y", "delete ns/a y".
type eventLog struct {
	mu     sync.Mutex
	events []string
	last   map[string]*widget // last object passed to DeleteFunc, by key
}

func (l *eventLog) handler() Handler[*widget] {
	rec := func(s string) {
		l.mu.Lock()
		l.events = append(l.events, s)
		l.mu.Unlock()
	}
	return Handler[*widget]{
		AddFunc:    func(w *widget) { rec("add " + Key(w) + " " + w.Spec) },
		UpdateFunc: func(o, n *widget) { rec("update " + Key(n) + " " + o.Spec + "->" + n.Spec) },
		DeleteFunc: func(w *widget) {
			l.mu.Lock()
			if l.last == nil {
				l.last = map[string]*widget{}
			}
			l.last[Key(w)] = w
			l.mu.Unlock()
			rec("delete " + Key(w) + " " + w.Spec)
		},
	}
}

// expect waits for the next len(want) events and compares them (in order).
func (l *eventLog) expect(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		if len(l.events) >= len(want) || time.Now().After(deadline) {
			got := l.events[:min(len(want), len(l.events))]
			l.events = l.events[len(got):]
			l.mu.Unlock()
			if !slices.Equal(got, want) {
				t.Fatalf("events\n got %q\nwant %q", got, want)
			}
			return
		}
		l.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
}

// quiet checks that no further event came from what happened so far, without waiting and
// hoping: it writes and deletes a sentinel object and expects those to be the very next
// events (the watch delivers in order, so anything unexpected would arrive first). The
// sentinel costs two resourceVersions.
func (l *eventLog) quiet(t *testing.T, f *fakeAPI) {
	t.Helper()
	f.do(func() { f.put("ns", "zz-sentinel", "s"); f.del("ns", "zz-sentinel") })
	l.expect(t, "add ns/zz-sentinel s", "delete ns/zz-sentinel s")
}

// start runs a fast-retrying informer over f until the test ends and waits for its sync.
func start(t *testing.T, typed *client.Typed[widget, *widget], opts client.ListOptions, resync time.Duration) (*Informer[widget, *widget], *eventLog) {
	t.Helper()
	inf := NewInformer(typed, "", opts, resync)
	inf.backoffBase, inf.backoffMax = time.Millisecond, 5*time.Millisecond
	log := &eventLog{}
	inf.AddEventHandler(log.handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		inf.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	syncCtx, syncCancel := context.WithTimeout(ctx, 5*time.Second)
	defer syncCancel()
	if !WaitForCacheSync(syncCtx, inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	return inf, log
}

func TestListThenWatch(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns1", "a", "x"); f.put("ns1", "b", "y"); f.put("ns2", "c", "z") })
	inf, log := start(t, typed, client.ListOptions{LabelSelector: "app=web"}, 0)

	log.expect(t, "add ns1/a x", "add ns1/b y", "add ns2/c z")
	if rv := inf.LastSyncResourceVersion(); rv != "4" {
		t.Errorf("LastSyncResourceVersion after list = %q, want 4", rv)
	}
	f.do(func() { f.put("ns1", "a", "x2"); f.del("ns1", "b"); f.put("ns2", "d", "w") })
	log.expect(t, "update ns1/a x->x2", "delete ns1/b y", "add ns2/d w")
	log.quiet(t, f)

	idx := inf.Indexer()
	if keys := idx.ListKeys(); !slices.Equal(keys, []string{"ns1/a", "ns2/c", "ns2/d"}) {
		t.Errorf("keys %v", keys)
	}
	if a, ok := idx.GetByName("ns1", "a"); !ok || a.Spec != "x2" || a.ResourceVersion != "5" {
		t.Errorf("ns1/a = %+v %v", a, ok)
	}
	if n := len(idx.ListNamespace("ns2")); n != 2 {
		t.Errorf("ns2 holds %d objects, want 2", n)
	}
	if rv := inf.LastSyncResourceVersion(); rv != "9" { // 7, and quiet's sentinel
		t.Errorf("LastSyncResourceVersion = %q, want 9", rv)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lists[0] != "labelSelector=app%3Dweb&limit=500" {
		t.Errorf("list query %q", f.lists[0])
	}
	if f.watches[0] != "4" {
		t.Errorf("watch from %q, want the list's resourceVersion 4", f.watches[0])
	}
}

func TestResumeAfterDroppedWatch(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns", "a", "x") })
	_, log := start(t, typed, client.ListOptions{}, 0)
	log.expect(t, "add ns/a x")

	f.do(func() { f.put("ns", "a", "x2") }) // rv 3
	log.expect(t, "update ns/a x->x2")
	// Drop the watch and change things before the informer is back: it must resume from
	// rv 3 and get the change from the server's history, without a relist.
	f.do(func() { f.dropLocked(); f.put("ns", "b", "y") })
	log.expect(t, "add ns/b y")
	log.quiet(t, f)

	lists, _ := f.counts()
	if lists != 1 {
		t.Errorf("%d lists, want 1 (no relist)", lists)
	}
	if rvs := f.watchRVs(); len(rvs) < 2 || rvs[0] != "2" || rvs[1] != "3" {
		t.Errorf("watches from %v, want [2 3]", rvs)
	}
}

func TestRelistOnGone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asHTTP bool
	}{
		{"ERROR event", false},
		{"HTTP 410", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typed := newFakeAPI(t)
			f.goneAsHTTPError = tc.asHTTP
			f.do(func() { f.put("ns", "a", "x"); f.put("ns", "b", "y") })
			inf, log := start(t, typed, client.ListOptions{}, 0)
			log.expect(t, "add ns/a x", "add ns/b y")

			// While disconnected: a is deleted, b changes, c appears, and the history
			// of it all is compacted away, so only a relist can find out.
			f.do(func() {
				f.dropLocked()
				f.del("ns", "a")
				f.put("ns", "b", "y2")
				f.put("ns", "c", "z")
				f.compact()
			})
			log.expect(t, "update ns/b y->y2", "add ns/c z", "delete ns/a x")
			log.quiet(t, f)

			log.mu.Lock()
			gone := log.last["ns/a"]
			log.mu.Unlock()
			if gone.ResourceVersion != "2" {
				t.Errorf("missed delete delivered with resourceVersion %q, want the last seen (2)", gone.ResourceVersion)
			}
			if lists, _ := f.counts(); lists != 2 {
				t.Errorf("%d lists, want 2", lists)
			}
			if keys := inf.Indexer().ListKeys(); !slices.Equal(keys, []string{"ns/b", "ns/c"}) {
				t.Errorf("keys %v", keys)
			}
			// And it watches on from the new list.
			f.do(func() { f.put("ns", "d", "w") })
			log.expect(t, "add ns/d w")
		})
	}
}

func TestWatchFailureRewatchesWithoutRelist(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns", "a", "x") })
	_, log := start(t, typed, client.ListOptions{}, 0)
	log.expect(t, "add ns/a x")
	f.do(func() { f.failWatches = 3; f.dropLocked(); f.put("ns", "a", "x2") })
	log.expect(t, "update ns/a x->x2")
	lists, watches := f.counts()
	if lists != 1 || watches != 5 {
		t.Errorf("lists %d, watches %d: want 1 list and 5 watches (1 + 3 failed + 1)", lists, watches)
	}
}

func TestListFailuresBackOff(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.failLists = 3
	f.do(func() { f.put("ns", "a", "x") })
	_, log := start(t, typed, client.ListOptions{}, 0)
	log.expect(t, "add ns/a x")
	if lists, _ := f.counts(); lists != 4 {
		t.Errorf("%d lists, want 4", lists)
	}
}

func TestPaging(t *testing.T) {
	for _, tc := range []struct {
		name      string
		expire    bool
		wantLists []string
	}{
		{"pages", false, []string{"limit=2", "continue=2%3A6&limit=2", "continue=4%3A6&limit=2"}},
		{"expired continue falls back to one full list", true, []string{"limit=2", "continue=2%3A6&limit=2", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, typed := newFakeAPI(t)
			f.expireContinues = tc.expire
			f.do(func() {
				for i := range 5 {
					f.put("ns", "o"+strconv.Itoa(i), "")
				}
			})
			inf, _ := start(t, typed, client.ListOptions{Limit: 2}, 0)
			if n := inf.Indexer().Len(); n != 5 {
				t.Fatalf("cached %d objects, want 5", n)
			}
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
				if _, w := f.counts(); w > 0 || time.Now().After(deadline) {
					break
				}
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if !slices.Equal(f.lists, tc.wantLists) {
				t.Errorf("lists %q, want %q", f.lists, tc.wantLists)
			}
			if len(f.watches) == 0 || f.watches[0] != "6" {
				t.Errorf("watch from %q, want 6", f.watches[0])
			}
		})
	}
}

func TestResync(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns", "a", "x") })
	_, log := start(t, typed, client.ListOptions{}, 20*time.Millisecond)
	log.expect(t, "add ns/a x")
	log.expect(t, "update ns/a x->x")
	log.expect(t, "update ns/a x->x")
}

func TestLateHandlerReplaysCache(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns", "a", "x"); f.put("ns", "b", "y") })
	inf, log := start(t, typed, client.ListOptions{}, 0)
	log.expect(t, "add ns/a x", "add ns/b y")

	late := &eventLog{}
	inf.AddEventHandler(late.handler())
	late.mu.Lock()
	replayed := slices.Sorted(slices.Values(late.events))
	late.events = nil
	late.mu.Unlock()
	if !slices.Equal(replayed, []string{"add ns/a x", "add ns/b y"}) {
		t.Fatalf("late handler got %q", replayed)
	}
	f.do(func() { f.put("ns", "c", "z") })
	log.expect(t, "add ns/c z")
	late.expect(t, "add ns/c z")
}

func TestRunOnceAndWaitForCacheSyncCancel(t *testing.T) {
	_, typed := newFakeAPI(t)
	inf, _ := start(t, typed, client.ListOptions{}, 0)
	done := make(chan struct{})
	go func() {
		inf.Run(context.Background()) // already running: returns at once
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("second Run did not return")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if WaitForCacheSync(ctx, inf.HasSynced, func() bool { return false }) {
		t.Fatal("WaitForCacheSync = true with an unsynced func")
	}
}

func TestFactory(t *testing.T) {
	f, typed := newFakeAPI(t)
	f.do(func() { f.put("ns", "a", "x") })
	fac := NewFactory(typed.Client(), "", 0)
	inf := For[widget](fac, widgets)
	if For[widget](fac, widgets) != inf {
		t.Fatal("For returned a second informer for the same resource")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fac.Start(ctx)
	fac.Start(ctx) // starting again runs nothing twice
	if !fac.WaitForCacheSync(ctx) {
		t.Fatal("not synced")
	}
	if _, ok := inf.Indexer().GetByName("ns", "a"); !ok {
		t.Fatal("ns/a not cached")
	}
	if lists, _ := f.counts(); lists != 1 {
		t.Fatalf("%d lists, want 1", lists)
	}

	type other struct{ widget }
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "already made") {
			t.Fatalf("recover() = %v, want a panic for a second type", r)
		}
	}()
	For[other](fac, widgets)
}
