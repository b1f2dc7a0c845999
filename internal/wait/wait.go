// Package wait holds the one context-aware sleep every component needs (the node agent's
// heartbeats and pod restarts, the informers' relist backoff, leader election's retries).
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or less if ctx ends first; it reports whether the full d passed (false:
// ctx ended). A d of zero or less returns at once, true unless ctx has already ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
