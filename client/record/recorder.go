// Package record writes core/v1 Events about objects, as client-go's event recorder does, so
// that `kubectl describe` and `kubectl get events` show what components did and why.
//
// Recording never blocks the caller: events go into a bounded queue and are written by
// background goroutines; when the queue is full the event is dropped and counted. Repeats of
// the same event (same object, type, reason and message) are aggregated into one Event object
// whose count and lastTimestamp are PATCHed, instead of a new object per occurrence; repeats
// still waiting in the queue are merged before they are sent at all.
package record

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/client"
)

// Recorder records events about objects. Implementations must not block.
type Recorder interface {
	// Event records an event of eventType (core.EventTypeNormal or core.EventTypeWarning)
	// about obj; reason is a short CamelCase word, message a sentence for humans.
	Event(obj meta.Object, eventType, reason, message string)
	// Eventf is Event with a formatted message.
	Eventf(obj meta.Object, eventType, reason, messageFmt string, args ...any)
}

// Tunables, as in client-go where it has them.
const (
	// queueSize bounds the events waiting to be written, over all shards.
	queueSize = 1000
	// shards write in parallel; one key always goes to the same shard, so the writes of one
	// aggregated event stay in order (its create before its patches).
	shards = 4
	// cacheSize bounds the aggregation memory (client-go's maxLruCacheEntries).
	cacheSize = 4096
	// maxMessage is the API's limit on an event message.
	maxMessage = 1024
	// writeTimeout bounds one API write.
	writeTimeout = 10 * time.Second
)

// EventRecorder is the Recorder NewRecorder returns.
type EventRecorder struct {
	events    *client.Typed[core.Event, *core.Event]
	component string
	host      string
	kinds     map[reflect.Type]*registry.Kind
	log       *slog.Logger
	now       func() time.Time

	mu     sync.Mutex
	seen   *lru
	shards [shards]shard

	dropped atomic.Uint64
	written atomic.Uint64
	failed  atomic.Uint64
}

// NewRecorder returns a recorder writing events through c as component (source.component and
// reportingController) on host (source.host and reportingInstance; may be empty).
func NewRecorder(c *client.Client, component, host string) Recorder {
	return newRecorder(c, component, host)
}

func newRecorder(c *client.Client, component, host string) *EventRecorder {
	r := &EventRecorder{
		events:    client.For[core.Event](c, client.Resource{Version: "v1", Resource: "events", Namespaced: true}),
		component: component,
		host:      host,
		kinds:     map[reflect.Type]*registry.Kind{},
		log:       slog.Default().With("component", "event-recorder"),
		now:       time.Now,
		seen:      newLRU(cacheSize),
	}
	for _, k := range registry.Default().Kinds() {
		r.kinds[k.Type] = k
	}
	return r
}

// Stats reports how many events were written, failed (the API refused them) and dropped (the
// queue was full). Available on the Recorder NewRecorder returns:
//
//	written, failed, dropped := rec.(*record.EventRecorder).Stats()
func (r *EventRecorder) Stats() (written, failed, dropped uint64) {
	return r.written.Load(), r.failed.Load(), r.dropped.Load()
}

// Pending is how many writes are queued or in progress.
func (r *EventRecorder) Pending() int {
	n := 0
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		n += len(s.items)
		if s.busy {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

func (r *EventRecorder) Eventf(obj meta.Object, eventType, reason, messageFmt string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(messageFmt, args...))
}

func (r *EventRecorder) Event(obj meta.Object, eventType, reason, message string) {
	ref, err := r.reference(obj)
	if err != nil {
		r.log.Warn("cannot record event", "reason", reason, "err", err)
		return
	}
	if len(message) > maxMessage {
		message = message[:maxMessage-3] + "..."
	}
	now := r.now()
	key := strings.Join([]string{ref.APIVersion, ref.Kind, ref.Namespace, ref.Name, ref.UID, eventType, reason, message}, "\x00")

	r.mu.Lock()
	agg, repeat := r.seen.get(key)
	if repeat {
		agg.count++
		agg.last = now
	} else {
		ns := ref.Namespace
		if ns == "" {
			ns = core.NamespaceDefault // events about cluster-scoped objects live in default
		}
		agg = &aggregate{
			namespace: ns,
			name:      fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()),
			first:     now, last: now, count: 1,
			event: core.Event{
				TypeMeta:            meta.TypeMeta{Kind: "Event", APIVersion: "v1"},
				InvolvedObject:      ref,
				Reason:              reason,
				Message:             message,
				Source:              core.EventSource{Component: r.component, Host: r.host},
				Type:                eventType,
				ReportingController: r.component,
				ReportingInstance:   r.host,
			},
		}
		r.seen.add(key, agg)
	}
	w := write{key: key, agg: agg, count: agg.count, last: agg.last, create: !agg.created && !repeat}
	r.mu.Unlock()

	h := fnv.New32a()
	h.Write([]byte(key))
	r.shards[h.Sum32()%shards].enqueue(r, w)
}

// reference builds the involvedObject of obj. Objects read from lists and watches often carry
// no kind, so it comes from the kind registry by Go type.
func (r *EventRecorder) reference(obj meta.Object) (core.ObjectReference, error) {
	m := obj.GetObjectMeta()
	tm := obj.GetTypeMeta()
	kind, apiVersion := tm.Kind, tm.APIVersion
	if kind == "" || apiVersion == "" {
		t := reflect.TypeOf(obj)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		k, ok := r.kinds[t]
		if !ok {
			return core.ObjectReference{}, fmt.Errorf("no kind known for %T", obj)
		}
		kind, apiVersion = k.Kind, k.APIVersion()
	}
	if m.Name == "" {
		return core.ObjectReference{}, fmt.Errorf("%s has no name", kind)
	}
	return core.ObjectReference{
		Kind: kind, APIVersion: apiVersion, Namespace: m.Namespace, Name: m.Name,
		UID: m.UID, ResourceVersion: m.ResourceVersion,
	}, nil
}

// aggregate is one Event object and the occurrences folded into it.
type aggregate struct {
	namespace, name string
	first, last     time.Time
	count           int32
	event           core.Event
	// created is set once the Event object exists on the server (guarded by the recorder's mu).
	created bool
}

// write is one queued API call: a create of the aggregate's Event, or a patch of its count.
type write struct {
	key    string
	agg    *aggregate
	count  int32
	last   time.Time
	create bool
}

type shard struct {
	mu      sync.Mutex
	items   []write
	pending map[string]int // key → index in items, to merge repeats not yet sent
	busy    bool           // a goroutine is draining this shard
}

// enqueue adds w, merging it into a queued write of the same key; it drops w if the shard is
// full. A drain goroutine is started if none runs: there is no goroutine when nothing is queued.
func (s *shard) enqueue(r *EventRecorder, w write) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.pending[w.key]; ok {
		prev := &s.items[i]
		prev.count, prev.last = w.count, w.last
		return
	}
	if len(s.items) >= queueSize/shards {
		r.dropped.Add(1)
		return
	}
	if s.pending == nil {
		s.pending = map[string]int{}
	}
	s.pending[w.key] = len(s.items)
	s.items = append(s.items, w)
	if !s.busy {
		s.busy = true
		go s.drain(r)
	}
}

func (s *shard) drain(r *EventRecorder) {
	for {
		s.mu.Lock()
		if len(s.items) == 0 {
			s.busy = false
			s.mu.Unlock()
			return
		}
		w := s.items[0]
		s.items = s.items[1:]
		delete(s.pending, w.key)
		for k, i := range s.pending {
			s.pending[k] = i - 1
		}
		s.mu.Unlock()
		r.send(w)
	}
}

// send performs one write. A patch of an Event that is gone (expired, deleted, or its create
// was dropped) becomes a create with the aggregated count.
func (r *EventRecorder) send(w write) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	a := w.agg
	r.mu.Lock()
	create := w.create || !a.created
	r.mu.Unlock()
	var err error
	if !create {
		patch, _ := json.Marshal(map[string]any{"count": w.count, "lastTimestamp": meta.NewTime(w.last)})
		_, err = r.events.Patch(ctx, a.namespace, a.name, client.MergePatchType, patch)
		if client.IsNotFound(err) {
			create = true
		}
	}
	if create {
		ev := a.event
		ev.ObjectMeta = meta.ObjectMeta{Name: a.name, Namespace: a.namespace}
		ev.FirstTimestamp, ev.LastTimestamp, ev.Count = meta.NewTime(a.first), meta.NewTime(w.last), w.count
		_, err = r.events.Create(ctx, &ev)
		if client.IsAlreadyExists(err) {
			// Created by an earlier attempt whose answer was lost: bring its count up instead.
			patch, _ := json.Marshal(map[string]any{"count": w.count, "lastTimestamp": meta.NewTime(w.last)})
			_, err = r.events.Patch(ctx, a.namespace, a.name, client.MergePatchType, patch)
		}
	}
	if err != nil {
		r.failed.Add(1)
		r.log.Debug("writing event failed", "event", a.namespace+"/"+a.name, "reason", a.event.Reason, "err", err)
		return
	}
	r.mu.Lock()
	a.created = true
	r.mu.Unlock()
	r.written.Add(1)
}

// lru is a small least-recently-used map of aggregates.
type lru struct {
	max   int
	items map[string]*lruEntry
	head  *lruEntry // most recent
	tail  *lruEntry
}

type lruEntry struct {
	key        string
	val        *aggregate
	prev, next *lruEntry
}

func newLRU(max int) *lru { return &lru{max: max, items: map[string]*lruEntry{}} }

func (l *lru) get(key string) (*aggregate, bool) {
	e, ok := l.items[key]
	if !ok {
		return nil, false
	}
	l.moveToFront(e)
	return e.val, true
}

func (l *lru) add(key string, val *aggregate) {
	if e, ok := l.items[key]; ok {
		e.val = val
		l.moveToFront(e)
		return
	}
	e := &lruEntry{key: key, val: val}
	l.items[key] = e
	l.pushFront(e)
	if len(l.items) > l.max {
		old := l.tail
		l.unlink(old)
		delete(l.items, old.key)
	}
}

func (l *lru) pushFront(e *lruEntry) {
	e.prev, e.next = nil, l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
}

func (l *lru) unlink(e *lruEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (l *lru) moveToFront(e *lruEntry) {
	if l.head == e {
		return
	}
	l.unlink(e)
	l.pushFront(e)
}
