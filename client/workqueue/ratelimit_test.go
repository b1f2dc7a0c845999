package workqueue

import (
	"testing"
	"time"
)

func TestExponentialBackoff(t *testing.T) {
	r := ExponentialBackoff[string](5*time.Millisecond, time.Second)
	want := []time.Duration{5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		if d := r.When("a"); d != w*time.Millisecond {
			t.Fatalf("failure %d: When = %v, want %v", i+1, d, w*time.Millisecond)
		}
	}
	if d := r.When("b"); d != 5*time.Millisecond {
		t.Fatalf("items back off independently: When(b) = %v", d)
	}
	if n := r.NumRequeues("a"); n != len(want) {
		t.Fatalf("NumRequeues = %d", n)
	}
	r.Forget("a")
	if d := r.When("a"); d != 5*time.Millisecond {
		t.Fatalf("after Forget: When = %v", d)
	}

	// A long streak saturates rather than overflowing.
	long := ExponentialBackoff[int](5*time.Millisecond, 1000*time.Second)
	for range 200 {
		if d := long.When(1); d < 0 || d > 1000*time.Second {
			t.Fatalf("When = %v out of range", d)
		}
	}
}

func TestTokenBucketAndMaxOf(t *testing.T) {
	b := TokenBucket[string](10, 2)
	for i, wantZero := range []bool{true, true, false} {
		if d := b.When("any"); (d == 0) != wantZero {
			t.Fatalf("When #%d = %v", i, d)
		}
	}

	// An item waits for the longest of the limiters' delays.
	backoffWins := MaxOf(ExponentialBackoff[string](time.Second, time.Hour), TokenBucket[string](100, 100))
	if d := backoffWins.When("x"); d != time.Second {
		t.Errorf("backoff longer than bucket: When = %v, want 1s", d)
	}
	bucketWins := MaxOf(ExponentialBackoff[string](time.Millisecond, time.Hour), TokenBucket[string](1, 1))
	bucketWins.When("x") // takes the only token
	if d := bucketWins.When("y"); d < 900*time.Millisecond {
		t.Errorf("empty bucket: When = %v, want about 1s", d)
	}

	m := MaxOf(ExponentialBackoff[string](time.Millisecond, time.Second), TokenBucket[string](1000, 1000))
	m.When("x")
	m.When("x")
	if m.NumRequeues("x") != 2 {
		t.Fatal("MaxOf.NumRequeues should report the per-item count")
	}
	m.Forget("x")
	if m.NumRequeues("x") != 0 {
		t.Fatal("MaxOf.Forget should reach every limiter")
	}
	d := DefaultRateLimiter[string]()
	if w := d.When("a"); w != 5*time.Millisecond {
		t.Fatalf("default first delay %v, want 5ms", w)
	}
}
