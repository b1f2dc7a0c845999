package watchcache_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// fakeStore lists a fixed state and hands each Watch a channel the test feeds, so the
// cache's own logic (and its speed) can be exercised without etcd.
type fakeStore struct {
	storage.Interface // unused methods panic

	mu      sync.Mutex
	listRV  int64
	items   []meta.Object
	watches chan fakeWatch
}

type fakeWatch struct {
	fromRV int64
	events chan storage.Event
	errc   chan error
}

func newFakeStore(listRV int64) *fakeStore {
	return &fakeStore{listRV: listRV, watches: make(chan fakeWatch, 10)}
}

func (f *fakeStore) List(ctx context.Context, prefix string, newFunc storage.NewFunc, opts storage.ListOptions) (*storage.ListResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &storage.ListResult{Items: f.items, ResourceVersion: f.listRV}, nil
}

func (f *fakeStore) Watch(ctx context.Context, prefix string, newFunc storage.NewFunc, fromRV int64) (<-chan storage.Event, <-chan error, error) {
	w := fakeWatch{fromRV: fromRV, events: make(chan storage.Event, 1024), errc: make(chan error, 1)}
	f.watches <- w
	return w.events, w.errc, nil
}

func (f *fakeStore) nextWatch(t testing.TB) fakeWatch {
	t.Helper()
	select {
	case w := <-f.watches:
		return w
	case <-time.After(5 * time.Second):
		t.Fatal("the cache did not watch")
		return fakeWatch{}
	}
}

func added(name string, rv int64) storage.Event {
	o := storage.WithResourceVersion(storagetest.NewObject("ns", name, "v"), rv)
	return storage.Event{Type: meta.Added, Object: o, ResourceVersion: rv}
}

func runFake(t testing.TB, f *fakeStore, opts watchcache.Options) (*watchcache.Cache, context.CancelFunc) {
	opts.Logger = slog.New(slog.DiscardHandler) // the failures are the point
	c := watchcache.New(f, prefix, storagetest.New, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	return c, stop
}

// A failed watch resumes from the last revision without disturbing watchers; a compacted
// one forces a relist, which resets the history and cuts every watcher off.
func TestWatchFailureAndRelist(t *testing.T) {
	f := newFakeStore(10)
	c, stop := runFake(t, f, watchcache.Options{})
	first := f.nextWatch(t)
	if first.fromRV != 10 {
		t.Fatalf("watch from %d, want the list's 10", first.fromRV)
	}
	w, err := c.Watch(context.Background(), 0, nil, watchcache.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}

	first.events <- added("a", 11)
	first.errc <- errors.New("connection reset")
	close(first.events)
	second := f.nextWatch(t)
	if second.fromRV != 11 {
		t.Fatalf("resumed from %d, want 11", second.fromRV)
	}
	second.events <- added("b", 12)
	for _, want := range []string{"a", "b"} {
		if ev := <-w.ResultChan(); ev.Object.GetObjectMeta().Name != want {
			t.Fatalf("got %s, want %s", ev.Object.GetObjectMeta().Name, want)
		}
	}

	f.mu.Lock()
	f.listRV = 20
	f.mu.Unlock()
	second.errc <- storage.ErrExpired
	close(second.events)
	third := f.nextWatch(t)
	if third.fromRV != 20 {
		t.Fatalf("after relist watched from %d, want 20", third.fromRV)
	}
	if _, ok := <-w.ResultChan(); ok || !errors.Is(w.Err(), watchcache.ErrCacheReset) {
		t.Fatalf("watcher after relist: open %v, err %v", ok, w.Err())
	}
	if _, err := c.Watch(context.Background(), 12, nil, watchcache.WatchOptions{}); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch from before the relist: %v, want ErrExpired", err)
	}
	if st := c.Stats(); st.Relists != 2 || st.ResourceVersion != 20 {
		t.Fatalf("stats = %+v", st)
	}

	w2, err := c.Watch(context.Background(), 0, nil, watchcache.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if _, ok := <-w2.ResultChan(); ok || !errors.Is(w2.Err(), watchcache.ErrCacheStopped) {
		t.Fatalf("watcher after Run ended: open %v, err %v", ok, w2.Err())
	}
}

// BenchmarkFanout measures delivery: 1,000 creates to 100 watchers, each reading its own
// channel as an API server's watch handler would. Reported as deliveries per second.
func BenchmarkFanout(b *testing.B) {
	const watchers, events = 100, 1000
	f := newFakeStore(1)
	c, _ := runFake(b, f, watchcache.Options{})
	feed := f.nextWatch(b)
	matchAll := func(meta.Object) bool { return true }
	objs := make([]meta.Object, events)
	for i := range objs {
		objs[i] = storagetest.NewObject("ns", "o", "v")
	}

	rv := int64(1)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range watchers {
			w, err := c.Watch(ctx, 0, matchAll, watchcache.WatchOptions{})
			if err != nil {
				b.Fatal(err)
			}
			wg.Go(func() {
				for n := 0; n < events; n++ {
					if _, ok := <-w.ResultChan(); !ok {
						b.Errorf("watcher closed: %v", w.Err())
						return
					}
				}
			})
		}
		for i := range events {
			rv++
			o := storage.WithResourceVersion(objs[i], rv)
			feed.events <- storage.Event{Type: meta.Added, Object: o, ResourceVersion: rv}
		}
		wg.Wait()
		cancel()
	}
	b.ReportMetric(float64(b.N*watchers*events)/time.Since(start).Seconds(), "deliveries/s")
}
