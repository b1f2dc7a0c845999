package watchcache

import (
	"errors"
	"sync"
)

// Why a watcher was closed (Watcher.Err); a watcher stopped by its owner reports nil.
var (
	// ErrSlowWatcher: the watcher's buffer was full, so it was cut off rather than slow
	// down everyone else. Its client should watch again (or relist).
	ErrSlowWatcher = errors.New("watcher could not keep up and was closed")
	// ErrCacheReset: the cache relisted from etcd after losing its watch, so it cannot
	// vouch that no event was missed. The client should relist.
	ErrCacheReset = errors.New("watch cache was reset")
	// ErrCacheStopped: the cache stopped (its Run returned).
	ErrCacheStopped = errors.New("watch cache stopped")
)

// Watcher receives the events of one Watch. The cache's dispatcher never blocks on it:
// events go into a buffered channel, and a watcher whose channel is full is closed.
//
// Until the events it started with (initial state or replayed history) are all in its
// channel, a watcher is "catching up": a goroutine of its own feeds them in and live events
// queue behind them, bounded by the channel's capacity.
type Watcher struct {
	cache     *Cache
	filter    Filter
	bookmarks bool
	ch        chan Event

	mu         sync.Mutex
	closed     bool
	catchingUp bool    // ch belongs to the catch-up goroutine: it sends, and closes it
	pending    []Event // live events that arrived while catching up
	sent       bool    // an event was sent since the last bookmark tick
	err        error
	done       chan struct{} // closed with closed = true
	stopAfter  func() bool   // unregisters the context hook that stops us
}

// ResultChan delivers the events; it is closed when the watcher stops (see Err).
func (w *Watcher) ResultChan() <-chan Event { return w.ch }

// Err says why the channel was closed: nil after Stop or the end of the watch's context,
// ErrSlowWatcher, ErrCacheReset or ErrCacheStopped otherwise.
func (w *Watcher) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Stop ends the watch and closes the channel. It may be called more than once.
func (w *Watcher) Stop() {
	w.terminate(nil)
	w.cache.removeWatchers(w)
}

// terminate closes the watcher with reason err unless it is closed already.
func (w *Watcher) terminate(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked(err)
}

func (w *Watcher) closeLocked(err error) {
	if w.closed {
		return
	}
	w.closed, w.err = true, err
	close(w.done)
	if !w.catchingUp {
		close(w.ch)
	}
	if w.stopAfter != nil {
		w.stopAfter()
	}
}

// deliver queues ev without ever blocking, and reports whether that closed the watcher
// for being too slow. It is only called by the cache's dispatcher.
func (w *Watcher) deliver(ev Event) (cutOff bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	if w.catchingUp {
		if len(w.pending) >= cap(w.ch) {
			w.closeLocked(ErrSlowWatcher)
			return true
		}
		w.pending = append(w.pending, ev)
		return false
	}
	select {
	case w.ch <- ev:
		w.sent = true
		return false
	default:
		w.closeLocked(ErrSlowWatcher)
		return true
	}
}

// bookmark sends a Bookmark unless an event was sent since the last call (or the channel
// is full, which means there is news anyway).
func (w *Watcher) bookmark(ev Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || w.catchingUp {
		return
	}
	if w.sent {
		w.sent = false
		return
	}
	select {
	case w.ch <- ev:
	default:
	}
}

// catchUp feeds the initial events, then whatever queued meanwhile, and hands the channel
// over to the dispatcher once nothing is pending.
func (w *Watcher) catchUp(batch []Event) {
	for {
		for _, ev := range batch {
			select {
			case w.ch <- ev:
			case <-w.done:
				w.mu.Lock()
				w.catchingUp = false
				close(w.ch)
				w.mu.Unlock()
				return
			}
		}
		w.mu.Lock()
		if w.closed {
			w.catchingUp = false
			close(w.ch)
			w.mu.Unlock()
			return
		}
		batch, w.pending = w.pending, nil
		if len(batch) == 0 {
			w.catchingUp = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}
