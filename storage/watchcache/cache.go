// Package watchcache keeps one resource's objects in memory, fed by a single etcd watch, and
// fans its changes out to any number of watchers, as the Kubernetes API server's cacher does.
// A list or watch served from here costs etcd nothing, and each change is decoded once and
// encoded once however many clients watch it.
//
// Guarantees: the cache's state at ResourceVersion() is exactly etcd's state of the prefix
// at that revision. A watcher receives every change after its starting revision exactly
// once, in revision order, or is closed (Watcher.Err says why) — never silently skips one.
// A watcher that cannot keep up is closed rather than slowing the others down.
package watchcache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

// Filter selects the objects a list or watcher wants (namespace, labels, fields); nil
// accepts all. It is called on the dispatch path for every event and watcher, so it must
// be fast and must not block or mutate the object.
type Filter func(meta.Object) bool

// Options tunes a Cache. The zero value gives Kubernetes-like defaults.
type Options struct {
	// HistorySize is how many recent events are kept for watches that resume from a
	// resourceVersion (default 10000); an older resourceVersion gets storage.ErrExpired.
	HistorySize int
	// HistoryBytes bounds the history by the size of the objects it holds as well (default
	// 64 MiB): a few updates of a large object must not pin gigabytes. The newest event is
	// always kept. Trimming by either bound keeps the contract: a resourceVersion older
	// than the history gets storage.ErrExpired (410), and the client relists.
	HistoryBytes int
	// WatcherBuffer is each watcher's channel capacity (default 1000): how far a watcher may
	// fall behind before it is closed. It is allocated up front (72 bytes an event).
	WatcherBuffer int
	// BookmarkInterval is how often a quiet watcher that asked for bookmarks gets one
	// (default 1 minute).
	BookmarkInterval time.Duration
	// FreshTimeout bounds WaitUntilFresh (default 3 seconds).
	FreshTimeout time.Duration
	// ListPageSize is the page size of the initial and recovery lists (default 10000).
	ListPageSize int64
	// KeyFunc gives an object's storage key (default: prefix + "namespace/name", or prefix +
	// "name" for cluster-scoped objects, the /registry layout).
	KeyFunc func(meta.Object) string
	// Logger receives watch failures and relists (default slog.Default()).
	Logger *slog.Logger
}

// WatchOptions shape one watch.
type WatchOptions struct {
	// SendInitialState starts the watch with a synthetic Added event for every matching
	// object (in key order), then live events, with no gap or duplicate in between: what
	// Kubernetes does for a watch at resourceVersion "0" or "" and for sendInitialEvents.
	// fromRV then only means "not older than".
	SendInitialState bool
	// InitialEventsEnd follows the initial state with a Bookmark flagged InitialEventsEnd.
	InitialEventsEnd bool
	// Bookmarks asks for a Bookmark carrying the cache's resourceVersion whenever nothing
	// else was sent for a BookmarkInterval.
	Bookmarks bool
	// BufferSize overrides Options.WatcherBuffer for this watcher.
	BufferSize int
}

// Stats are counters for metrics; the counts are cumulative except WatchersOpen.
type Stats struct {
	EventsReceived         uint64 // changes read from etcd
	EventsDispatched       uint64 // events queued to watchers (one per watcher per event)
	WatchersOpen           int
	WatchersTerminatedSlow uint64
	Relists                uint64 // lists from etcd, the first one included
	ResourceVersion        int64
	HistoryOldestRevision  int64 // resuming from an older resourceVersion gets ErrExpired
}

// Cache is one resource's watch cache. Create it with New, start it with Run.
type Cache struct {
	store   storage.Interface
	prefix  string
	newFunc storage.NewFunc
	opts    Options
	log     *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once

	mu       sync.RWMutex
	objects  map[string]*entry
	history  []*eventData  // ring buffer of the last len(history) events
	head     int           // index of the oldest event
	count    int           // events in the ring
	bytes    int           // the Size of the events in the ring
	oldest   int64         // every change after this revision is in history
	rv       int64         // the cache has seen every change up to here
	watchers []*Watcher    // copy on write: the dispatcher iterates a snapshot unlocked
	fresh    chan struct{} // closed when rv advances; nil while nobody waits
	runCtx   context.Context
	stopped  bool

	received, dispatched, slow, relists atomic.Uint64
}

// New returns a cache of the objects under prefix (which ends in "/"). It serves nothing
// until Run has listed them (see Ready).
func New(store storage.Interface, prefix string, newFunc storage.NewFunc, opts Options) *Cache {
	if opts.HistorySize <= 0 {
		opts.HistorySize = 10000
	}
	if opts.HistoryBytes <= 0 {
		opts.HistoryBytes = 64 << 20
	}
	if opts.WatcherBuffer <= 0 {
		opts.WatcherBuffer = 1000
	}
	if opts.BookmarkInterval <= 0 {
		opts.BookmarkInterval = time.Minute
	}
	if opts.FreshTimeout <= 0 {
		opts.FreshTimeout = 3 * time.Second
	}
	if opts.ListPageSize <= 0 {
		opts.ListPageSize = 10000
	}
	if opts.KeyFunc == nil {
		opts.KeyFunc = func(o meta.Object) string {
			m := o.GetObjectMeta()
			if m.Namespace == "" {
				return prefix + m.Name
			}
			return prefix + m.Namespace + "/" + m.Name
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Cache{
		store:   store,
		prefix:  prefix,
		newFunc: newFunc,
		opts:    opts,
		log:     log.With("component", "watchcache", "prefix", prefix),
		ready:   make(chan struct{}),
		objects: map[string]*entry{},
		history: make([]*eventData, opts.HistorySize),
	}
}

// Run lists the prefix, then follows etcd's watch until ctx ends. A failed watch resumes
// from the last revision seen; only when etcd no longer has that revision (compaction)
// does the cache relist, resetting its history and closing every watcher with
// ErrCacheReset, because events in between are lost. When Run returns, all watchers are
// closed with ErrCacheStopped.
func (c *Cache) Run(ctx context.Context) {
	c.mu.Lock()
	c.runCtx = ctx
	c.mu.Unlock()
	defer c.stop()

	backoff := newBackoff()
	for ctx.Err() == nil {
		if err := c.relist(ctx); err != nil {
			if ctx.Err() == nil {
				c.log.Warn("listing failed", "err", err)
				backoff.wait(ctx)
			}
			continue
		}
		backoff.reset()
		for ctx.Err() == nil {
			progressed, err := c.follow(ctx)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, storage.ErrExpired) {
				c.log.Warn("watch fell behind etcd's history; relisting", "err", err)
				break
			}
			c.log.Warn("watch failed; resuming", "err", err, "resourceVersion", c.ResourceVersion())
			if progressed {
				backoff.reset()
			}
			backoff.wait(ctx)
		}
	}
}

// relist replaces the state with a fresh list and starts the history over.
func (c *Cache) relist(ctx context.Context) error {
	c.relists.Add(1)
	objects := map[string]*entry{}
	opts := storage.ListOptions{Limit: c.opts.ListPageSize}
	var rv int64
	for {
		page, err := c.store.List(ctx, c.prefix, c.newFunc, opts)
		if err != nil {
			return err
		}
		rv = page.ResourceVersion
		for _, obj := range page.Items {
			objRV, err := storage.ParseResourceVersion(obj.GetObjectMeta().ResourceVersion)
			if err != nil {
				return err
			}
			objects[c.opts.KeyFunc(obj)] = &entry{obj: obj, rv: objRV}
		}
		if page.Continue == "" {
			break
		}
		opts.Continue = page.Continue
	}

	c.mu.Lock()
	c.objects = objects
	clear(c.history)
	c.head, c.count, c.bytes, c.oldest = 0, 0, 0, rv
	c.advance(rv)
	cut := c.watchers
	c.watchers = nil
	c.mu.Unlock()

	for _, w := range cut {
		w.terminate(ErrCacheReset)
	}
	c.readyOnce.Do(func() { close(c.ready) })
	return nil
}

// follow watches etcd from the cache's revision and applies every event until the watch
// fails. progressed says whether it got anything before failing.
func (c *Cache) follow(ctx context.Context) (progressed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errc, err := c.store.Watch(ctx, c.prefix, c.newFunc, c.ResourceVersion())
	if err != nil {
		return false, err
	}
	ticker := time.NewTicker(c.opts.BookmarkInterval)
	defer ticker.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				select {
				case err := <-errc:
					return progressed, err
				default:
					return progressed, errors.New("watch ended")
				}
			}
			progressed = true
			c.apply(ev)
		case <-ticker.C:
			c.sendBookmarks()
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
	}
}

// apply records one change and dispatches it. Recording and taking the watcher snapshot
// happen under one lock, which is what makes Watch's replay-then-live handover exact: a
// watcher registered before sees the event live, one registered after finds it in history.
func (c *Cache) apply(ev storage.Event) {
	if ev.Type == meta.Bookmark {
		c.mu.Lock()
		c.advance(ev.ResourceVersion)
		c.mu.Unlock()
		return
	}
	c.received.Add(1)
	d := &eventData{Event: ev, cur: &entry{obj: ev.Object, rv: ev.ResourceVersion}}
	key := c.opts.KeyFunc(ev.Object)

	c.mu.Lock()
	if ev.Type == meta.Deleted {
		delete(c.objects, key)
	} else {
		c.objects[key] = d.cur
	}
	for c.count == len(c.history) || c.count > 0 && c.bytes+ev.Size > c.opts.HistoryBytes {
		old := c.history[c.head]
		c.oldest = old.ResourceVersion
		c.bytes -= old.Size
		c.history[c.head] = nil // let the objects go
		c.head = (c.head + 1) % len(c.history)
		c.count--
	}
	c.history[(c.head+c.count)%len(c.history)] = d
	c.count++
	c.bytes += ev.Size
	c.advance(ev.ResourceVersion)
	watchers := c.watchers
	c.mu.Unlock()

	var sent uint64
	var cut []*Watcher
	for _, w := range watchers {
		wev, ok := d.forFilter(w.filter)
		if !ok {
			continue
		}
		sent++
		if w.deliver(wev) {
			cut = append(cut, w)
		}
	}
	c.dispatched.Add(sent)
	if len(cut) > 0 {
		c.slow.Add(uint64(len(cut)))
		c.removeWatchers(cut...)
	}
}

// advance moves the cache's revision forward and wakes WaitUntilFresh. Caller holds mu.
func (c *Cache) advance(rv int64) {
	if rv <= c.rv {
		return
	}
	c.rv = rv
	if c.fresh != nil {
		close(c.fresh)
		c.fresh = nil
	}
}

// sendBookmarks gives quiet bookmark watchers the current revision, and asks etcd for
// progress so the next bookmarks carry a recent one even if this resource is idle.
func (c *Cache) sendBookmarks() {
	c.mu.RLock()
	rv, watchers := c.rv, c.watchers
	c.mu.RUnlock()
	wanted := false
	for _, w := range watchers {
		if w.bookmarks {
			wanted = true
			w.bookmark(c.bookmarkEvent(rv, false))
		}
	}
	if wanted {
		c.requestProgress()
	}
}

func (c *Cache) bookmarkEvent(rv int64, initialEventsEnd bool) Event {
	obj := storage.WithResourceVersion(c.newFunc(), rv)
	return Event{
		Event:            storage.Event{Type: meta.Bookmark, Object: obj, ResourceVersion: rv},
		InitialEventsEnd: initialEventsEnd,
		entry:            &entry{obj: obj, rv: rv},
	}
}

func (c *Cache) requestProgress() {
	pr, ok := c.store.(storage.ProgressRequester)
	if !ok {
		return
	}
	c.mu.RLock()
	ctx := c.runCtx
	c.mu.RUnlock()
	// The long-lived Run context, not a request's: etcd's client may open the watch
	// stream with it.
	if ctx != nil {
		_ = pr.RequestWatchProgress(ctx) // best effort; callers retry or time out
	}
}

// stop closes every watcher when Run ends.
func (c *Cache) stop() {
	c.mu.Lock()
	c.stopped = true
	cut := c.watchers
	c.watchers = nil
	c.mu.Unlock()
	for _, w := range cut {
		w.terminate(ErrCacheStopped)
	}
}

func (c *Cache) removeWatchers(ws ...*Watcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers = slices.DeleteFunc(slices.Clone(c.watchers), func(w *Watcher) bool {
		return slices.Contains(ws, w)
	})
}

// Ready is closed once the first list has been loaded.
func (c *Cache) Ready() <-chan struct{} { return c.ready }

// WaitReady waits for Ready or the end of ctx.
func (c *Cache) WaitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ResourceVersion is the revision the cache has caught up with.
func (c *Cache) ResourceVersion() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rv
}

// List returns the cached objects filter accepts, in key order, and the revision they
// are the state at. The objects are shared with the cache and every watcher: callers must
// never mutate them (copy first, e.g. with storage.WithResourceVersion for the version).
func (c *Cache) List(filter Filter) (items []meta.Object, rv int64) {
	type keyed struct {
		key string
		obj meta.Object
	}
	c.mu.RLock()
	matched := make([]keyed, 0, len(c.objects))
	for k, e := range c.objects {
		if filter == nil || filter(e.obj) {
			matched = append(matched, keyed{k, e.obj})
		}
	}
	rv = c.rv
	c.mu.RUnlock()

	slices.SortFunc(matched, func(a, b keyed) int { return cmp.Compare(a.key, b.key) })
	items = make([]meta.Object, len(matched))
	for i, m := range matched {
		items[i] = m.obj
	}
	return items, rv
}

// Get returns the cached object at key (shared: never mutate it).
func (c *Cache) Get(key string) (meta.Object, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.objects[key]
	if !ok {
		return nil, false
	}
	return e.obj, true
}

// WaitUntilFresh waits until the cache has seen revision rv, so a read at rv is served
// from here consistently. Since rv may have been written under another prefix, it asks
// etcd for watch progress while it waits. After FreshTimeout it gives up with
// storage.ErrTooLargeResourceVersion (Kubernetes answers 504 with a retry hint).
func (c *Cache) WaitUntilFresh(ctx context.Context, rv int64) error {
	timeout := time.NewTimer(c.opts.FreshTimeout)
	defer timeout.Stop()
	ask := time.NewTicker(100 * time.Millisecond) // etcd drops progress requests while catching up
	defer ask.Stop()
	asked := false
	for {
		c.mu.Lock()
		if c.rv >= rv {
			c.mu.Unlock()
			return nil
		}
		if c.fresh == nil {
			c.fresh = make(chan struct{})
		}
		fresh, current := c.fresh, c.rv
		c.mu.Unlock()

		if !asked {
			c.requestProgress()
			asked = true
		}
		select {
		case <-fresh:
		case <-ask.C:
			asked = false
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			return fmt.Errorf("%w: waited %v for %d, cache is at %d", storage.ErrTooLargeResourceVersion, c.opts.FreshTimeout, rv, current)
		}
	}
}

// Watch starts a watcher of the objects filter accepts, with every change after fromRV:
// fromRV 0 means from now; a fromRV the cache has not reached yet is waited for (as
// WaitUntilFresh); one older than the history is storage.ErrExpired (410 Gone). The watch
// ends when ctx ends or Stop is called.
func (c *Cache) Watch(ctx context.Context, fromRV int64, filter Filter, opts WatchOptions) (*Watcher, error) {
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	if fromRV > 0 {
		if err := c.WaitUntilFresh(ctx, fromRV); err != nil {
			return nil, err
		}
	}
	size := opts.BufferSize
	if size <= 0 {
		size = c.opts.WatcherBuffer
	}
	w := &Watcher{cache: c, filter: filter, bookmarks: opts.Bookmarks, ch: make(chan Event, size), done: make(chan struct{})}

	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil, ErrCacheStopped
	}
	var initial []Event
	switch {
	case opts.SendInitialState:
		initial = c.stateEvents(filter)
		if opts.InitialEventsEnd {
			initial = append(initial, c.bookmarkEvent(c.rv, true))
		}
	case fromRV > 0:
		if fromRV < c.oldest {
			oldest := c.oldest
			c.mu.Unlock()
			return nil, fmt.Errorf("%w: too old resource version: %d (%d)", storage.ErrExpired, fromRV, oldest)
		}
		initial = c.replay(fromRV, filter)
	}
	if len(initial) <= cap(w.ch) {
		for _, ev := range initial {
			w.ch <- ev // room is guaranteed, and nobody else sends yet
		}
	} else {
		w.catchingUp = true
		go w.catchUp(initial)
	}
	c.watchers = append(slices.Clip(c.watchers), w) // a new array: snapshots stay intact
	c.mu.Unlock()

	w.mu.Lock()
	w.stopAfter = context.AfterFunc(ctx, w.Stop)
	if w.closed { // cut off already: nothing left to stop
		w.stopAfter()
	}
	w.mu.Unlock()
	return w, nil
}

// stateEvents is the current state as Added events, in key order. Caller holds mu.
func (c *Cache) stateEvents(filter Filter) []Event {
	keys := make([]string, 0, len(c.objects))
	for k, e := range c.objects {
		if filter == nil || filter(e.obj) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	events := make([]Event, len(keys))
	for i, k := range keys {
		e := c.objects[k]
		events[i] = Event{Event: storage.Event{Type: meta.Added, Object: e.obj, ResourceVersion: e.rv}, entry: e}
	}
	return events
}

// replay is the history after fromRV, converted for filter. Caller holds mu.
func (c *Cache) replay(fromRV int64, filter Filter) []Event {
	at := func(i int) *eventData { return c.history[(c.head+i)%len(c.history)] }
	first := sort.Search(c.count, func(i int) bool { return at(i).ResourceVersion > fromRV })
	var events []Event
	for i := first; i < c.count; i++ {
		if ev, ok := at(i).forFilter(filter); ok {
			events = append(events, ev)
		}
	}
	return events
}

// Len is the number of objects the cache holds (what a whole list goes through).
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.objects)
}

// Stats returns the counters for metrics.
func (c *Cache) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return Stats{
		EventsReceived:         c.received.Load(),
		EventsDispatched:       c.dispatched.Load(),
		WatchersOpen:           len(c.watchers),
		WatchersTerminatedSlow: c.slow.Load(),
		Relists:                c.relists.Load(),
		ResourceVersion:        c.rv,
		HistoryOldestRevision:  c.oldest,
	}
}

// backoff spaces out retries against a failing etcd: 100ms doubling to 5s.
type backoff struct{ next time.Duration }

func newBackoff() *backoff { return &backoff{next: 100 * time.Millisecond} }

func (b *backoff) reset() { b.next = 100 * time.Millisecond }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	b.next = min(2*b.next, 5*time.Second)
}
