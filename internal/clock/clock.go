// Package clock is the time source of code that waits, so that its tests can step time
// instead of sleeping: Real is the wall clock, Fake a clock that moves only when told.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed (Real) or once the clock has
	// been stepped past d (Fake, in the stepping goroutine).
	AfterFunc(d time.Duration, f func())
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                      { return time.Now() }
func (Real) AfterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

// Fake is a clock for tests: Now stands still until Step, and functions scheduled with
// AfterFunc run, in time order, inside the Step that reaches them.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	pending []pending
}

type pending struct {
	at time.Time
	f  func()
}

// NewFake is a fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *Fake) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, pending{c.now.Add(d), f})
}

// Pending is how many scheduled functions have not run yet.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Step moves the clock on by d and runs every function due by then, earliest first.
func (c *Fake) Step(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	sort.SliceStable(c.pending, func(i, j int) bool { return c.pending[i].at.Before(c.pending[j].at) })
	var due []func()
	keep := c.pending[:0]
	for _, p := range c.pending {
		if !p.at.After(c.now) {
			due = append(due, p.f)
		} else {
			keep = append(keep, p)
		}
	}
	c.pending = keep
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}
