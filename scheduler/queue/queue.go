// Package queue is the scheduling queue: which pending pod the scheduler tries next, and where
// a pod waits when it could not be scheduled.
//
// Three places, as in Kubernetes:
//   - active: pods ready to be tried, highest priority first, then oldest first;
//   - backoff: pods that failed recently, each waiting out its own exponential backoff
//     (1 s doubling to 10 s by default) before going back to active;
//   - unschedulable: pods no node fits. They stay there, costing nothing, until a cluster
//     event happens that one of the plugins that rejected them says could help (a node added,
//     a pod deleted, ...), or for at most five minutes as a safety net.
//
// Events that arrive while a pod is being scheduled are remembered, so a pod that fails just
// as the thing that would have helped it happens goes to backoff rather than waiting for the
// next event.
package queue

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	fw "github.com/skiff-sh/skiff/scheduler/framework"
)

// QueuedPodInfo is a pod in the queue with its scheduling history.
type QueuedPodInfo struct {
	*fw.PodInfo
	// Timestamp orders pods of equal priority; it is when the pod last entered the queue or
	// last failed.
	Timestamp time.Time
	// Enqueued is when the scheduler first queued the pod (the start of its e2e latency).
	Enqueued time.Time
	// InitialAttemptTimestamp is when the pod was first popped (zero before).
	InitialAttemptTimestamp time.Time
	// Attempts counts scheduling attempts.
	Attempts int
	// UnschedulablePlugins are the plugins that rejected the pod in its last attempt: only
	// events they registered can move it out of the unschedulable pods.
	UnschedulablePlugins map[string]bool

	backoffExpiry time.Time
	// eventIndex is the position in the in-flight event log when the pod was popped.
	eventIndex int
}

func (p *QueuedPodInfo) uid() string { return p.Pod.UID }

// Options tune a queue; zero values take Kubernetes' defaults.
type Options struct {
	InitialBackoff time.Duration // default 1s
	MaxBackoff     time.Duration // default 10s
	// MaxInUnschedulable is how long a pod may sit in the unschedulable pods without any
	// event before it is retried anyway (default 5m).
	MaxInUnschedulable time.Duration
	// Events are the cluster events each plugin (by name) registered.
	Events map[string][]fw.ClusterEventWithHint
	Now    func() time.Time
}

// Queue is the scheduling queue; safe for concurrent use.
type Queue struct {
	mu            sync.Mutex
	cond          *sync.Cond
	active        *podHeap
	backoff       *podHeap
	unschedulable map[string]*QueuedPodInfo
	// gated holds pods with scheduling gates: they are not tried until the gates are removed.
	gated map[string]*QueuedPodInfo
	// inFlight holds popped pods (latest version) until the scheduler says where they go.
	inFlight map[string]*QueuedPodInfo
	deleted  map[string]bool // pods deleted while in flight
	// eventLog records events while pods are in flight; cleared when none are.
	eventLog []loggedEvent
	logBase  int // index of eventLog[0] in the log's history
	closed   bool
	wake     chan struct{}
	// lastCheck is when the unschedulable pods were last checked for their maximum stay.
	lastCheck time.Time

	nominated map[string][]*fw.PodInfo // node → pods nominated to it
	nominee   map[string]string        // pod UID → node

	opts Options
}

type loggedEvent struct {
	ev             fw.ClusterEvent
	oldObj, newObj any
}

// ErrClosed is returned by Pop after Close.
var ErrClosed = errors.New("scheduling queue closed")

// New makes a queue.
func New(o Options) *Queue {
	if o.InitialBackoff == 0 {
		o.InitialBackoff = time.Second
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.MaxInUnschedulable == 0 {
		o.MaxInUnschedulable = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	q := &Queue{
		active: newPodHeap(func(a, b *QueuedPodInfo) bool {
			pa, pb := fw.Priority(a.Pod), fw.Priority(b.Pod)
			if pa != pb {
				return pa > pb
			}
			return a.Timestamp.Before(b.Timestamp)
		}),
		backoff:       newPodHeap(func(a, b *QueuedPodInfo) bool { return a.backoffExpiry.Before(b.backoffExpiry) }),
		unschedulable: map[string]*QueuedPodInfo{},
		gated:         map[string]*QueuedPodInfo{},
		inFlight:      map[string]*QueuedPodInfo{},
		deleted:       map[string]bool{},
		wake:          make(chan struct{}, 1),
		nominated:     map[string][]*fw.PodInfo{},
		nominee:       map[string]string{},
		opts:          o,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func gated(pod *core.Pod) bool { return len(pod.Spec.SchedulingGates) > 0 }

// Add queues a new pending pod (or updates it if already queued).
func (q *Queue) Add(pod *core.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.findLocked(pod.UID) != nil {
		q.updateLocked(pod)
		return
	}
	now := q.opts.Now()
	pi := &QueuedPodInfo{PodInfo: fw.NewPodInfo(pod), Timestamp: now, Enqueued: now}
	q.nominateFromStatusLocked(pi.PodInfo)
	if gated(pod) {
		q.gated[pod.UID] = pi
		return
	}
	q.active.add(pi)
	q.cond.Broadcast()
}

// findLocked returns the queued entry of uid wherever it is.
func (q *Queue) findLocked(uid string) *QueuedPodInfo {
	if p, ok := q.active.get(uid); ok {
		return p
	}
	if p, ok := q.backoff.get(uid); ok {
		return p
	}
	if p, ok := q.unschedulable[uid]; ok {
		return p
	}
	if p, ok := q.gated[uid]; ok {
		return p
	}
	if p, ok := q.inFlight[uid]; ok {
		return p
	}
	return nil
}

// Update replaces a pending pod. A pod waiting as unschedulable is retried if its spec or
// labels changed (the change may make it fit); a gated pod whose gates are gone is queued.
func (q *Queue) Update(pod *core.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.findLocked(pod.UID) == nil {
		q.mu.Unlock()
		q.Add(pod)
		q.mu.Lock()
		return
	}
	q.updateLocked(pod)
}

func (q *Queue) updateLocked(pod *core.Pod) {
	uid := pod.UID
	pi := fw.NewPodInfo(pod)
	q.nominateFromStatusLocked(pi)
	if p, ok := q.inFlight[uid]; ok {
		p.PodInfo = pi // the attempt's outcome is requeued with the latest version
		return
	}
	if p, ok := q.gated[uid]; ok {
		p.PodInfo = pi
		if !gated(pod) {
			delete(q.gated, uid)
			p.Timestamp = q.opts.Now()
			q.active.add(p)
			q.cond.Broadcast()
		}
		return
	}
	if p, ok := q.active.get(uid); ok {
		p.PodInfo = pi
		q.active.add(p) // priority may have changed
		return
	}
	if p, ok := q.backoff.get(uid); ok {
		p.PodInfo = pi
		return
	}
	if p, ok := q.unschedulable[uid]; ok {
		old := p.Pod
		p.PodInfo = pi
		if specOrLabelsChanged(old, pod) {
			q.moveLocked(p)
		}
	}
}

// specOrLabelsChanged: something other than status or bookkeeping changed.
func specOrLabelsChanged(a, b *core.Pod) bool {
	return a.Generation != b.Generation || !maps.Equal(a.Labels, b.Labels) || !slices.EqualFunc(a.Spec.Tolerations, b.Spec.Tolerations, sameToleration) ||
		!maps.Equal(a.Spec.NodeSelector, b.Spec.NodeSelector)
}

// sameToleration compares by value: every decoded copy of a pod has its own tolerationSeconds
// pointers (and the API server gives most pods two such tolerations).
func sameToleration(a, b core.Toleration) bool {
	if a.Key != b.Key || a.Operator != b.Operator || a.Value != b.Value || a.Effect != b.Effect {
		return false
	}
	if a.TolerationSeconds == nil || b.TolerationSeconds == nil {
		return a.TolerationSeconds == b.TolerationSeconds
	}
	return *a.TolerationSeconds == *b.TolerationSeconds
}

// Delete drops a pod from the queue.
func (q *Queue) Delete(pod *core.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	uid := pod.UID
	q.active.remove(uid)
	q.backoff.remove(uid)
	delete(q.unschedulable, uid)
	delete(q.gated, uid)
	if _, ok := q.inFlight[uid]; ok {
		q.deleted[uid] = true
	}
	q.deleteNominatedLocked(uid)
}

// Pop waits for a pod in active and takes it out; the caller must then call Done,
// AddUnschedulable or AddBackoff with it.
func (q *Queue) Pop(ctx context.Context) (*QueuedPodInfo, error) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 {
		if q.closed {
			return nil, ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.cond.Wait()
	}
	p := q.active.pop()
	p.Attempts++
	if p.InitialAttemptTimestamp.IsZero() {
		p.InitialAttemptTimestamp = q.opts.Now()
	}
	if len(q.inFlight) == 0 {
		q.logBase += len(q.eventLog)
		q.eventLog = q.eventLog[:0]
	}
	p.eventIndex = q.logBase + len(q.eventLog)
	q.inFlight[p.uid()] = p
	return p, nil
}

// Done ends a pod's attempt that needs no requeue (it was assumed onto a node, or dropped).
func (q *Queue) Done(uid string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.doneLocked(uid)
}

func (q *Queue) doneLocked(uid string) {
	delete(q.inFlight, uid)
	delete(q.deleted, uid)
	if len(q.inFlight) == 0 {
		q.logBase += len(q.eventLog)
		q.eventLog = q.eventLog[:0]
	}
}

// takeInFlightLocked ends the attempt and returns the pod's latest version (nil if it was
// deleted meanwhile or is not in flight).
func (q *Queue) takeInFlightLocked(p *QueuedPodInfo) *QueuedPodInfo {
	uid := p.uid()
	cur, ok := q.inFlight[uid]
	gone := q.deleted[uid]
	if !ok || gone {
		q.doneLocked(uid)
		return nil
	}
	return cur
}

// AddUnschedulable puts a pod no node fits among the unschedulable pods, remembering which
// plugins rejected it. If an event those plugins care about arrived during the attempt, it
// goes to backoff instead: the cluster already changed in a way that may help.
func (q *Queue) AddUnschedulable(p *QueuedPodInfo, rejectors map[string]bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cur := q.takeInFlightLocked(p)
	if cur == nil {
		return
	}
	cur.UnschedulablePlugins = rejectors
	now := q.opts.Now()
	cur.Timestamp = now
	cur.backoffExpiry = now.Add(q.backoffDuration(cur.Attempts))
	helped := false
	for i := cur.eventIndex - q.logBase; i >= 0 && i < len(q.eventLog); i++ {
		e := q.eventLog[i]
		if q.matchesLocked(cur, e.ev, e.oldObj, e.newObj) {
			helped = true
			break
		}
	}
	q.doneLocked(cur.uid())
	if gated(cur.Pod) {
		q.gated[cur.uid()] = cur
		return
	}
	if helped {
		q.backoff.add(cur)
		q.poke()
		return
	}
	q.unschedulable[cur.uid()] = cur
}

// AddBackoff requeues a pod whose attempt failed for another reason (an API error, a failed
// binding): it is retried after its backoff.
func (q *Queue) AddBackoff(p *QueuedPodInfo) {
	q.mu.Lock()
	defer q.mu.Unlock()
	cur := q.takeInFlightLocked(p)
	if cur == nil {
		// A failed binding requeues a pod whose attempt already ended: queue it anew unless
		// it is known somewhere.
		if q.findLocked(p.uid()) != nil {
			return
		}
		cur = p
	}
	now := q.opts.Now()
	cur.Timestamp = now
	cur.backoffExpiry = now.Add(q.backoffDuration(cur.Attempts))
	q.doneLocked(cur.uid())
	q.backoff.add(cur)
	q.poke()
}

// backoffDuration is initial·2^(attempts-1), capped at max.
func (q *Queue) backoffDuration(attempts int) time.Duration {
	d := q.opts.InitialBackoff
	for i := 1; i < attempts; i++ {
		d *= 2
		if d >= q.opts.MaxBackoff {
			return q.opts.MaxBackoff
		}
	}
	return d
}

// OnEvent moves the unschedulable pods the event may help to active (or to backoff if they
// are still backing off), and logs it for the pods in flight.
func (q *Queue) OnEvent(ev fw.ClusterEvent, oldObj, newObj any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.inFlight) > 0 {
		q.eventLog = append(q.eventLog, loggedEvent{ev, oldObj, newObj})
	}
	for _, p := range q.unschedulable {
		if q.matchesLocked(p, ev, oldObj, newObj) {
			q.moveLocked(p)
		}
	}
}

// matchesLocked: a plugin that rejected p registered ev, and its hint (if any) agrees.
// A pod rejected by no plugin in particular (no nodes at all, say) moves on any event.
func (q *Queue) matchesLocked(p *QueuedPodInfo, ev fw.ClusterEvent, oldObj, newObj any) bool {
	if len(p.UnschedulablePlugins) == 0 {
		return true
	}
	for name := range p.UnschedulablePlugins {
		for _, reg := range q.opts.Events[name] {
			if reg.Event.Match(ev) && (reg.Hint == nil || reg.Hint(p.Pod, oldObj, newObj)) {
				return true
			}
		}
	}
	return false
}

// moveLocked takes an unschedulable pod to backoff or active.
func (q *Queue) moveLocked(p *QueuedPodInfo) {
	delete(q.unschedulable, p.uid())
	if q.opts.Now().Before(p.backoffExpiry) {
		q.backoff.add(p)
		q.poke()
		return
	}
	q.active.add(p)
	q.cond.Broadcast()
}

// MoveAll retries every unschedulable pod (used when something affecting all of them changed).
func (q *Queue) MoveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.unschedulable {
		q.moveLocked(p)
	}
}

func (q *Queue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Run moves pods whose backoff ended to active, and pods that sat unschedulable for
// MaxInUnschedulable to active or backoff, until ctx ends. It sleeps until the next backoff
// expiry (or the next unschedulable check), so an idle queue costs nothing.
func (q *Queue) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.wake:
		}
		next := q.flush(q.opts.Now())
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(max(next, time.Millisecond))
	}
}

// unschedulableCheck is how often the unschedulable pods are checked for MaxInUnschedulable.
const unschedulableCheck = 30 * time.Second

// flush does Run's work as of now and returns how long until it has more to do.
func (q *Queue) flush(now time.Time) time.Duration {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.flushBackoffLocked(now)
	if q.lastCheck.IsZero() {
		q.lastCheck = now
	}
	if now.Sub(q.lastCheck) >= unschedulableCheck {
		q.lastCheck = now
		for _, p := range q.unschedulable {
			if now.Sub(p.Timestamp) >= q.opts.MaxInUnschedulable {
				q.moveLocked(p)
			}
		}
	}
	next := unschedulableCheck - now.Sub(q.lastCheck)
	if h := q.backoff.peek(); h != nil {
		next = min(next, h.backoffExpiry.Sub(now))
	}
	return next
}

func (q *Queue) flushBackoffLocked(now time.Time) {
	moved := false
	for h := q.backoff.peek(); h != nil && !now.Before(h.backoffExpiry); h = q.backoff.peek() {
		q.backoff.pop()
		q.active.add(h)
		moved = true
	}
	if moved {
		q.cond.Broadcast()
	}
}

// Close wakes Pop callers with ErrClosed.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// Lengths returns how many pods are in active, backoff, unschedulable and gated.
func (q *Queue) Lengths() (active, backoff, unschedulable, gatedN int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), q.backoff.Len(), len(q.unschedulable), len(q.gated)
}

// Where reports which part of the queue holds a pod: "active", "backoff", "unschedulable",
// "gated", "inFlight" or "" (for tests and debugging).
func (q *Queue) Where(uid string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.active.get(uid); ok {
		return "active"
	}
	if _, ok := q.backoff.get(uid); ok {
		return "backoff"
	}
	switch {
	case q.unschedulable[uid] != nil:
		return "unschedulable"
	case q.gated[uid] != nil:
		return "gated"
	case q.inFlight[uid] != nil:
		return "inFlight"
	}
	return ""
}

// Nominate records that pod waits for room it preempted on node.
func (q *Queue) Nominate(pi *fw.PodInfo, node string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.nominateLocked(pi, node)
}

func (q *Queue) nominateFromStatusLocked(pi *fw.PodInfo) {
	if n := pi.Pod.Status.NominatedNodeName; n != "" {
		q.nominateLocked(pi, n)
		return
	}
	// A status-less update may arrive just after the scheduler nominated the pod in memory:
	// keep the nomination, but point it at the new pod version.
	if n, ok := q.nominee[pi.Pod.UID]; ok {
		q.nominateLocked(pi, n)
	}
}

func (q *Queue) nominateLocked(pi *fw.PodInfo, node string) {
	q.deleteNominatedLocked(pi.Pod.UID)
	if node == "" {
		return
	}
	q.nominee[pi.Pod.UID] = node
	q.nominated[node] = append(q.nominated[node], pi)
}

// DeleteNominated drops a pod's nomination.
func (q *Queue) DeleteNominated(uid string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteNominatedLocked(uid)
}

func (q *Queue) deleteNominatedLocked(uid string) {
	node, ok := q.nominee[uid]
	if !ok {
		return
	}
	delete(q.nominee, uid)
	q.nominated[node] = slices.DeleteFunc(q.nominated[node], func(p *fw.PodInfo) bool { return p.Pod.UID == uid })
	if len(q.nominated[node]) == 0 {
		delete(q.nominated, node)
	}
}

// NominatedPods returns the pods nominated to node (a copy).
func (q *Queue) NominatedPods(node string) []*fw.PodInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.nominated[node])
}

// NominatedPodsByNode returns a copy of every nomination (nil when there are none), so that a
// scheduling cycle can consult them per node without taking the queue's lock each time.
func (q *Queue) NominatedPodsByNode() map[string][]*fw.PodInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.nominated) == 0 {
		return nil
	}
	out := make(map[string][]*fw.PodInfo, len(q.nominated))
	for n, ps := range q.nominated {
		out[n] = slices.Clone(ps)
	}
	return out
}
