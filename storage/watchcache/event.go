package watchcache

import (
	"encoding/json"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

// Event is what a Watcher receives. Object (and PrevObject) are shared with the cache and
// every other watcher: never mutate them. The exception is a Bookmark's Object, which is
// the watcher's own (an empty object carrying only the resourceVersion), so the caller may
// set its kind and apiVersion before encoding it.
type Event struct {
	storage.Event
	// InitialEventsEnd marks the Bookmark sent after the initial state when
	// WatchOptions.InitialEventsEnd asked for it (Kubernetes' sendInitialEvents, which
	// annotates it with "k8s.io/initial-events-end").
	InitialEventsEnd bool

	entry *entry
}

// ObjectJSON returns the JSON of Object, encoded once however many watchers send it: this
// is what makes fan-out cheap. Callers must not modify the returned bytes. It is nil only if
// the object cannot be encoded (no well-formed API object fails); the caller should then
// encode Object itself to report the error.
func (e Event) ObjectJSON() []byte {
	if e.entry == nil {
		return nil
	}
	return e.entry.json()
}

// Encoding is a way to encode objects other than JSON (the API server's protobuf responses)
// that the cache memoizes per object version as it does JSON. Use one *Encoding value per
// way of encoding: the memo is keyed by the pointer.
type Encoding struct {
	Encode func(meta.Object) ([]byte, error)
}

// ObjectEncoded returns Object encoded by enc, encoded once however many watchers send it,
// like ObjectJSON. It is nil if there is nothing to share (an event that did not come from
// the cache) or if enc fails; the caller then encodes Object itself.
func (e Event) ObjectEncoded(enc *Encoding) []byte {
	if e.entry == nil {
		return nil
	}
	return e.entry.encoded(enc)
}

// entry is one object version as the cache holds it, with its lazily computed JSON (and
// other encodings, which few entries ever need).
type entry struct {
	obj  meta.Object
	rv   int64
	once sync.Once
	data []byte

	mu    sync.Mutex
	other []encoded
}

type encoded struct {
	enc  *Encoding
	data []byte
}

func (e *entry) encoded(enc *Encoding) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range e.other {
		if o.enc == enc {
			return o.data
		}
	}
	data, err := enc.Encode(e.obj)
	if err != nil {
		return nil
	}
	e.other = append(e.other, encoded{enc, data})
	return data
}

func (e *entry) json() []byte {
	e.once.Do(func() {
		data, err := json.Marshal(e.obj)
		if err == nil {
			e.data = data
		}
	})
	return e.data
}

// eventData is one change as the cache dispatches it to every watcher.
type eventData struct {
	storage.Event
	cur *entry // the Object

	// deleted is PrevObject at this event's revision, sent as Deleted to watchers whose
	// filter the object just stopped matching; built at most once, on first need.
	deletedOnce sync.Once
	deleted     *entry
}

// forFilter converts the event for a watcher with filter f, as Kubernetes does: an object
// that starts matching is Added, one that stops matching is Deleted (in its last matching
// state, at this revision). ok is false if the watcher does not see the event.
func (d *eventData) forFilter(f Filter) (ev Event, ok bool) {
	if f == nil {
		return Event{Event: d.Event, entry: d.cur}, true
	}
	switch d.Type {
	case meta.Added, meta.Deleted:
		if !f(d.Object) {
			return Event{}, false
		}
		return Event{Event: d.Event, entry: d.cur}, true
	}
	now := f(d.Object)
	before := d.PrevObject != nil && f(d.PrevObject)
	switch {
	case now && before:
		return Event{Event: d.Event, entry: d.cur}, true
	case now:
		added := d.Event
		added.Type, added.PrevObject = meta.Added, nil
		return Event{Event: added, entry: d.cur}, true
	case before:
		gone := d.deletedEntry()
		return Event{Event: storage.Event{Type: meta.Deleted, Object: gone.obj, PrevObject: d.PrevObject, ResourceVersion: d.ResourceVersion}, entry: gone}, true
	}
	return Event{}, false
}

func (d *eventData) deletedEntry() *entry {
	d.deletedOnce.Do(func() {
		d.deleted = &entry{obj: storage.WithResourceVersion(d.PrevObject, d.ResourceVersion), rv: d.ResourceVersion}
	})
	return d.deleted
}
