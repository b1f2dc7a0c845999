package controller

import (
	"sync"
	"time"
)

// ExpectationsTimeout is how long a controller trusts its expectations; past it, a watch
// event that never came is assumed lost and the controller syncs anyway (Kubernetes' value).
const ExpectationsTimeout = 5 * time.Minute

// Expectations record, per controller key, the creations and deletions a controller has
// asked for but not yet seen through its informer. Until they are seen, the cache is known
// to be behind and the controller must not act on it again (or it would create the same
// pods twice): Kubernetes' ControllerExpectations, with deletions tracked by pod key so a
// deletion seen twice is counted once.
type Expectations struct {
	mu   sync.Mutex
	byID map[string]*expectation
	now  func() time.Time
}

type expectation struct {
	adds      int
	deletions map[string]struct{}
	at        time.Time
}

// NewExpectations returns empty expectations.
func NewExpectations() *Expectations {
	return &Expectations{byID: map[string]*expectation{}, now: time.Now}
}

// Satisfied reports whether key may sync: nothing pending, or the expectations expired.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.byID[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.deletions) == 0 {
		return true
	}
	return e.now().Sub(x.at) > ExpectationsTimeout
}

// ExpectCreations replaces key's expectations with n creations.
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.byID[key] = &expectation{adds: n, deletions: map[string]struct{}{}, at: e.now()}
}

// ExpectDeletions replaces key's expectations with the deletion of podKeys.
func (e *Expectations) ExpectDeletions(key string, podKeys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{deletions: map[string]struct{}{}, at: e.now()}
	for _, k := range podKeys {
		x.deletions[k] = struct{}{}
	}
	e.byID[key] = x
}

// CreationObserved lowers the pending creations of key by one (a create was seen, or failed).
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byID[key]; ok {
		x.adds--
	}
}

// DeletionObserved marks the deletion of podKey seen (or failed).
func (e *Expectations) DeletionObserved(key, podKey string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.byID[key]; ok {
		delete(x.deletions, podKey)
	}
}

// Delete forgets key (its owner is gone).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byID, key)
}
