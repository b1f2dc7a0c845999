package workqueue

import (
	"math"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/client/internal/tokenbucket"
)

// RateLimiter decides how long a failed item waits before it is retried.
type RateLimiter[K comparable] interface {
	// When records a failure of item and returns how long to wait before retrying it.
	When(item K) time.Duration
	// Forget clears item's failure history.
	Forget(item K)
	// NumRequeues is the number of failures recorded for item.
	NumRequeues(item K) int
}

// DefaultRateLimiter is client-go's controller default: per-item exponential backoff from
// 5ms to 1000s, and at most 10 retries a second (burst 100) across all items, so that a
// mass failure does not turn into a retry storm.
func DefaultRateLimiter[K comparable]() RateLimiter[K] {
	return MaxOf(
		ExponentialBackoff[K](5*time.Millisecond, 1000*time.Second),
		TokenBucket[K](10, 100),
	)
}

// ExponentialBackoff waits base·2^n for an item's n-th consecutive failure, at most max.
func ExponentialBackoff[K comparable](base, max time.Duration) RateLimiter[K] {
	return &exponential[K]{base: base, max: max, failures: map[K]int{}}
}

type exponential[K comparable] struct {
	base, max time.Duration
	mu        sync.Mutex
	failures  map[K]int
}

func (r *exponential[K]) When(item K) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.failures[item]
	r.failures[item] = n + 1
	// Float math so a long failure streak saturates at max instead of overflowing.
	d := float64(r.base) * math.Pow(2, float64(n))
	if d > float64(r.max) {
		return r.max
	}
	return time.Duration(d)
}

func (r *exponential[K]) Forget(item K) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.failures, item)
}

func (r *exponential[K]) NumRequeues(item K) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures[item]
}

// TokenBucket lets qps retries a second through (burst at once), whatever the item.
// It keeps no per-item history: Forget does nothing and NumRequeues is 0.
func TokenBucket[K comparable](qps float64, burst int) RateLimiter[K] {
	return &bucket[K]{b: tokenbucket.New(qps, burst)}
}

type bucket[K comparable] struct{ b *tokenbucket.Bucket }

func (r *bucket[K]) When(K) time.Duration { return r.b.Reserve() }
func (r *bucket[K]) Forget(K)             {}
func (r *bucket[K]) NumRequeues(K) int    { return 0 }

// MaxOf combines limiters: an item waits for the longest of their delays.
func MaxOf[K comparable](limiters ...RateLimiter[K]) RateLimiter[K] {
	return maxOf[K](limiters)
}

type maxOf[K comparable] []RateLimiter[K]

func (m maxOf[K]) When(item K) time.Duration {
	var d time.Duration
	for _, l := range m {
		d = max(d, l.When(item))
	}
	return d
}

func (m maxOf[K]) Forget(item K) {
	for _, l := range m {
		l.Forget(item)
	}
}

func (m maxOf[K]) NumRequeues(item K) int {
	n := 0
	for _, l := range m {
		n = max(n, l.NumRequeues(item))
	}
	return n
}
