package flowcontrol

import (
	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

// level is one priority level's seats and queues. All fields are guarded by the
// Controller's mutex.
type level struct {
	name, uid string
	exempt    bool
	limit     int // seats
	executing int

	// reject: no queues, a request without a free seat is refused at once.
	reject                     bool
	handSize, queueLengthLimit int
	queues                     []*queue
	waiting                    int
	next                       int // round-robin cursor over queues
}

// queue is one of a level's queues: its waiting requests, and how many requests it has
// dispatched that are still executing.
type queue struct {
	reqs      []*waiter
	executing int
}

type waiter struct {
	ready      chan struct{}
	dispatched bool
	q          *queue
	flow       string
}

func (l *level) configure(pl *fc.PriorityLevelConfiguration, limit int) {
	l.uid = string(pl.UID)
	l.exempt = pl.Spec.Type == fc.PriorityLevelEnablementExempt
	l.limit = limit
	l.reject, l.handSize, l.queueLengthLimit = true, 0, 0
	nqueues := 0
	if lim := pl.Spec.Limited; lim != nil && lim.LimitResponse.Type == fc.LimitResponseTypeQueue && lim.LimitResponse.Queuing != nil {
		q := lim.LimitResponse.Queuing
		l.reject = false
		l.handSize, l.queueLengthLimit, nqueues = int(q.HandSize), int(q.QueueLengthLimit), int(q.Queues)
		l.handSize = max(1, min(l.handSize, nqueues))
	}
	if nqueues != len(l.queues) {
		// Re-deal the waiting requests onto the new queues, keeping their order.
		old := l.queues
		l.queues = make([]*queue, nqueues)
		for i := range l.queues {
			l.queues[i] = &queue{}
		}
		l.next = 0
		for _, q := range old {
			for _, w := range q.reqs {
				if nqueues == 0 {
					w.dispatched = true
					w.q = nil
					close(w.ready)
					l.executing++
					l.waiting--
					continue
				}
				nq := l.shortestOfHand(w.flow)
				w.q = nq
				nq.reqs = append(nq.reqs, w)
			}
		}
	}
	l.dispatch() // a larger limit may free seats at once
}

// enter takes a seat if one is free (returning the queue charged with it, nil on levels
// without queues), else queues (returning the waiter), else refuses (returning the
// reason, as Kubernetes' rejected_requests_total labels it).
func (l *level) enter(flow string) (*queue, *waiter, string) {
	if l.exempt || (l.executing < l.limit && l.waiting == 0) {
		l.executing++
		if len(l.queues) == 0 {
			return nil, nil, ""
		}
		q := l.shortestOfHand(flow)
		q.executing++
		return q, nil, ""
	}
	if l.reject {
		return nil, nil, "concurrency-limit"
	}
	q := l.shortestOfHand(flow)
	if len(q.reqs) >= l.queueLengthLimit {
		return nil, nil, "queue-full"
	}
	w := &waiter{ready: make(chan struct{}), q: q, flow: flow}
	q.reqs = append(q.reqs, w)
	l.waiting++
	return q, w, ""
}

// leave takes a waiter that gave up out of its queue.
func (l *level) leave(w *waiter) {
	for i, x := range w.q.reqs {
		if x == w {
			w.q.reqs = append(w.q.reqs[:i], w.q.reqs[i+1:]...)
			l.waiting--
			return
		}
	}
}

// done frees the seat of a request charged to q (nil on levels without queues) and gives
// it to the next waiter.
func (l *level) done(q *queue) {
	l.executing--
	if q != nil {
		q.executing--
	}
	l.dispatch()
}

// dispatch fills free seats from the queues. The next request comes from the non-empty
// queue with the fewest requests executing, ties broken in turn from a rotating cursor:
// a flow whose requests already hold many seats waits behind one that holds none, which
// is what Kubernetes' fair queuing (by virtual finish time, counting executing requests)
// achieves when requests take similar time.
func (l *level) dispatch() {
	for l.waiting > 0 && (l.exempt || l.executing < l.limit) {
		best := -1
		for i := range l.queues {
			j := (l.next + i) % len(l.queues)
			if q := l.queues[j]; len(q.reqs) > 0 && (best < 0 || q.executing < l.queues[best].executing) {
				best = j
			}
		}
		q := l.queues[best]
		w := q.reqs[0]
		q.reqs = q.reqs[1:]
		l.next = (best + 1) % len(l.queues)
		w.dispatched = true
		close(w.ready)
		l.waiting--
		l.executing++
		q.executing++
	}
}

// releaseAllWaiting lets every waiting request run (the level is being removed).
func (l *level) releaseAllWaiting() {
	for _, q := range l.queues {
		for _, w := range q.reqs {
			w.dispatched = true
			close(w.ready)
			l.executing++
			q.executing++
		}
		q.reqs = nil
	}
	l.waiting = 0
}

// shortestOfHand deals the flow its hand of queues by shuffle sharding (the hash picks
// handSize distinct queues) and returns the shortest, the first on ties.
func (l *level) shortestOfHand(flow string) *queue {
	hand := deal(flowHash(flow), len(l.queues), l.handSize)
	best := l.queues[hand[0]]
	for _, i := range hand[1:] {
		if len(l.queues[i].reqs) < len(best.reqs) {
			best = l.queues[i]
		}
	}
	return best
}

// deal picks hand distinct indexes below deck from h, reading h as a mixed-radix number:
// the i-th pick is the (h mod (deck-i))-th index not picked yet.
func deal(h uint64, deck, hand int) []int {
	out := make([]int, 0, hand)
	used := make([]bool, deck)
	for i := 0; i < hand && i < deck; i++ {
		n := uint64(deck - i)
		k := int(h % n)
		h /= n
		for j := 0; j < deck; j++ {
			if used[j] {
				continue
			}
			if k == 0 {
				used[j] = true
				out = append(out, j)
				break
			}
			k--
		}
	}
	return out
}
