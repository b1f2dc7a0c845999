// Package workqueue is the queue between informers and workers, with client-go's
// semantics:
//
//   - an item added again while it waits is queued once (events for one object collapse
//     into one reconcile);
//   - an item handed to a worker is not handed to another until Done, so one key is never
//     reconciled concurrently; added again meanwhile, it is queued again on Done;
//   - AddRateLimited requeues failures with per-item exponential backoff, AddAfter after
//     a delay.
//
// The typical worker loop (see kubernetes/sample-controller):
//
//	for {
//		key, shutdown := q.Get()
//		if shutdown {
//			return
//		}
//		if err := sync(key); err != nil {
//			q.AddRateLimited(key)
//		} else {
//			q.Forget(key)
//		}
//		q.Done(key)
//	}
package workqueue

import (
	"sync"
	"time"

	"github.com/skiff-sh/skiff/internal/clock"
)

// Queue is a deduplicating, delaying, rate-limited work queue. Safe for concurrent use.
type Queue[K comparable] struct {
	limiter RateLimiter[K]
	clock   clock.Clock

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []K            // order of processing
	dirty      map[K]struct{} // needs processing (queued, or added again while processing)
	processing map[K]struct{} // handed to a worker, not yet Done
	waiting    map[K]time.Time
	shutdown   bool
	drain      bool
}

// New returns a queue with DefaultRateLimiter.
func New[K comparable]() *Queue[K] {
	return NewWithRateLimiter(DefaultRateLimiter[K]())
}

// NewWithRateLimiter returns a queue whose AddRateLimited delays come from rl.
func NewWithRateLimiter[K comparable](rl RateLimiter[K]) *Queue[K] {
	q := &Queue[K]{
		limiter:    rl,
		clock:      clock.Real{},
		dirty:      map[K]struct{}{},
		processing: map[K]struct{}{},
		waiting:    map[K]time.Time{},
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// WithClock makes AddAfter wait on c instead of the wall clock (tests step a clock.Fake).
func (q *Queue[K]) WithClock(c clock.Clock) *Queue[K] {
	q.clock = c
	return q
}

// Add queues item unless it is already queued. If it is being processed it is queued
// again when the worker calls Done. Ignored after ShutDown.
func (q *Queue[K]) Add(item K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.add(item)
}

func (q *Queue[K]) add(item K) {
	if q.shutdown {
		return
	}
	if _, ok := q.dirty[item]; ok {
		return
	}
	q.dirty[item] = struct{}{}
	if _, ok := q.processing[item]; ok {
		return // Done will queue it
	}
	q.queue = append(q.queue, item)
	q.cond.Signal()
}

// Get blocks until an item is available and hands it to the caller, who must call Done
// with it. shutdown is true (and item the zero value) once the queue is shut down and
// empty: the worker should exit. Items queued before ShutDown are still handed out.
func (q *Queue[K]) Get() (item K, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return item, true
	}
	item = q.queue[0]
	var zero K
	q.queue[0] = zero // let the backing array drop the reference
	q.queue = q.queue[1:]
	q.processing[item] = struct{}{}
	delete(q.dirty, item)
	return item, false
}

// Done marks item processed. If it was added while being processed it is queued again now.
func (q *Queue[K]) Done(item K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, item)
	if _, ok := q.dirty[item]; ok {
		q.queue = append(q.queue, item)
		q.cond.Signal()
	}
	if q.drain {
		q.cond.Broadcast() // ShutDownWithDrain may be waiting for this
	}
}

// Len is the number of items waiting to be handed out (not those being processed or
// waiting for AddAfter).
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// AddAfter adds item once d has passed (at once if d <= 0). If item is already waiting,
// the earlier of the two times wins.
func (q *Queue[K]) AddAfter(item K, d time.Duration) {
	if d <= 0 {
		q.Add(item)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	readyAt := q.clock.Now().Add(d)
	if at, ok := q.waiting[item]; ok && !at.After(readyAt) {
		return
	}
	q.waiting[item] = readyAt
	// One timer per call; a timer superseded by an earlier AddAfter finds a different
	// readyAt when it fires and does nothing.
	q.clock.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if at, ok := q.waiting[item]; ok && at.Equal(readyAt) {
			delete(q.waiting, item)
			q.add(item)
		}
	})
}

// AddRateLimited adds item after the rate limiter's delay for it (growing with each
// failure until Forget).
func (q *Queue[K]) AddRateLimited(item K) {
	q.AddAfter(item, q.limiter.When(item))
}

// Forget resets item's failure count: call it when item was processed successfully.
// It does not remove item from the queue.
func (q *Queue[K]) Forget(item K) { q.limiter.Forget(item) }

// NumRequeues is how many times item has been AddRateLimited since the last Forget.
func (q *Queue[K]) NumRequeues(item K) int { return q.limiter.NumRequeues(item) }

// ShutDown makes the queue ignore new items and makes Get return shutdown=true once the
// already queued items are handed out. Delayed items not yet due are dropped.
func (q *Queue[K]) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	q.drain = false // an explicit ShutDown stops a ShutDownWithDrain from waiting
	clear(q.waiting)
	q.cond.Broadcast()
}

// ShutDownWithDrain shuts the queue down like ShutDown, then waits until every queued
// item has been handed out and every handed-out item is Done. Workers must keep running
// (and calling Done) meanwhile, or this blocks; a ShutDown from elsewhere ends the wait.
func (q *Queue[K]) ShutDownWithDrain() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutdown = true
	q.drain = true
	clear(q.waiting)
	q.cond.Broadcast()
	for q.drain && (len(q.queue) > 0 || len(q.processing) > 0) {
		q.cond.Wait()
	}
}

// ShuttingDown reports whether ShutDown (or ShutDownWithDrain) was called.
func (q *Queue[K]) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shutdown
}
