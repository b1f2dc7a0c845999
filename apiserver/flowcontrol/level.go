package flowcontrol

import (
	"math"

	fc "github.com/skiff-sh/skiff/api/flowcontrol"
)

// level is one priority level's seats and queues. All fields are guarded by the
// Controller's mutex.
type level struct {
	name, uid string
	exempt    bool
	limit     int // nominal seats: the level's share of the server's
	// lendable of the limit may be lent to other levels while idle; borrowLimit is how
	// many seats beyond its limit the level may borrow (-1: as many as are idle).
	lendable, borrowLimit int
	maxSeats              int // the most seats one request may take here
	executing             int // seats held by executing requests

	// reject: no queues, a request without a free seat is refused at once.
	reject                     bool
	handSize, queueLengthLimit int
	queues                     []*queue
	waiting                    int
	next                       int // round-robin cursor over queues
}

// queue is one of a level's queues: its waiting requests, and how many seats the requests
// it dispatched still hold.
type queue struct {
	reqs      []*waiter
	executing int
}

type waiter struct {
	ready      chan struct{}
	dispatched bool
	q          *queue
	flow       string
	seats      int
}

// fitsFunc tells whether the level may take n more seats now (the Controller's judgement,
// which counts what the other levels lend and borrow).
type fitsFunc func(l *level, n int) bool

// maxSeatsPercent: one request may take at most 15% of its level's nominal seats, and
// never more than maxSeatsLimit (Kubernetes' priorityLevelMaxSeatsPercent and its work
// estimator's maximum).
const (
	maxSeatsPercent = 15
	maxSeatsLimit   = 10
)

func (l *level) configure(pl *fc.PriorityLevelConfiguration, limit int) {
	l.uid = string(pl.UID)
	l.exempt = pl.Spec.Type == fc.PriorityLevelEnablementExempt
	l.limit = limit
	l.lendable, l.borrowLimit = 0, -1
	if lim := pl.Spec.Limited; lim != nil {
		// Kubernetes: LendableCL = round(NominalCL × lendablePercent / 100), and likewise
		// the borrowing limit; an unset borrowingLimitPercent is no limit.
		if lim.LendablePercent != nil {
			l.lendable = min(limit, int(math.Round(float64(limit)*float64(*lim.LendablePercent)/100)))
		}
		if lim.BorrowingLimitPercent != nil {
			l.borrowLimit = int(math.Round(float64(limit) * float64(*lim.BorrowingLimitPercent) / 100))
		}
	}
	l.maxSeats = max(1, min(maxSeatsLimit, int(math.Ceil(float64(limit)*maxSeatsPercent/100))))
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
					l.executing += w.seats
					l.waiting--
					continue
				}
				nq := l.shortestOfHand(w.flow)
				w.q = nq
				nq.reqs = append(nq.reqs, w)
			}
		}
	}
	for _, q := range l.queues {
		for _, w := range q.reqs {
			w.seats = min(w.seats, l.maxSeats) // a smaller level must still be able to serve it
		}
	}
}

// minSeats are the seats the level keeps for itself, lending none of them.
func (l *level) minSeats() int { return l.limit - l.lendable }

// maxLimit is the most seats the level may hold, borrowed ones included.
func (l *level) maxLimit(total int) int {
	if l.borrowLimit < 0 {
		return total
	}
	return l.limit + l.borrowLimit
}

// enter takes seats for a request if they are free (returning the queue charged with
// them, nil on levels without queues), else queues it (returning the waiter), else refuses
// (returning the reason, as Kubernetes' rejected_requests_total labels it).
func (l *level) enter(flow string, seats int, fits fitsFunc) (*queue, *waiter, string) {
	if l.exempt || (l.waiting == 0 && fits(l, seats)) {
		l.executing += seats
		if len(l.queues) == 0 {
			return nil, nil, ""
		}
		q := l.shortestOfHand(flow)
		q.executing += seats
		return q, nil, ""
	}
	if l.reject {
		return nil, nil, "concurrency-limit"
	}
	q := l.shortestOfHand(flow)
	if len(q.reqs) >= l.queueLengthLimit {
		return nil, nil, "queue-full"
	}
	w := &waiter{ready: make(chan struct{}), q: q, flow: flow, seats: seats}
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

// done frees the seats of a request charged to q (nil on levels without queues). The
// Controller then gives them to waiting requests, here or in a level that borrows.
func (l *level) done(q *queue, seats int) {
	l.executing -= seats
	if q != nil {
		q.executing -= seats
	}
}

// dispatch fills free seats from the queues. The next request comes from the non-empty
// queue whose dispatched requests hold the fewest seats, ties broken in turn from a
// rotating cursor: a flow whose requests already hold many seats waits behind one that
// holds none, which is what Kubernetes' fair queuing (by virtual finish time, counting
// seats) achieves when requests take similar time. When that request's seats are not
// free, dispatching stops, as in Kubernetes, so a wide request is not passed for ever by
// narrow ones.
func (l *level) dispatch(fits fitsFunc) {
	for l.waiting > 0 {
		best := -1
		for i := range l.queues {
			j := (l.next + i) % len(l.queues)
			if q := l.queues[j]; len(q.reqs) > 0 && (best < 0 || q.executing < l.queues[best].executing) {
				best = j
			}
		}
		q := l.queues[best]
		w := q.reqs[0]
		if !l.exempt && !fits(l, w.seats) {
			return
		}
		q.reqs = q.reqs[1:]
		l.next = (best + 1) % len(l.queues)
		w.dispatched = true
		close(w.ready)
		l.waiting--
		l.executing += w.seats
		q.executing += w.seats
	}
}

// releaseAllWaiting lets every waiting request run (the level is being removed).
func (l *level) releaseAllWaiting() {
	for _, q := range l.queues {
		for _, w := range q.reqs {
			w.dispatched = true
			close(w.ready)
			l.executing += w.seats
			q.executing += w.seats
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
