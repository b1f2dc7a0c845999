package watchcache_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

const prefix = "/registry/tests/"

func key(name string) string { return prefix + "ns/" + name }

// env is an etcd store with a running cache over prefix.
type env struct {
	t     *testing.T
	store storage.Interface
	cache *watchcache.Cache
	etcd  *storage.EmbeddedEtcd
}

func start(t *testing.T, opts watchcache.Options, before ...string) *env {
	t.Helper()
	s, e := storagetest.NewStore(t)
	en := &env{t: t, store: s, etcd: e}
	for _, name := range before {
		en.create(name, "v")
	}
	en.cache = watchcache.New(s, prefix, storagetest.New, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); en.cache.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitCtx, waitCancel := context.WithTimeout(ctx, 10*time.Second)
	defer waitCancel()
	if err := en.cache.WaitReady(waitCtx); err != nil {
		t.Fatal(err)
	}
	return en
}

func (e *env) create(name, value string, labels ...string) int64 {
	e.t.Helper()
	o := storagetest.NewObject("ns", name, value, labels...)
	if err := e.store.Create(context.Background(), key(name), o); err != nil {
		e.t.Fatal(err)
	}
	return storagetest.RV(e.t, o)
}

func (e *env) update(name string, change func(*storagetest.Object)) int64 {
	e.t.Helper()
	o, err := e.store.GuaranteedUpdate(context.Background(), key(name), storagetest.New, func(cur meta.Object) (meta.Object, error) {
		change(cur.(*storagetest.Object))
		return cur, nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return storagetest.RV(e.t, o)
}

func (e *env) delete(name string) int64 {
	e.t.Helper()
	o, err := e.store.Delete(context.Background(), key(name), storagetest.New, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return storagetest.RV(e.t, o)
}

func (e *env) watch(fromRV int64, filter watchcache.Filter, opts watchcache.WatchOptions) *watchcache.Watcher {
	e.t.Helper()
	w, err := e.cache.Watch(context.Background(), fromRV, filter, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(w.Stop)
	return w
}

func (e *env) fresh(rv int64) {
	e.t.Helper()
	if err := e.cache.WaitUntilFresh(context.Background(), rv); err != nil {
		e.t.Fatal(err)
	}
}

// got is an event reduced to what tests compare.
type got struct {
	Type, Name, Value string
	RV                int64
}

func receive(t *testing.T, w *watchcache.Watcher, n int) []got {
	t.Helper()
	var out []got
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watcher closed (%v) after %v", w.Err(), out)
			}
			if ev.Type == meta.Bookmark {
				continue
			}
			o := ev.Object.(*storagetest.Object)
			if o.ResourceVersion != fmt.Sprint(ev.ResourceVersion) {
				t.Fatalf("%s at %d carries object rv %s", ev.Type, ev.ResourceVersion, o.ResourceVersion)
			}
			out = append(out, got{ev.Type, o.Name, o.Value, ev.ResourceVersion})
		case <-timeout:
			t.Fatalf("got %v, want %d events", out, n)
		}
	}
	return out
}

// expectNothingUpTo checks that nothing but bookmarks arrives until the cache has seen rv.
func expectNothingUpTo(t *testing.T, e *env, w *watchcache.Watcher, rv int64) {
	t.Helper()
	e.fresh(rv)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != meta.Bookmark {
				t.Fatalf("unexpected %s %s", ev.Type, ev.Object.GetObjectMeta().Name)
			}
		default:
			return
		}
	}
}

func names(objs []meta.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetObjectMeta().Name)
	}
	return out
}

func TestListGetAndFreshness(t *testing.T) {
	e := start(t, watchcache.Options{FreshTimeout: 300 * time.Millisecond}, "b", "a")
	items, rv := e.cache.List(nil)
	if !slices.Equal(names(items), []string{"a", "b"}) || rv == 0 {
		t.Fatalf("initial list = %v at %d", names(items), rv)
	}

	crv := e.create("c", "v", "app", "x")
	e.fresh(crv)
	items, rv = e.cache.List(func(o meta.Object) bool { return o.GetObjectMeta().Labels["app"] == "x" })
	if !slices.Equal(names(items), []string{"c"}) || rv < crv {
		t.Fatalf("filtered list = %v at %d, want [c] at >= %d", names(items), rv, crv)
	}
	if o, ok := e.cache.Get(key("c")); !ok || o.GetObjectMeta().ResourceVersion != fmt.Sprint(crv) {
		t.Fatalf("get c = %v %v", o, ok)
	}

	// A revision written under another prefix is reached through etcd's progress notifications.
	other := storagetest.NewObject("ns", "x", "v")
	if err := e.store.Create(context.Background(), "/registry/others/ns/x", other); err != nil {
		t.Fatal(err)
	}
	e.fresh(storagetest.RV(t, other))

	if err := e.cache.WaitUntilFresh(context.Background(), 1<<40); !errors.Is(err, storage.ErrTooLargeResourceVersion) {
		t.Fatalf("waiting for a future revision: %v", err)
	}
}

func TestWatchResumesFromHistory(t *testing.T) {
	e := start(t, watchcache.Options{HistorySize: 5})
	base := e.cache.ResourceVersion()
	all := []got{
		{meta.Added, "a", "1", e.create("a", "1")},
		{meta.Modified, "a", "2", e.update("a", func(o *storagetest.Object) { o.Value = "2" })},
		{meta.Added, "b", "1", e.create("b", "1")},
		{meta.Deleted, "a", "2", e.delete("a")},
	}
	e.fresh(all[3].RV)

	var watchers []*watchcache.Watcher
	for i, from := range []int64{base, all[0].RV, all[1].RV, all[2].RV, all[3].RV} {
		w := e.watch(from, nil, watchcache.WatchOptions{})
		if got := receive(t, w, len(all)-i); !slices.Equal(got, all[i:]) {
			t.Fatalf("replay from %d = %v, want %v", from, got, all[i:])
		}
		watchers = append(watchers, w)
	}
	// Then live, with nothing repeated.
	live := got{meta.Added, "c", "1", e.create("c", "1")}
	for _, w := range watchers {
		if got := receive(t, w, 1); got[0] != live {
			t.Fatalf("after the replay got %v, want %v", got, live)
		}
	}

	// The ring holds 5 events: one more pushes the first out.
	e.fresh(e.create("d", "1"))
	if _, err := e.cache.Watch(context.Background(), base, nil, watchcache.WatchOptions{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from before the history: %v, want ErrExpired", err)
	}
	e.watch(all[0].RV, nil, watchcache.WatchOptions{}) // the oldest one still resumable
}

func TestFilterTransitions(t *testing.T) {
	e := start(t, watchcache.Options{})
	matches := func(o meta.Object) bool { return o.GetObjectMeta().Labels["app"] == "x" }
	w := e.watch(0, matches, watchcache.WatchOptions{})
	label := func(v string) func(*storagetest.Object) {
		return func(o *storagetest.Object) { o.Labels = map[string]string{"app": v} }
	}

	steps := []struct {
		name string
		do   func() int64
		want *got // nil: the watcher sees nothing
	}{
		{"create matching", func() int64 { return e.create("a", "1", "app", "x") }, &got{Type: meta.Added, Name: "a", Value: "1"}},
		{"modify while matching", func() int64 { return e.update("a", func(o *storagetest.Object) { o.Value = "2" }) }, &got{Type: meta.Modified, Name: "a", Value: "2"}},
		{"stop matching", func() int64 { return e.update("a", label("y")) }, &got{Type: meta.Deleted, Name: "a", Value: "2"}},
		{"modify while not matching", func() int64 { return e.update("a", func(o *storagetest.Object) { o.Value = "3" }) }, nil},
		{"start matching", func() int64 { return e.update("a", label("x")) }, &got{Type: meta.Added, Name: "a", Value: "3"}},
		{"create not matching", func() int64 { return e.create("b", "1", "app", "y") }, nil},
		{"delete not matching", func() int64 { return e.delete("b") }, nil},
		{"delete matching", func() int64 { return e.delete("a") }, &got{Type: meta.Deleted, Name: "a", Value: "3"}},
	}
	for _, step := range steps {
		rv := step.do()
		if step.want == nil {
			expectNothingUpTo(t, e, w, rv)
			continue
		}
		want := *step.want
		want.RV = rv
		if g := receive(t, w, 1)[0]; g != want {
			t.Fatalf("%s: got %+v, want %+v", step.name, g, want)
		}
	}
}

func TestSlowWatcherIsClosedAlone(t *testing.T) {
	e := start(t, watchcache.Options{})
	slow := e.watch(0, nil, watchcache.WatchOptions{BufferSize: 5})
	fast := e.watch(0, nil, watchcache.WatchOptions{BufferSize: 100}) // room for all 20, however late it reads

	var wg sync.WaitGroup
	var fastGot []got
	wg.Go(func() { fastGot = receive(t, fast, 20) })
	for i := range 20 {
		e.create(fmt.Sprintf("o%02d", i), "v")
	}
	wg.Wait()
	if len(fastGot) != 20 {
		t.Fatalf("fast watcher got %d events", len(fastGot))
	}

	n := 0
	for range slow.ResultChan() { // what was buffered, then the close
		n++
	}
	if n > 5 || !errors.Is(slow.Err(), watchcache.ErrSlowWatcher) {
		t.Fatalf("slow watcher: %d events, err %v; want at most 5 and ErrSlowWatcher", n, slow.Err())
	}
	if fast.Err() != nil {
		t.Fatalf("fast watcher closed: %v", fast.Err())
	}
	st := e.cache.Stats()
	if st.WatchersOpen != 1 || st.WatchersTerminatedSlow != 1 || st.EventsReceived != 20 {
		t.Fatalf("stats = %+v", st)
	}
}

// The initial state and the live events that follow must add up to the store's state:
// no gap and no duplicate, even with writes racing the watch's start, and whether the
// initial events fit the channel or need the catch-up goroutine.
func TestInitialStateThenLive(t *testing.T) {
	var initial []string
	for i := range 150 {
		initial = append(initial, fmt.Sprintf("i%03d", i))
	}
	// 150 initial events fit a buffer of 1000 (sent at once) but not one of 100 (fed by the
	// catch-up goroutine); the 40 racing events fit either, so the reader's pace cannot matter.
	for _, buffer := range []int{1000, 100} {
		t.Run(fmt.Sprintf("buffer %d", buffer), func(t *testing.T) {
			e := start(t, watchcache.Options{}, initial...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			// Writers race the watch's start. (Not e.create: t.Fatal is for the test's goroutine.)
			finalc := make(chan int64, 1)
			writersDone := make(chan struct{})
			defer func() { <-writersDone }()
			go func() {
				defer close(writersDone)
				for i := range 30 {
					name := fmt.Sprintf("w%02d", i)
					if err := e.store.Create(ctx, key(name), storagetest.NewObject("ns", name, "1")); err != nil {
						t.Error(err)
						return
					}
					if i%3 == 0 {
						if _, err := e.store.Delete(ctx, key(name), storagetest.New, nil); err != nil {
							t.Error(err)
							return
						}
					}
				}
				rv, _ := e.store.CurrentRevision(ctx)
				finalc <- rv
			}()
			w, err := e.cache.Watch(ctx, 0, nil, watchcache.WatchOptions{SendInitialState: true, InitialEventsEnd: true, BufferSize: buffer})
			if err != nil {
				t.Fatal(err)
			}
			final := int64(1 << 62)

			state := map[string]int64{}
			var lastRV int64
			initialDone := false
			timeout := time.After(10 * time.Second)
			for !initialDone || lastRV < final {
				select {
				case final = <-finalc:
				case ev, ok := <-w.ResultChan():
					if !ok {
						t.Fatalf("watcher closed: %v", w.Err())
					}
					if ev.Type == meta.Bookmark {
						if !ev.InitialEventsEnd || initialDone {
							t.Fatalf("unexpected bookmark %+v", ev)
						}
						initialDone = true
						continue
					}
					name := ev.Object.GetObjectMeta().Name
					if initialDone && ev.ResourceVersion <= lastRV {
						t.Fatalf("event at %d after %d: repeated or out of order", ev.ResourceVersion, lastRV)
					}
					switch _, exists := state[name]; {
					case ev.Type == meta.Added && exists, ev.Type != meta.Added && !exists:
						t.Fatalf("%s for %s inconsistent with what was sent before", ev.Type, name)
					}
					if ev.Type == meta.Deleted {
						delete(state, name)
					} else {
						state[name] = ev.ResourceVersion
					}
					lastRV = max(lastRV, ev.ResourceVersion)
				case <-timeout:
					t.Fatalf("stuck at %d, want %d", lastRV, final)
				}
			}
			items, _ := e.cache.List(nil)
			if want := names(items); !slices.Equal(slices.Sorted(maps.Keys(state)), want) {
				t.Fatalf("watch built %v, store has %v", slices.Sorted(maps.Keys(state)), want)
			}
		})
	}
}

func TestBookmarks(t *testing.T) {
	e := start(t, watchcache.Options{BookmarkInterval: 50 * time.Millisecond})
	plain := e.watch(0, nil, watchcache.WatchOptions{})
	w := e.watch(0, nil, watchcache.WatchOptions{Bookmarks: true})
	rv := e.create("a", "v")
	receive(t, w, 1)

	// Nothing else happens under the prefix; a write elsewhere should still show up in a
	// bookmark, through etcd's progress notification.
	other := storagetest.NewObject("ns", "x", "v")
	if err := e.store.Create(context.Background(), "/registry/others/ns/x", other); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != meta.Bookmark {
				t.Fatalf("unexpected %s", ev.Type)
			}
			if ev.ResourceVersion < rv || ev.Object.GetObjectMeta().ResourceVersion != fmt.Sprint(ev.ResourceVersion) {
				t.Fatalf("bookmark at %d (object %q), want >= %d", ev.ResourceVersion, ev.Object.GetObjectMeta().ResourceVersion, rv)
			}
			if ev.ResourceVersion >= storagetest.RV(t, other) {
				if got := receive(t, plain, 1); got[0].RV != rv { // and no bookmark for who did not ask
					t.Fatalf("plain watcher got %v", got)
				}
				select {
				case ev := <-plain.ResultChan():
					t.Fatalf("plain watcher got %s", ev.Type)
				default:
				}
				return
			}
		case <-timeout:
			t.Fatal("no bookmark with the other prefix's revision")
		}
	}
}

func TestStopAndContextEnd(t *testing.T) {
	e := start(t, watchcache.Options{})
	stopped := e.watch(0, nil, watchcache.WatchOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	byCtx, err := e.cache.Watch(ctx, 0, nil, watchcache.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopped.Stop()
	stopped.Stop() // idempotent
	cancel()
	for _, w := range []*watchcache.Watcher{stopped, byCtx} {
		storagetest.Eventually(t, 5*time.Second, "the channel to close", func() bool {
			select {
			case _, ok := <-w.ResultChan():
				return !ok
			default:
				return false
			}
		})
		if w.Err() != nil {
			t.Fatalf("Err() = %v after a normal stop", w.Err())
		}
	}
	storagetest.Eventually(t, 5*time.Second, "no watchers", func() bool { return e.cache.Stats().WatchersOpen == 0 })
	e.fresh(e.create("a", "v")) // dispatching to nobody is fine
}

// ObjectJSON is encoded once and shared by every watcher that gets the event.
func TestObjectJSONIsShared(t *testing.T) {
	e := start(t, watchcache.Options{})
	w1 := e.watch(0, nil, watchcache.WatchOptions{})
	w2 := e.watch(0, func(meta.Object) bool { return true }, watchcache.WatchOptions{})
	e.create("a", "v")
	ev1, ev2 := <-w1.ResultChan(), <-w2.ResultChan()
	j1, j2 := ev1.ObjectJSON(), ev2.ObjectJSON()
	if len(j1) == 0 || &j1[0] != &j2[0] {
		t.Fatalf("JSON not shared: %s / %s", j1, j2)
	}
	want := fmt.Sprintf(`"resourceVersion":"%d"`, ev1.ResourceVersion)
	if !strings.Contains(string(j1), want) {
		t.Fatalf("JSON %s lacks %s", j1, want)
	}
}

// The history is bounded by bytes as well as events: updates of a large object push old
// events out, and a watch from before what is kept gets ErrExpired (410), while a watch
// from the newest events still resumes (reliability issue: 300 updates of a 900 KB
// ConfigMap took the API server from 1.4 to 4.1 GB).
func TestHistoryBoundedByBytes(t *testing.T) {
	e := start(t, watchcache.Options{HistoryBytes: 1 << 20}) // 1 MiB
	big := strings.Repeat("x", 200<<10)                      // each update event holds ~400 KiB (object and previous)
	first := e.create("big", big)
	var rvs []int64
	for i := 0; i < 20; i++ {
		rvs = append(rvs, e.update("big", func(o *storagetest.Object) { o.Value = big + strconv.Itoa(i) }))
	}
	e.fresh(rvs[len(rvs)-1])
	if _, err := e.cache.Watch(context.Background(), first, nil, watchcache.WatchOptions{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from the first of 21 large events in a 1 MiB history: %v, want ErrExpired", err)
	}
	// The last two updates (~800 KiB) fit: resuming from the one before them replays both.
	w := e.watch(rvs[len(rvs)-3], nil, watchcache.WatchOptions{})
	got := receive(t, w, 2)
	if got[0].RV != rvs[len(rvs)-2] || got[1].RV != rvs[len(rvs)-1] {
		t.Fatalf("replay %v, want the last two updates %v", got, rvs[len(rvs)-2:])
	}
	// One event larger than the whole bound is still kept (the newest always is).
	huge := strings.Repeat("y", 1100<<10) // with the previous value, over the 1 MiB bound
	last := e.update("big", func(o *storagetest.Object) { o.Value = huge })
	e.fresh(last)
	w = e.watch(rvs[len(rvs)-1], nil, watchcache.WatchOptions{})
	if got := receive(t, w, 1); got[0].RV != last {
		t.Fatalf("replay of the oversized event %v, want rv %d", got, last)
	}
}
