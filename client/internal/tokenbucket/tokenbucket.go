// Package tokenbucket is the token bucket behind the REST client's QPS limit and the
// workqueue's overall retry limit: a bucket of Burst tokens refilled at QPS tokens a second.
package tokenbucket

import (
	"context"
	"sync"
	"time"
)

// Bucket is safe for concurrent use.
type Bucket struct {
	qps   float64
	burst float64

	mu     sync.Mutex
	tokens float64 // may go negative: callers already promised a wait for those
	last   time.Time
	now    func() time.Time
}

// New returns a full bucket. burst < 1 is treated as 1 (a bucket must hold one token).
func New(qps float64, burst int) *Bucket {
	if burst < 1 {
		burst = 1
	}
	return &Bucket{qps: qps, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// Reserve takes a token now and returns how long the caller must wait before using it.
// Taking it up front (rather than polling) keeps waiters in order and the rate exact.
func (b *Bucket) Reserve() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.qps)
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.qps * float64(time.Second))
}

// cancel gives back a token whose wait was abandoned, so cancelled requests do not
// slow down the ones that follow.
func (b *Bucket) cancel() {
	b.mu.Lock()
	b.tokens = min(b.burst, b.tokens+1)
	b.mu.Unlock()
}

// Wait blocks until a token is available or ctx is done.
func (b *Bucket) Wait(ctx context.Context) error {
	d := b.Reserve()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.cancel()
		return ctx.Err()
	}
}
