package apiserver

import (
	"context"
	"sort"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// cacheSet holds the watch caches, one per stored resource (keyed by its etcd prefix, so the
// versions of a custom resource share one). Built-in resources get theirs at start-up; a
// custom resource's is started when its definition is established and stopped when the
// definition is gone, so the set changes while requests read it.
type cacheSet struct {
	mu sync.RWMutex
	m  map[string]*cacheEntry
}

type cacheEntry struct {
	cache    *watchcache.Cache
	resource string
	cancel   context.CancelFunc
}

func newCacheSet() *cacheSet { return &cacheSet{m: map[string]*cacheEntry{}} }

// cache is the watch cache of k's resource; nil when there is none (a create-only kind, or
// a custom resource whose definition was removed after the request resolved its kind).
func (s *Server) cache(k *registry.Kind) *watchcache.Cache {
	s.caches.mu.RLock()
	defer s.caches.mu.RUnlock()
	if e := s.caches.m[k.Prefix("")]; e != nil {
		return e.cache
	}
	return nil
}

// startCache starts the watch cache of k's resource unless it runs already, and returns it.
func (s *Server) startCache(ctx context.Context, k *registry.Kind) *watchcache.Cache {
	if k.Conversion != nil {
		k = k.Conversion.Storage // the cache holds stored objects
	}
	prefix := k.Prefix("")
	s.caches.mu.Lock()
	defer s.caches.mu.Unlock()
	if e := s.caches.m[prefix]; e != nil {
		return e.cache
	}
	ctx, cancel := context.WithCancel(ctx)
	newFunc := k.New
	if k.Custom != nil {
		// Decode with the kind as it is now: a changed schema (new defaults) applies to what
		// the cache reads from then on, without restarting it under its watchers.
		newFunc = func() meta.Object {
			if cur, ok := s.reg.Lookup(k.Group, k.Version, k.Resource); ok && cur.Custom != nil {
				return cur.New()
			}
			return k.New()
		}
	}
	// The caches get the store itself: they use its optional interfaces (progress requests).
	c := watchcache.New(s.rawStore, prefix, newFunc, watchcache.Options{HistorySize: s.cfg.WatchHistory, BookmarkInterval: s.cfg.BookmarkInterval})
	s.caches.m[prefix] = &cacheEntry{cache: c, resource: k.Resource, cancel: cancel}
	s.metrics.watchers.WithLabelValues(k.Resource).Set(0)
	go c.Run(ctx)
	return c
}

// stopCache stops and forgets the watch cache of k's resource (its watchers are closed).
func (s *Server) stopCache(k *registry.Kind) {
	s.caches.mu.Lock()
	defer s.caches.mu.Unlock()
	if e := s.caches.m[k.Prefix("")]; e != nil {
		e.cancel()
		delete(s.caches.m, k.Prefix(""))
	}
}

// eachCache calls fn for every running cache, by resource name.
func (s *Server) eachCache(fn func(resource string, c *watchcache.Cache)) {
	s.caches.mu.RLock()
	entries := make([]*cacheEntry, 0, len(s.caches.m))
	for _, e := range s.caches.m {
		entries = append(entries, e)
	}
	s.caches.mu.RUnlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].resource < entries[j].resource })
	for _, e := range entries {
		fn(e.resource, e.cache)
	}
}
