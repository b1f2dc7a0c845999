package framework

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
)

// Parallelizer runs a function over many pieces (nodes) with a bounded number of goroutines.
type Parallelizer struct {
	Workers int
}

// Until calls fn(i) for i in [0, pieces) on at most p.Workers goroutines and returns when all
// calls returned or ctx ended (remaining pieces are then skipped). Pieces are handed out in
// chunks of about sqrt(pieces), as Kubernetes does: big enough that a goroutine does real work
// per handoff, small enough that the workers finish together.
func (p Parallelizer) Until(ctx context.Context, pieces int, fn func(i int)) {
	if pieces <= 0 {
		return
	}
	workers := max(1, p.Workers)
	chunk := chunkSize(pieces, workers)
	if workers == 1 || pieces <= chunk {
		for i := 0; i < pieces; i++ {
			if ctx.Err() != nil {
				return
			}
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	workers = min(workers, (pieces+chunk-1)/chunk)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(int64(chunk))) - chunk
				if start >= pieces || ctx.Err() != nil {
					return
				}
				for i := start; i < min(start+chunk, pieces); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

func chunkSize(pieces, workers int) int {
	s := int(math.Sqrt(float64(pieces)))
	if r := pieces/workers + 1; s > r {
		s = r
	}
	return max(1, s)
}

// atomicStatus keeps the first non-nil status set from parallel workers.
type atomicStatus struct {
	mu sync.Mutex
	s  *Status
}

func (a *atomicStatus) set(s *Status) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.s == nil {
		a.s = s
	}
}

func (a *atomicStatus) get() *Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.s
}
