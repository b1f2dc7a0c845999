package workqueue

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/internal/clock"
)

// getAsync calls Get in a goroutine; the result arrives on the channel.
type got struct {
	item     string
	shutdown bool
}

func getAsync(q *Queue[string]) <-chan got {
	ch := make(chan got, 1)
	go func() {
		item, sd := q.Get()
		ch <- got{item, sd}
	}()
	return ch
}

func expectNothing(t *testing.T, ch <-chan got) {
	t.Helper()
	select {
	case g := <-ch:
		t.Fatalf("Get returned %+v, want it to block", g)
	case <-time.After(30 * time.Millisecond):
	}
}

func expect(t *testing.T, ch <-chan got, want got) {
	t.Helper()
	select {
	case g := <-ch:
		if g != want {
			t.Fatalf("Get = %+v, want %+v", g, want)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("Get blocked, want %+v", want)
	}
}

func TestQueueSemantics(t *testing.T) {
	type step struct {
		op   string // add, get, done, len
		item string
		want int // for len
	}
	for _, tc := range []struct {
		name  string
		steps []step
		order []string // what successive Gets return after the steps
	}{
		{"fifo", []step{{op: "add", item: "a"}, {op: "add", item: "b"}, {op: "add", item: "c"}, {op: "len", want: 3}},
			[]string{"a", "b", "c"}},
		{"dedup while waiting", []step{{op: "add", item: "a"}, {op: "add", item: "b"}, {op: "add", item: "a"}, {op: "len", want: 2}},
			[]string{"a", "b"}},
		{"re-added while processing waits for Done", []step{
			{op: "add", item: "a"}, {op: "get", item: "a"}, {op: "add", item: "a"}, {op: "len", want: 0},
			{op: "add", item: "b"}, {op: "len", want: 1}, {op: "done", item: "a"}, {op: "len", want: 2}},
			[]string{"b", "a"}},
		{"re-added twice while processing runs once more", []step{
			{op: "add", item: "a"}, {op: "get", item: "a"}, {op: "add", item: "a"}, {op: "add", item: "a"},
			{op: "done", item: "a"}, {op: "len", want: 1}},
			[]string{"a"}},
		{"done without re-add drops it", []step{
			{op: "add", item: "a"}, {op: "get", item: "a"}, {op: "done", item: "a"}, {op: "len", want: 0}},
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New[string]()
			defer q.ShutDown()
			for i, s := range tc.steps {
				switch s.op {
				case "add":
					q.Add(s.item)
				case "get":
					if item, sd := q.Get(); item != s.item || sd {
						t.Fatalf("step %d: Get = %q %v, want %q", i, item, sd, s.item)
					}
				case "done":
					q.Done(s.item)
				case "len":
					if n := q.Len(); n != s.want {
						t.Fatalf("step %d: Len = %d, want %d", i, n, s.want)
					}
				}
			}
			for _, want := range tc.order {
				if item, _ := q.Get(); item != want {
					t.Fatalf("Get = %q, want %q", item, want)
				}
			}
			if q.Len() != 0 {
				t.Fatalf("Len = %d after draining", q.Len())
			}
		})
	}
}

func TestProcessingItemNotHandedTwice(t *testing.T) {
	q := New[string]()
	q.Add("a")
	if item, _ := q.Get(); item != "a" {
		t.Fatal(item)
	}
	q.Add("a")
	ch := getAsync(q)
	expectNothing(t, ch) // a second worker must not get "a" while the first holds it
	q.Done("a")
	expect(t, ch, got{"a", false})
	q.Done("a")
	q.ShutDown()
}

func TestShutDown(t *testing.T) {
	q := New[string]()
	q.Add("a")
	q.Add("b")
	blocked := getAsync(q) // takes "a"
	expect(t, blocked, got{"a", false})
	q.ShutDown()
	q.Add("c") // ignored
	if !q.ShuttingDown() {
		t.Fatal("ShuttingDown = false")
	}
	// Already queued items are still handed out, then shutdown is reported, repeatedly.
	expect(t, getAsync(q), got{"b", false})
	expect(t, getAsync(q), got{"", true})
	expect(t, getAsync(q), got{"", true})

	// A Get blocked on an empty queue wakes on ShutDown.
	q2 := New[string]()
	ch := getAsync(q2)
	expectNothing(t, ch)
	q2.ShutDown()
	expect(t, ch, got{"", true})
}

func TestShutDownWithDrain(t *testing.T) {
	q := New[string]()
	q.Add("a")
	q.Add("b")
	item, _ := q.Get() // "a" is in flight

	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	select {
	case <-drained:
		t.Fatal("drain returned with an item in flight")
	case <-time.After(30 * time.Millisecond):
	}
	q.Done(item)
	b, _ := q.Get()
	select {
	case <-drained:
		t.Fatal("drain returned with b in flight")
	case <-time.After(30 * time.Millisecond):
	}
	q.Done(b)
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		t.Fatal("drain did not return after the last Done")
	}
	if _, sd := q.Get(); !sd {
		t.Fatal("Get after drain should report shutdown")
	}
}

func TestShutDownEndsDrain(t *testing.T) {
	q := New[string]()
	q.Add("a")
	q.Get() // never Done
	drained := make(chan struct{})
	go func() {
		q.ShutDownWithDrain()
		close(drained)
	}()
	time.Sleep(10 * time.Millisecond)
	q.ShutDown()
	select {
	case <-drained:
	case <-time.After(2 * time.Second):
		t.Fatal("ShutDown did not end ShutDownWithDrain")
	}
}

func TestAddAfter(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	q := New[string]().WithClock(clk)
	defer q.ShutDown()

	q.AddAfter("now", 0)
	if q.Len() != 1 {
		t.Fatal("AddAfter(0) should add at once")
	}
	q.Get()
	q.Done("now")

	q.AddAfter("late", 50*time.Millisecond)
	clk.Step(49 * time.Millisecond)
	if q.Len() != 0 {
		t.Fatal("AddAfter added before its time")
	}
	clk.Step(time.Millisecond)
	if q.Len() != 1 {
		t.Fatal("AddAfter did not add when its time came")
	}
	item, _ := q.Get()
	q.Done(item)

	// The earlier of two delays wins, and the item arrives once.
	q.AddAfter("x", time.Hour)
	q.AddAfter("x", 20*time.Millisecond)
	q.AddAfter("x", 40*time.Millisecond) // later than the pending one: ignored
	clk.Step(20 * time.Millisecond)
	if item, _ := q.Get(); item != "x" {
		t.Fatalf("got %q, want x", item)
	}
	q.Done("x")
	clk.Step(time.Hour) // past the superseded timers
	if q.Len() != 0 {
		t.Fatalf("Len = %d: a superseded delay fired", q.Len())
	}
}

func TestAddAfterShutDown(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	q := New[string]().WithClock(clk)
	q.AddAfter("x", 10*time.Millisecond)
	q.ShutDown()
	clk.Step(time.Second)
	if q.Len() != 0 {
		t.Fatal("a delayed item arrived after ShutDown")
	}
}

func TestAddRateLimited(t *testing.T) {
	q := NewWithRateLimiter(ExponentialBackoff[string](10*time.Millisecond, time.Second))
	defer q.ShutDown()
	for i := 1; i <= 3; i++ {
		start := time.Now()
		q.AddRateLimited("a")
		item, _ := q.Get()
		want := 10 * time.Millisecond << (i - 1)
		if d := time.Since(start); item != "a" || d < want-2*time.Millisecond {
			t.Fatalf("retry %d after %v, want >= %v", i, d, want)
		}
		q.Done(item)
		if n := q.NumRequeues("a"); n != i {
			t.Fatalf("NumRequeues = %d, want %d", n, i)
		}
	}
	q.Forget("a")
	if n := q.NumRequeues("a"); n != 0 {
		t.Fatalf("NumRequeues after Forget = %d", n)
	}
}

// TestConcurrentWorkers hammers the queue: no item is ever processed by two workers at
// once, and every Add is followed by a processing of that item that starts after it.
func TestConcurrentWorkers(t *testing.T) {
	const (
		workers  = 8
		items    = 20
		adders   = 4
		addsEach = 2000
	)
	q := New[string]()
	var (
		mu       sync.Mutex
		active   = map[string]bool{}
		lastAdd  = map[string]int64{} // sequence number of the latest Add per item
		lastSeen = map[string]int64{} // latest Add sequence a processing started after
		seq      atomic.Int64
		overlap  atomic.Bool
	)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				item, sd := q.Get()
				if sd {
					return
				}
				mu.Lock()
				if active[item] {
					overlap.Store(true)
				}
				active[item] = true
				lastSeen[item] = lastAdd[item]
				mu.Unlock()
				time.Sleep(time.Microsecond)
				mu.Lock()
				active[item] = false
				mu.Unlock()
				q.Done(item)
			}
		})
	}
	var addWG sync.WaitGroup
	for a := range adders {
		addWG.Go(func() {
			for i := range addsEach {
				item := fmt.Sprint((a*addsEach + i) % items)
				// Record the Add before making it, so a processing that sees it in lastAdd
				// really started after it.
				mu.Lock()
				lastAdd[item] = seq.Add(1)
				mu.Unlock()
				q.Add(item)
			}
		})
	}
	addWG.Wait()
	q.ShutDownWithDrain()
	q.ShutDown()
	wg.Wait()
	if overlap.Load() {
		t.Fatal("an item was processed by two workers at once")
	}
	for item, a := range lastAdd {
		if lastSeen[item] != a {
			t.Errorf("item %s: last Add %d never processed (last processing saw %d)", item, a, lastSeen[item])
		}
	}
}
