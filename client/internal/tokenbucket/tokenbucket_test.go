package tokenbucket

import (
	"context"
	"testing"
	"time"
)

func TestReserve(t *testing.T) {
	now := time.Unix(0, 0)
	b := New(10, 2) // a token every 100ms, two at once
	b.now = func() time.Time { return now }

	steps := []struct {
		advance time.Duration
		want    time.Duration
	}{
		{0, 0},                      // burst token 1
		{0, 0},                      // burst token 2
		{0, 100 * time.Millisecond}, // empty: wait for the next refill
		{0, 200 * time.Millisecond}, // and the one after
		{time.Second, 0},            // refilled (capped at burst), debt of 2 paid
		{0, 0},                      // second token of the refilled burst
		{0, 100 * time.Millisecond}, // empty again
		{50 * time.Millisecond, 150 * time.Millisecond}, // half a token earned, one and a half owed
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := b.Reserve(); got != s.want {
			t.Fatalf("step %d: Reserve() = %v, want %v", i, got, s.want)
		}
	}
}

func TestWaitCancelReturnsToken(t *testing.T) {
	b := New(1, 1)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx); err == nil {
		t.Fatal("Wait on an empty bucket should give up when ctx ends")
	}
	// The abandoned token was given back: the next wait is about one token (1s), not two.
	if d := b.Reserve(); d > 1100*time.Millisecond {
		t.Fatalf("Reserve after cancel = %v, want about 1s", d)
	}
}
