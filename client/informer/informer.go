// Package informer keeps a local, indexed cache of one resource in step with the API
// server and tells handlers about every change: it lists, then watches from the list's
// resourceVersion; a dropped watch resumes from the last resourceVersion seen, and a
// resourceVersion the server no longer has (410 Gone/Expired) triggers a fresh list whose
// differences with the cache are delivered as adds, updates and deletes.
//
// Guarantees: handlers of one informer are called one at a time, in the order the changes
// happened; after HasSynced, every handler has seen an Add for every object of the first
// list. A delete missed while disconnected is delivered after the relist, with the last
// state the informer saw. Objects handed out are shared: never mutate one, copy it first.
package informer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/internal/wait"
)

// ListerWatcher is what an informer reads from; *client.Typed is one.
type ListerWatcher[T any, PT interface {
	*T
	meta.Object
}] interface {
	List(ctx context.Context, namespace string, opts client.ListOptions) (*meta.List[T], error)
	Watch(ctx context.Context, namespace string, opts client.ListOptions) (client.Watcher[PT], error)
}

// Handler receives an informer's events. Nil funcs are skipped. Handlers run on the
// informer's goroutine and hold up the stream while they run: keep them short (put a key
// on a workqueue) and do not call AddEventHandler from one.
type Handler[PT any] struct {
	AddFunc func(obj PT)
	// UpdateFunc gets the previous and the new state. A relist or a periodic resync calls
	// it even when nothing changed (old and new then have the same resourceVersion).
	UpdateFunc func(oldObj, newObj PT)
	// DeleteFunc gets the last state: the one in the watch event, or, for a delete found
	// by a relist, the last state this informer saw (its resourceVersion is then stale).
	DeleteFunc func(obj PT)
}

const (
	defaultPageSize = 500
	// Watches are re-opened every 5-10 minutes (chosen at random) so that reconnections
	// spread over time and the server can rebalance; as client-go does.
	minWatchTimeout = 5 * time.Minute
)

// Informer caches one resource, optionally narrowed to a namespace and selectors.
type Informer[T any, PT interface {
	*T
	meta.Object
}] struct {
	lw        ListerWatcher[T, PT]
	namespace string
	opts      client.ListOptions
	resync    time.Duration
	indexer   *Indexer[PT]
	log       *slog.Logger

	// dispatchMu makes "change the store, then tell the handlers" one step, so that
	// AddEventHandler sees a store whose every object the other handlers were told about.
	dispatchMu sync.Mutex
	handlers   []Handler[PT]

	running atomic.Bool
	synced  atomic.Bool
	lastRV  atomic.Value // string

	// Tunables, changed by tests.
	backoffBase, backoffMax time.Duration
	shortWatch              time.Duration // a watch that ends sooner, with no events, is a failure
}

// NewInformer returns an informer over lw (usually a *client.Typed) for namespace (""
// = all namespaces, or a cluster-scoped resource). opts may carry label and field
// selectors; opts.Limit sets the list page size. resync > 0 calls UpdateFunc for every
// cached object that often (level-triggered controllers use it as a safety net).
func NewInformer[T any, PT interface {
	*T
	meta.Object
}](lw ListerWatcher[T, PT], namespace string, opts client.ListOptions, resync time.Duration) *Informer[T, PT] {
	inf := &Informer[T, PT]{
		lw:          lw,
		namespace:   namespace,
		opts:        client.ListOptions{LabelSelector: opts.LabelSelector, FieldSelector: opts.FieldSelector, Limit: opts.Limit},
		resync:      resync,
		indexer:     newIndexer[PT](),
		log:         slog.Default().With("informer", describe(lw, namespace)),
		backoffBase: 800 * time.Millisecond,
		backoffMax:  30 * time.Second,
		shortWatch:  time.Second,
	}
	if inf.opts.Limit <= 0 {
		inf.opts.Limit = defaultPageSize
	}
	inf.lastRV.Store("")
	return inf
}

func describe(lw any, namespace string) string {
	name := fmt.Sprintf("%T", lw)
	if r, ok := lw.(interface{ Resource() client.Resource }); ok {
		res := r.Resource()
		name = res.Resource
		if res.Group != "" {
			name += "." + res.Group
		}
	}
	if namespace != "" {
		name += " in " + namespace
	}
	return name
}

// Indexer is the informer's cache. Read from it; never mutate what it returns.
func (inf *Informer[T, PT]) Indexer() *Indexer[PT] { return inf.indexer }

// AddIndexers adds secondary indices to the cache (see Indexer.AddIndexers).
func (inf *Informer[T, PT]) AddIndexers(indexers map[string]IndexFunc[PT]) error {
	return inf.indexer.AddIndexers(indexers)
}

// AddEventHandler registers h. Registered after the informer started, h first gets an
// Add for every object already cached, before any later event.
func (inf *Informer[T, PT]) AddEventHandler(h Handler[PT]) {
	inf.dispatchMu.Lock()
	defer inf.dispatchMu.Unlock()
	inf.handlers = append(inf.handlers, h)
	if h.AddFunc != nil {
		for _, obj := range inf.indexer.List() {
			h.AddFunc(obj)
		}
	}
}

// HasSynced reports whether the first list has been stored and delivered to the handlers.
func (inf *Informer[T, PT]) HasSynced() bool { return inf.synced.Load() }

// LastSyncResourceVersion is the resourceVersion of the last list or event seen.
func (inf *Informer[T, PT]) LastSyncResourceVersion() string { return inf.lastRV.Load().(string) }

// Run lists and watches until ctx ends. It runs once: a second call returns at once.
func (inf *Informer[T, PT]) Run(ctx context.Context) {
	if !inf.running.CompareAndSwap(false, true) {
		return
	}
	if inf.resync > 0 {
		go inf.resyncLoop(ctx)
	}
	bo := &backoff{base: inf.backoffBase, max: inf.backoffMax}
	for ctx.Err() == nil {
		rv, err := inf.list(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d := bo.next()
				inf.log.Warn("list failed", "err", err, "retryIn", d)
				wait.Sleep(ctx, d)
			}
			continue
		}
		inf.watchFrom(ctx, rv, bo)
	}
}

// watchFrom watches from rv, re-watching from the latest resourceVersion seen whenever a
// watch ends, until ctx ends or the server no longer has that version (the caller relists).
func (inf *Informer[T, PT]) watchFrom(ctx context.Context, rv string, bo *backoff) {
	for ctx.Err() == nil {
		start := time.Now()
		events, err := inf.watch(ctx, &rv)
		switch {
		case ctx.Err() != nil:
			return
		case client.IsGone(err) || client.IsExpired(err):
			// Relist. Immediate the first time; repeated 410s without progress back off.
			d := bo.next()
			inf.log.Info("watch expired, relisting", "resourceVersion", rv, "err", err, "retryIn", d)
			wait.Sleep(ctx, d)
			return
		case err != nil:
			d := bo.next()
			inf.log.Warn("watch failed", "resourceVersion", rv, "err", err, "retryIn", d)
			wait.Sleep(ctx, d)
		case events == 0 && time.Since(start) < inf.shortWatch:
			// A watch that closes at once is a server in trouble: do not spin on it.
			wait.Sleep(ctx, bo.next())
		default:
			bo.reset()
		}
	}
}

// list reads the whole collection, page by page, replaces the cache with it and returns
// the list's resourceVersion.
func (inf *Informer[T, PT]) list(ctx context.Context) (string, error) {
	opts := inf.opts // ResourceVersion "": a consistent read, never older than what we had
	var items []PT
	for {
		page, err := inf.lw.List(ctx, inf.namespace, opts)
		if err != nil {
			if opts.Continue != "" && (client.IsExpired(err) || client.IsGone(err)) {
				// The continue token outlived the revision it pins: read it all in one go.
				opts.Continue, opts.Limit, items = "", 0, nil
				continue
			}
			return "", err
		}
		for i := range page.Items {
			items = append(items, PT(&page.Items[i]))
		}
		if page.Continue == "" {
			inf.replace(items)
			inf.lastRV.Store(page.ResourceVersion)
			return page.ResourceVersion, nil
		}
		opts.Continue = page.Continue
	}
}

// replace makes the cache hold exactly items and tells the handlers what changed.
func (inf *Informer[T, PT]) replace(items []PT) {
	inf.dispatchMu.Lock()
	defer inf.dispatchMu.Unlock()
	listed := make(map[string]struct{}, len(items))
	for _, obj := range items {
		key := Key(obj)
		listed[key] = struct{}{}
		inf.store(key, obj)
	}
	for _, key := range inf.indexer.ListKeys() {
		if _, ok := listed[key]; !ok {
			inf.forget(key, nil)
		}
	}
	inf.synced.Store(true)
}

// store caches obj and calls AddFunc or UpdateFunc. Holds dispatchMu.
func (inf *Informer[T, PT]) store(key string, obj PT) {
	old, existed := inf.indexer.set(key, obj)
	for _, h := range inf.handlers {
		switch {
		case existed && h.UpdateFunc != nil:
			h.UpdateFunc(old, obj)
		case !existed && h.AddFunc != nil:
			h.AddFunc(obj)
		}
	}
}

// forget drops key and calls DeleteFunc with final (the watch event's object) or, when
// nil, the last cached state. Holds dispatchMu.
func (inf *Informer[T, PT]) forget(key string, final PT) {
	old, existed := inf.indexer.remove(key)
	if final == nil {
		if !existed {
			return
		}
		final = old
	}
	for _, h := range inf.handlers {
		if h.DeleteFunc != nil {
			h.DeleteFunc(final)
		}
	}
}

// watch streams one watch from *rv into the cache, advancing *rv, and returns how many
// events it applied. A nil error means the watch simply ended.
func (inf *Informer[T, PT]) watch(ctx context.Context, rv *string) (int, error) {
	opts := inf.opts
	opts.Limit = 0
	opts.ResourceVersion = *rv
	opts.AllowWatchBookmarks = true
	opts.TimeoutSeconds = int64((minWatchTimeout + rand.N(minWatchTimeout)) / time.Second)
	w, err := inf.lw.Watch(ctx, inf.namespace, opts)
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	events := 0
	for {
		var ev client.Event[PT]
		var ok bool
		select {
		case <-ctx.Done():
			return events, nil
		case ev, ok = <-w.ResultChan():
		}
		if !ok {
			return events, nil
		}
		switch ev.Type {
		case meta.Added, meta.Modified:
			inf.dispatchMu.Lock()
			inf.store(Key(ev.Object), ev.Object)
			inf.dispatchMu.Unlock()
		case meta.Deleted:
			inf.dispatchMu.Lock()
			inf.forget(Key(ev.Object), ev.Object)
			inf.dispatchMu.Unlock()
		case meta.Bookmark:
		case meta.Error:
			if ev.Status == nil {
				return events, errors.New("watch ERROR event without a status")
			}
			return events, &client.StatusError{Status: *ev.Status}
		default:
			return events, fmt.Errorf("unknown watch event type %q", ev.Type)
		}
		events++
		if v := ev.Object.GetObjectMeta().ResourceVersion; v != "" {
			*rv = v
			inf.lastRV.Store(v)
		}
	}
}

func (inf *Informer[T, PT]) resyncLoop(ctx context.Context) {
	t := time.NewTicker(inf.resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !inf.HasSynced() {
			continue
		}
		inf.dispatchMu.Lock()
		for _, obj := range inf.indexer.List() {
			for _, h := range inf.handlers {
				if h.UpdateFunc != nil {
					h.UpdateFunc(obj, obj)
				}
			}
		}
		inf.dispatchMu.Unlock()
	}
}

// WaitForCacheSync waits until every synced func reports true (pass informers'
// HasSynced), polling; false if ctx ended first.
func WaitForCacheSync(ctx context.Context, synced ...func() bool) bool {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		all := true
		for _, s := range synced {
			if !s() {
				all = false
				break
			}
		}
		if all {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}
