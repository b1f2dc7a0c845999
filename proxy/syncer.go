package proxy

import (
	"context"
	"sync"
	"time"
)

// syncer runs a sync function with a bounded frequency, as kube-proxy's
// BoundedFrequencyRunner: requests arriving while a sync is pending or too recent
// coalesce into one sync (a burst of changes costs one exec), at most one sync starts per
// minInterval, a full sync runs every period whatever happens, and a failed sync is
// retried with backoff (from minInterval up to maxRetry).
type syncer struct {
	minInterval, period, maxRetry time.Duration
	fn                            func(ctx context.Context, full bool) error
	now                           func() time.Time

	requests chan struct{} // capacity 1: a pending request

	mu         sync.Mutex
	queuedAt   time.Time // oldest change not yet synced (zero: none)
	lastSynced time.Time // end of the last successful sync
	started    time.Time
}

func newSyncer(minInterval, period time.Duration, fn func(ctx context.Context, full bool) error) *syncer {
	return &syncer{minInterval: minInterval, period: period, maxRetry: 30 * time.Second, fn: fn,
		now: time.Now, requests: make(chan struct{}, 1), started: time.Now()}
}

// Request asks for a sync soon. It never blocks.
func (s *syncer) Request() {
	s.mu.Lock()
	if s.queuedAt.IsZero() {
		s.queuedAt = s.now()
	}
	s.mu.Unlock()
	select {
	case s.requests <- struct{}{}:
	default:
	}
}

// state reports the times health is judged on.
func (s *syncer) state() (queuedAt, lastSynced, started time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queuedAt, s.lastSynced, s.started
}

// run syncs until ctx ends. The first sync is full and immediate.
func (s *syncer) run(ctx context.Context) {
	full := true
	var lastStart time.Time
	fails := 0
	periodic := time.NewTimer(s.period)
	defer periodic.Stop()
	var retry <-chan time.Time
	for {
		if !lastStart.IsZero() {
			select {
			case <-ctx.Done():
				return
			case <-s.requests:
			case <-retry:
			case <-periodic.C:
				full = true
				s.Request() // a full sync that does not happen is a stall too
			}
		}
		// Not more often than minInterval: wait, and let the requests of the wait join.
		if wait := s.minInterval - s.now().Sub(lastStart); !lastStart.IsZero() && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		select {
		case <-s.requests:
		default:
		}
		s.mu.Lock()
		pending := s.queuedAt
		s.queuedAt = time.Time{}
		s.mu.Unlock()

		lastStart = s.now()
		err := s.fn(ctx, full)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fails++
			d := min(s.minInterval<<min(fails-1, 16), s.maxRetry)
			d = max(d, 100*time.Millisecond)
			retry = time.After(d)
			// What this sync was to apply is still waiting.
			waiting := pending
			if waiting.IsZero() {
				waiting = lastStart
			}
			s.mu.Lock()
			if s.queuedAt.IsZero() || waiting.Before(s.queuedAt) {
				s.queuedAt = waiting
			}
			s.mu.Unlock()
			continue // full stays as it was: a failed full sync is retried full
		}
		fails, retry = 0, nil
		s.mu.Lock()
		s.lastSynced = s.now()
		s.mu.Unlock()
		if full {
			full = false
			if !periodic.Stop() {
				select {
				case <-periodic.C:
				default:
				}
			}
			periodic.Reset(s.period)
		}
	}
}

// healthy says whether syncs keep up: no change has waited longer than timeout, and the
// last successful sync is not older than period + timeout.
func (s *syncer) healthy(timeout time.Duration) (bool, string) {
	queued, synced, started := s.state()
	now := s.now()
	if !queued.IsZero() && now.Sub(queued) > timeout {
		return false, "a change has waited " + now.Sub(queued).Round(time.Second).String() + " for a sync"
	}
	if synced.IsZero() {
		if now.Sub(started) > timeout {
			return false, "no successful sync since start " + now.Sub(started).Round(time.Second).String() + " ago"
		}
		return true, "starting"
	}
	if now.Sub(synced) > s.period+timeout {
		return false, "last successful sync " + now.Sub(synced).Round(time.Second).String() + " ago"
	}
	return true, "ok"
}
