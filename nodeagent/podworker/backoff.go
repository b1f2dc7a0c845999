package podworker

import (
	"sync"
	"time"
)

// backoff is the kubelet's crash-loop back-off: a container that exited waits 10 s
// before its next restart, doubling each time up to 5 min; a container that ran for
// twice the maximum without exiting starts afresh.
type backoff struct {
	base, max time.Duration
	mu        sync.Mutex
	entries   map[string]*backoffEntry
}

type backoffEntry struct {
	delay time.Duration
	last  time.Time // when the delay was last raised
	note  string    // what failed last (an image pull's error)
}

func newBackoff(base, max time.Duration) *backoff {
	return &backoff{base: base, max: max, entries: map[string]*backoffEntry{}}
}

// wait is how long the restart of key, whose container finished at finished, must still
// wait (0: restart now), and the whole current delay.
func (b *backoff) wait(key string, finished, now time.Time) (time.Duration, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	if !ok {
		return 0, 0
	}
	if finished.Sub(e.last) > 2*b.max {
		delete(b.entries, key) // it ran long enough to forget its crashes
		return 0, 0
	}
	return max(0, e.delay-now.Sub(finished)), e.delay
}

// next records a restart of key: the following one waits longer.
func (b *backoff) next(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.entries[key]
	switch {
	case !ok || now.Sub(e.last) > 2*b.max:
		b.entries[key] = &backoffEntry{delay: b.base, last: now}
	default:
		e.delay, e.last = min(2*e.delay, b.max), now
	}
}

// forget drops every entry whose key starts with prefix (a pod's).
func (b *backoff) forget(prefix string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k := range b.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			delete(b.entries, k)
		}
	}
}
