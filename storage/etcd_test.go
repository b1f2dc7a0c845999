package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
)

const prefix = "/registry/tests/"

func key(ns, name string) string { return prefix + ns + "/" + name }

func ptr[T any](v T) *T { return &v }

func create(t *testing.T, s storage.Interface, ns, name, value string, labels ...string) *storagetest.Object {
	t.Helper()
	o := storagetest.NewObject(ns, name, value, labels...)
	if err := s.Create(context.Background(), key(ns, name), o); err != nil {
		t.Fatalf("create %s/%s: %v", ns, name, err)
	}
	return o
}

func setValue(v string) storage.UpdateFunc {
	return func(cur meta.Object) (meta.Object, error) {
		cur.(*storagetest.Object).Value = v
		return cur, nil
	}
}

func TestCRUD(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()

	o := create(t, s, "ns", "a", "one")
	rv1 := storagetest.RV(t, o)

	var got storagetest.Object
	if err := s.Get(ctx, key("ns", "a"), &got); err != nil {
		t.Fatal(err)
	}
	if got.Value != "one" || storagetest.RV(t, &got) != rv1 {
		t.Fatalf("get = %q rv %s, want one rv %d", got.Value, got.ResourceVersion, rv1)
	}

	updated, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, setValue("two"))
	if err != nil {
		t.Fatal(err)
	}
	rv2 := storagetest.RV(t, updated)
	if rv2 <= rv1 || updated.(*storagetest.Object).Value != "two" {
		t.Fatalf("update = %+v, want value two and rv > %d", updated, rv1)
	}

	// An update that changes nothing writes nothing and keeps the resourceVersion.
	same, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, setValue("two"))
	if err != nil {
		t.Fatal(err)
	}
	if rv := storagetest.RV(t, same); rv != rv2 {
		t.Fatalf("no-op update moved rv %d -> %d", rv2, rv)
	}
	if cur, _ := s.CurrentRevision(ctx); cur != rv2 {
		t.Fatalf("no-op update wrote: current revision %d, want %d", cur, rv2)
	}

	deleted, err := s.Delete(ctx, key("ns", "a"), storagetest.New, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rv := storagetest.RV(t, deleted); rv <= rv2 || deleted.(*storagetest.Object).Value != "two" {
		t.Fatalf("delete returned %+v, want last state with the deletion's rv", deleted)
	}
	if err := s.Get(ctx, key("ns", "a"), &storagetest.Object{}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
}

func TestErrors(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	existing := create(t, s, "ns", "exists", "v")

	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"create existing", func() error {
			return s.Create(ctx, key("ns", "exists"), storagetest.NewObject("ns", "exists", "w"))
		}, storage.ErrAlreadyExists},
		{"get missing", func() error {
			return s.Get(ctx, key("ns", "missing"), &storagetest.Object{})
		}, storage.ErrNotFound},
		{"update missing", func() error {
			_, err := s.GuaranteedUpdate(ctx, key("ns", "missing"), storagetest.New, setValue("x"))
			return err
		}, storage.ErrNotFound},
		{"delete missing", func() error {
			_, err := s.Delete(ctx, key("ns", "missing"), storagetest.New, nil)
			return err
		}, storage.ErrNotFound},
		{"tryUpdate error aborts", func() error {
			_, err := s.GuaranteedUpdate(ctx, key("ns", "exists"), storagetest.New, func(meta.Object) (meta.Object, error) {
				return nil, storage.ErrConflict
			})
			return err
		}, storage.ErrConflict},
		{"list at a future revision", func() error {
			_, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{ResourceVersion: 1 << 40})
			return err
		}, storage.ErrTooLargeResourceVersion},
		{"garbage continue", func() error {
			_, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{Continue: "!!"})
			return err
		}, storage.ErrInvalidContinue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}

	var got storagetest.Object
	if err := s.Get(ctx, key("ns", "exists"), &got); err != nil || got.Value != "v" || got.ResourceVersion != existing.ResourceVersion {
		t.Fatalf("failed operations changed the object: %+v, %v", got, err)
	}
}

// A stale write is a Conflict when the caller checks the resourceVersion it read (as the API
// server does for updates), and concurrent read-modify-writes never lose an update.
func TestGuaranteedUpdateConflicts(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	stale := create(t, s, "ns", "a", "0")
	if _, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, setValue("fresh")); err != nil {
		t.Fatal(err)
	}
	requireRV := func(want string) storage.UpdateFunc {
		return func(cur meta.Object) (meta.Object, error) {
			if cur.GetObjectMeta().ResourceVersion != want {
				return nil, fmt.Errorf("%w: object was modified", storage.ErrConflict)
			}
			return cur, nil
		}
	}
	if _, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, requireRV(stale.ResourceVersion)); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}

	const writers, perWriter = 8, 10
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range perWriter {
				_, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, func(cur meta.Object) (meta.Object, error) {
					o := cur.(*storagetest.Object)
					n, _ := strconv.Atoi(o.Value)
					o.Value = strconv.Itoa(n + 1)
					return o, nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var got storagetest.Object
	if err := s.Get(ctx, key("ns", "a"), &got); err != nil {
		t.Fatal(err)
	}
	// "fresh" parses as 0, so the counter counts exactly the concurrent increments.
	if got.Value != strconv.Itoa(writers*perWriter) {
		t.Fatalf("counter = %s after %d increments: lost updates", got.Value, writers*perWriter)
	}
}

func TestDeletePreconditions(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	o := storagetest.NewObject("ns", "a", "v")
	o.UID = "uid-1"
	if err := s.Create(ctx, key("ns", "a"), o); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		pre  *meta.Preconditions
		want error
	}{
		{"wrong uid", &meta.Preconditions{UID: ptr("uid-2")}, storage.ErrConflict},
		{"stale resourceVersion", &meta.Preconditions{ResourceVersion: ptr("1")}, storage.ErrConflict},
		{"right uid, wrong resourceVersion", &meta.Preconditions{UID: ptr("uid-1"), ResourceVersion: ptr("1")}, storage.ErrConflict},
		{"both match", &meta.Preconditions{UID: ptr("uid-1"), ResourceVersion: ptr(o.ResourceVersion)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Delete(ctx, key("ns", "a"), storagetest.New, storage.CheckPreconditions(tt.pre))
			if !errors.Is(err, tt.want) {
				t.Fatalf("delete: %v, want %v", err, tt.want)
			}
		})
	}
}

// Pages of one list are all read at the first page's revision, whatever is written between
// them, and RemainingItemCount counts what is left.
func TestListPaginationIsConsistent(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("o%02d", i)
		create(t, s, "ns", name, "v")
		want = append(want, name)
	}

	var names []string
	var remaining []int64
	opts := storage.ListOptions{Limit: 10}
	var listRV int64
	for page := 0; ; page++ {
		res, err := s.List(ctx, prefix, storagetest.New, opts)
		if err != nil {
			t.Fatal(err)
		}
		if page == 0 {
			listRV = res.ResourceVersion
		} else if res.ResourceVersion != listRV {
			t.Fatalf("page %d read at %d, first page at %d", page, res.ResourceVersion, listRV)
		}
		for _, o := range res.Items {
			names = append(names, o.GetObjectMeta().Name)
		}
		if res.RemainingItemCount != nil {
			remaining = append(remaining, *res.RemainingItemCount)
		}
		if res.Continue == "" {
			break
		}
		// Writes between pages must not show up in this list.
		create(t, s, "ns", fmt.Sprintf("new%d", page), "v")
		if _, err := s.Delete(ctx, key("ns", fmt.Sprintf("o%02d", 24-page)), storagetest.New, nil); err != nil {
			t.Fatal(err)
		}
		opts.Continue = res.Continue
	}
	if !slices.Equal(names, want) {
		t.Fatalf("paged list = %v, want the snapshot %v", names, want)
	}
	if !slices.Equal(remaining, []int64{15, 5}) {
		t.Fatalf("remainingItemCount = %v, want [15 5]", remaining)
	}
}

func TestListWithPredicate(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	for i := range 300 {
		value := "odd"
		if i%2 == 0 {
			value = "even"
		}
		create(t, s, "ns", fmt.Sprintf("o%03d", i), value)
	}
	isEven := func(o meta.Object) bool { return o.(*storagetest.Object).Value == "even" }

	tests := []struct {
		name      string
		limit     int64
		wantPages int
	}{
		{"no limit", 0, 1},
		{"pages across etcd reads", 40, 4},
		{"limit equal to the matches", 150, 1},
		{"limit above the matches", 1000, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := storage.ListOptions{Limit: tt.limit, Predicate: isEven}
			var count, pages int
			for {
				res, err := s.List(ctx, prefix, storagetest.New, opts)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if tt.limit > 0 && int64(len(res.Items)) > tt.limit {
					t.Fatalf("page of %d items, limit %d", len(res.Items), tt.limit)
				}
				if res.RemainingItemCount != nil {
					t.Fatalf("remainingItemCount set on a filtered list")
				}
				for _, o := range res.Items {
					if !isEven(o) {
						t.Fatalf("predicate not applied: %s", o.GetObjectMeta().Name)
					}
				}
				count += len(res.Items)
				if res.Continue == "" {
					break
				}
				opts.Continue = res.Continue
			}
			if count != 150 || pages != tt.wantPages {
				t.Fatalf("got %d items in %d pages, want 150 in %d", count, pages, tt.wantPages)
			}
		})
	}
}

func TestListAtRevisionAndCompaction(t *testing.T) {
	s, e := storagetest.NewStore(t)
	ctx := context.Background()
	create(t, s, "ns", "a", "v")
	b := create(t, s, "ns", "b", "v")
	create(t, s, "ns", "c", "v")

	res, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{ResourceVersion: storagetest.RV(t, b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || res.ResourceVersion != storagetest.RV(t, b) {
		t.Fatalf("list at %s: %d items at rv %d, want 2 at that rv", b.ResourceVersion, len(res.Items), res.ResourceVersion)
	}
	first, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}

	d := create(t, s, "ns", "d", "v")
	if _, err := e.Client().Compact(ctx, storagetest.RV(t, d)); err != nil {
		t.Fatal(err)
	}
	_, err = s.List(ctx, prefix, storagetest.New, storage.ListOptions{ResourceVersion: storagetest.RV(t, b)})
	if !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("list at a compacted revision: %v, want ErrExpired", err)
	}
	_, err = s.List(ctx, prefix, storagetest.New, storage.ListOptions{Continue: first.Continue})
	if !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("continue at a compacted revision: %v, want ErrExpired", err)
	}
	// The error offers the rest of the list at the newest revision (Kubernetes' inconsistent
	// continue): from the same key on, with what was written since.
	var ce *storage.ContinueExpiredError
	if !errors.As(err, &ce) || ce.Continue == "" {
		t.Fatalf("continue at a compacted revision: %v, want a ContinueExpiredError with a token", err)
	}
	rest, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{Continue: ce.Continue, Limit: 2})
	if err != nil {
		t.Fatalf("list with the inconsistent token: %v", err)
	}
	if len(rest.Items) != 2 || rest.Items[0].GetObjectMeta().Name != "b" || rest.Items[1].GetObjectMeta().Name != "c" ||
		rest.ResourceVersion < storagetest.RV(t, d) || rest.RemainingItemCount == nil || *rest.RemainingItemCount != 1 {
		t.Fatalf("inconsistent continue: %d items %v at rv %d (d at %d), remaining %v", len(rest.Items), rest.Items, rest.ResourceVersion, storagetest.RV(t, d), rest.RemainingItemCount)
	}
	last, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{Continue: rest.Continue, Limit: 2})
	if err != nil || len(last.Items) != 1 || last.Items[0].GetObjectMeta().Name != "d" || last.ResourceVersion != rest.ResourceVersion {
		t.Fatalf("next page: %v %v", last, err)
	}
	if n, err := s.Count(ctx, prefix); err != nil || n != 4 {
		t.Fatalf("count = %d, %v; want 4", n, err)
	}
}

// collect reads n events or fails at the deadline.
func collect(t *testing.T, events <-chan storage.Event, n int) []storage.Event {
	t.Helper()
	var got []storage.Event
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("watch closed after %d of %d events", len(got), n)
			}
			got = append(got, ev)
		case <-timeout:
			t.Fatalf("got %d of %d events before the deadline", len(got), n)
		}
	}
	return got
}

type seen struct {
	Type, Name, Value string
	RV                int64
}

func summarize(t *testing.T, events []storage.Event) []seen {
	var out []seen
	for _, ev := range events {
		o := ev.Object.(*storagetest.Object)
		if storagetest.RV(t, o) != ev.ResourceVersion {
			t.Fatalf("%s event at %d carries object rv %s", ev.Type, ev.ResourceVersion, o.ResourceVersion)
		}
		out = append(out, seen{ev.Type, o.Name, o.Value, ev.ResourceVersion})
	}
	return out
}

func TestWatchResumesWithoutGapsOrRepeats(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	start, _ := s.CurrentRevision(ctx)
	a := create(t, s, "ns", "a", "1")
	up, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, setValue("2"))
	if err != nil {
		t.Fatal(err)
	}
	del, err := s.Delete(ctx, key("ns", "a"), storagetest.New, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := create(t, s, "ns", "b", "1")
	all := []seen{
		{meta.Added, "a", "1", storagetest.RV(t, a)},
		{meta.Modified, "a", "2", storagetest.RV(t, up)},
		{meta.Deleted, "a", "2", storagetest.RV(t, del)},
		{meta.Added, "b", "1", storagetest.RV(t, b)},
	}

	for i, from := range []int64{start, all[0].RV, all[1].RV, all[2].RV} {
		t.Run(fmt.Sprintf("from %d", from), func(t *testing.T) {
			events, _, err := s.Watch(ctx, prefix, storagetest.New, from)
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(t, collect(t, events, len(all)-i))
			if !slices.Equal(got, all[i:]) {
				t.Fatalf("events = %v, want %v", got, all[i:])
			}
		})
	}

	// A live watch from now sees only what happens next, with the previous state attached.
	events, _, err := s.Watch(ctx, prefix, storagetest.New, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GuaranteedUpdate(ctx, key("ns", "b"), storagetest.New, setValue("3")); err != nil {
		t.Fatal(err)
	}
	ev := collect(t, events, 1)[0]
	if ev.Type != meta.Modified || ev.PrevObject.(*storagetest.Object).Value != "1" || ev.Object.(*storagetest.Object).Value != "3" {
		t.Fatalf("live event = %+v", ev)
	}
}

func TestWatchFromCompactedRevisionExpires(t *testing.T) {
	s, e := storagetest.NewStore(t)
	ctx := context.Background()
	a := create(t, s, "ns", "a", "1")
	create(t, s, "ns", "b", "1")
	rv, _ := s.CurrentRevision(ctx)
	if _, err := e.Client().Compact(ctx, rv); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Watch(ctx, prefix, storagetest.New, storagetest.RV(t, a)-1); !errors.Is(err, storage.ErrExpired) {
		t.Fatalf("watch error %v, want ErrExpired", err)
	}
	// From the compaction's revision on, the watch works.
	events, _, err := s.Watch(ctx, prefix, storagetest.New, rv)
	if err != nil {
		t.Fatal(err)
	}
	c := create(t, s, "ns", "c", "1")
	if ev := collect(t, events, 1)[0]; ev.ResourceVersion != storagetest.RV(t, c) {
		t.Fatalf("got %+v, want the creation of c", ev)
	}
}

// A progress request makes a quiet watch report the revision it has reached, which is how a
// watch cache learns of writes under other prefixes.
func TestWatchProgressBookmark(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, _, err := s.Watch(ctx, prefix, storagetest.New, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := storagetest.NewObject("ns", "x", "v")
	if err := s.Create(ctx, "/registry/others/ns/x", other); err != nil {
		t.Fatal(err)
	}
	want := storagetest.RV(t, other)
	deadline := time.After(10 * time.Second)
	for {
		if err := s.(storage.ProgressRequester).RequestWatchProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-events:
			if ev.Type != meta.Bookmark || ev.Object != nil {
				t.Fatalf("unexpected event %+v", ev)
			}
			if ev.ResourceVersion >= want {
				return
			}
		case <-time.After(100 * time.Millisecond): // the watch may not be synced yet: ask again
		case <-deadline:
			t.Fatal("no progress bookmark")
		}
	}
}

// A watch started at the store's current revision (a watch cache that listed after the last
// write) must not hold back progress bookmarks for the other watches on the same stream:
// etcd answers no progress request while one of a stream's watches starts in the future.
func TestWatchFromCurrentRevisionLetsOthersProgress(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, _, err := s.Watch(ctx, prefix, storagetest.New, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := storagetest.NewObject("ns", "x", "v")
	if err := s.Create(ctx, "/registry/others/ns/x", other); err != nil {
		t.Fatal(err)
	}
	want := storagetest.RV(t, other)
	// Listed at the current revision, nothing written since.
	if _, _, err := s.Watch(ctx, "/registry/third/", storagetest.New, want); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		if err := s.(storage.ProgressRequester).RequestWatchProgress(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-first:
			if ev.Type != meta.Bookmark {
				t.Fatalf("unexpected event %+v", ev)
			}
			if ev.ResourceVersion >= want {
				return
			}
		case <-time.After(100 * time.Millisecond): // not synced yet: ask again
		case <-deadline:
			t.Fatal("no progress bookmark while another watch starts at the current revision")
		}
	}
}

func TestCompactor(t *testing.T) {
	s, e := storagetest.NewStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := create(t, s, "ns", "a", "1")
	go storage.RunCompactor(ctx, e.Client(), 50*time.Millisecond)

	// Keep writing: the compactor compacts to the revision it saw one interval before.
	storagetest.Eventually(t, 10*time.Second, "history before the first write to be compacted", func() bool {
		if _, err := s.GuaranteedUpdate(ctx, key("ns", "a"), storagetest.New, setValue(time.Now().String())); err != nil {
			t.Fatal(err)
		}
		_, err := s.List(ctx, prefix, storagetest.New, storage.ListOptions{ResourceVersion: storagetest.RV(t, a)})
		return errors.Is(err, storage.ErrExpired)
	})
}

func TestEmbeddedRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	runs := []storage.EmbeddedOptions{{UnsafeNoFsync: true}, {UnsafeNoFsync: true, ListenTCP: true}}
	for i, opts := range runs {
		e, err := storage.StartEmbedded(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		s := storage.NewEtcd(e.Client(), storage.EtcdOptions{})
		name := fmt.Sprintf("run%d", i)
		if err := s.Create(ctx, key("ns", name), storagetest.NewObject("ns", name, "v")); err != nil {
			t.Fatal(err)
		}
		n, err := s.Count(ctx, prefix)
		e.Close()
		if err != nil || n != int64(i+1) {
			t.Fatalf("run %d on %s: %d objects (%v), want %d", i, e.Endpoint(), n, err, i+1)
		}
	}
}

func TestGuaranteedUpdateFromStaleCachedObject(t *testing.T) {
	s, _ := storagetest.NewStore(t)
	ctx := context.Background()
	k := key("default", "c")
	obj := storagetest.NewObject("default", "c", "v1")
	if err := s.Create(ctx, k, obj); err != nil {
		t.Fatal(err)
	}
	stale := obj
	// Someone else updates: the cached copy is now stale.
	cur, err := s.GuaranteedUpdate(ctx, k, storagetest.New, func(o meta.Object) (meta.Object, error) {
		o.(*storagetest.Object).Value = "v2"
		return o, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// An update that requires the newest resourceVersion must succeed although the hint is stale.
	want := cur.GetObjectMeta().ResourceVersion
	out, err := s.GuaranteedUpdate(ctx, k, storagetest.New, func(o meta.Object) (meta.Object, error) {
		if o.GetObjectMeta().ResourceVersion != want {
			return nil, storage.ErrConflict
		}
		o.(*storagetest.Object).Value = "v3"
		return o, nil
	}, storage.WithCachedObject(stale))
	if err != nil {
		t.Fatalf("update from a stale cached copy: %v", err)
	}
	if out.(*storagetest.Object).Value != "v3" {
		t.Fatalf("got %v", out)
	}
	// A no-op against a stale copy must not report the stale state as current.
	out, err = s.GuaranteedUpdate(ctx, k, storagetest.New, func(o meta.Object) (meta.Object, error) {
		o.(*storagetest.Object).Value = "v1"
		return o, nil
	}, storage.WithCachedObject(stale))
	if err != nil {
		t.Fatal(err)
	}
	got := &storagetest.Object{}
	if err := s.Get(ctx, k, got); err != nil || got.Value != "v1" || got.ResourceVersion != out.GetObjectMeta().ResourceVersion {
		t.Fatalf("after writing v1 over v3 from a stale v1 copy: stored %+v (returned rv %s), err %v", got, out.GetObjectMeta().ResourceVersion, err)
	}
}
