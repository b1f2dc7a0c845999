package informer

import (
	"math/rand/v2"
	"time"
)

// backoff spaces out retries after failures: the first retry is immediate (most failures
// are one-offs, such as a watch cut by an API server restart), then base, 2·base, ... up
// to max, each jittered between half and all of its value so that many informers that
// failed together do not retry together.
type backoff struct {
	base, max time.Duration
	failures  int
}

func (b *backoff) next() time.Duration {
	n := b.failures
	b.failures++
	if n == 0 {
		return 0
	}
	d := b.max
	if n-1 < 32 && b.base<<(n-1) < b.max && b.base<<(n-1) > 0 {
		d = b.base << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.failures = 0 }
