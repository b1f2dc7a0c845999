package controller

import (
	"strconv"
	"sync"
	"time"
)

// WriteTracker remembers the writes a controller made to the objects it manages (per owner)
// until its informer shows them. A controller that decides from a cache lagging its own
// last writes can repeat them (create a second EndpointSlice) or combine a fresh view of
// one object with a stale view of another (and break a Deployment's maxSurge); Kubernetes'
// EndpointSlice controller guards against this with its "endpointSliceTracker", this is the
// same idea: skip the sync until the cache has caught up (the watch event that catches it up
// queues the owner again).
//
// It relies on resourceVersions being etcd revisions, comparable as numbers, which skiff's
// API server guarantees.
type WriteTracker struct {
	mu      sync.Mutex
	byOwner map[string]map[string]mark
	now     func() time.Time
}

type mark struct {
	rv      int64 // the version written; 0 for a deletion
	deleted bool
	at      time.Time
}

// trackerExpiry bounds the wait for a write to show (an object deleted by someone else
// never shows its last write).
const trackerExpiry = 30 * time.Second

// NewWriteTracker returns an empty tracker.
func NewWriteTracker() *WriteTracker {
	return &WriteTracker{byOwner: map[string]map[string]mark{}, now: time.Now}
}

func (t *WriteTracker) set(owner, key string, m mark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byOwner[owner] == nil {
		t.byOwner[owner] = map[string]mark{}
	}
	t.byOwner[owner][key] = m
}

// Wrote records that owner's controller wrote object key, which now has resourceVersion rv.
func (t *WriteTracker) Wrote(owner, key, rv string) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return
	}
	t.set(owner, key, mark{rv: n, at: t.now()})
}

// Deleted records that owner's controller deleted object key.
func (t *WriteTracker) Deleted(owner, key string) {
	t.set(owner, key, mark{deleted: true, at: t.now()})
}

// Forget drops what is recorded for owner (it is gone).
func (t *WriteTracker) Forget(owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byOwner, owner)
}

// CaughtUp reports whether the cache shows every write recorded for owner; lookup returns
// the cached resourceVersion of an object key, and whether it is cached at all.
func (t *WriteTracker) CaughtUp(owner string, lookup func(key string) (rv string, ok bool)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, m := range t.byOwner[owner] {
		rv, ok := lookup(key)
		seen := false
		switch {
		case m.deleted:
			seen = !ok
		case ok:
			n, err := strconv.ParseInt(rv, 10, 64)
			seen = err == nil && n >= m.rv
		}
		if seen || t.now().Sub(m.at) > trackerExpiry {
			delete(t.byOwner[owner], key)
			continue
		}
		return false
	}
	return true
}
