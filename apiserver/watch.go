package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/skiff-sh/skiff/api/protobuf"
	"github.com/skiff-sh/skiff/api/registry"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// watch streams changes as watch events, flushed one by one: newline-delimited JSON, or
// Kubernetes' length-delimited protobuf stream when the client asks for it (negotiation.go).
// resourceVersion "" or "0" first sends the current state as ADDED events; a version older
// than the watch cache's history gets an ERROR event with a 410 Expired Status.
func (s *Server) watch(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	q := req.URL.Query()
	f, nerr := responseFormat(w, true)
	if nerr != nil {
		writeError(w, nerr)
		return
	}
	enc := watchEncoder{enc: f.enc}
	sel, aerr := s.parseSelection(k, r.namespace, q)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if r.name != "" {
		// A watch on one object is a watch on the collection narrowed to its name.
		sel.field = andName(sel.field, r.name)
	}
	ctx := req.Context()
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("invalid timeoutSeconds: "+v))
			return
		}
		if n > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(n)*time.Second)
			defer cancel()
		}
	}
	var fromRV int64
	rvParam := q.Get("resourceVersion")
	initial := rvParam == "" || rvParam == "0"
	if !initial {
		n, aerr := parseResourceVersion(k, rvParam)
		if aerr != nil {
			writeError(w, aerr)
			return
		}
		fromRV = n
	}
	if aerr := validateWatchList(q); aerr != nil {
		writeError(w, aerr)
		return
	}
	// Watch-list (sendInitialEvents=true): the current state as ADDED events, then a bookmark
	// annotated k8s.io/initial-events-end. Without a resourceVersion the state must be as
	// fresh as a consistent list, so the cache first catches up with etcd.
	sendInitialEvents := isTrue(q.Get("sendInitialEvents"))
	opts := watchcache.WatchOptions{
		Bookmarks:        isTrue(q.Get("allowWatchBookmarks")),
		SendInitialState: sendInitialEvents || (initial && !q.Has("sendInitialEvents")),
		InitialEventsEnd: sendInitialEvents,
	}
	c := s.cache(k)
	if sendInitialEvents && rvParam == "" {
		rev, err := s.store.CurrentRevision(ctx)
		if err == nil {
			err = c.WaitUntilFresh(ctx, rev)
		}
		if err != nil {
			writeError(w, toAPIError(k, "", err))
			return
		}
	}
	stored, conv := sel.splitConverted(k) // selection_converted.go
	match := func(o meta.Object) bool { return stored.matches(k, o) }
	var src watchSource
	watcher, err := c.Watch(ctx, fromRV, match, opts)
	if err == nil {
		defer watcher.Stop()
		src = cacheSource{watcher}
	} else if errors.Is(err, storage.ErrExpired) && !initial {
		// Older than the cache's history (after a restart, say) but perhaps still in etcd's:
		// this watcher reads etcd directly, so it resumes instead of having to relist.
		src, err = s.etcdSource(ctx, k.Prefix(r.namespace), k.NewStored, fromRV, match)
	}

	w.Header().Set("Content-Type", enc.contentType())
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if err != nil {
		st := toAPIError(k, "", err).status
		if errors.Is(err, storage.ErrExpired) {
			st = errGone("too old resource version: " + rvParam + " (" + strconv.FormatInt(c.ResourceVersion(), 10) + ")").status
		}
		w.Write(enc.status(&st))
		return
	}
	s.metrics.watchers.WithLabelValues(k.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(k.Resource).Dec()
	if flusher != nil {
		flusher.Flush()
	}
	table := f.table
	first := true
	unflushed := false // an event was written since the last flush
	for {
		ev, ok := src.next(ctx)
		if !ok {
			if err := src.err(); err != nil && errors.Is(err, storage.ErrExpired) {
				st := errGone(err.Error()).status
				w.Write(enc.status(&st))
			}
			return
		}
		var obj []byte
		var out meta.Object
		if ev.Type != meta.Bookmark {
			typ, ok, aerr := ev.Type, true, (*apiError)(nil)
			if out, typ, ok, aerr = s.convertEvent(ctx, k, ev, conv); aerr != nil {
				// The event cannot be shown in this version (a failing conversion webhook):
				// say so in an ERROR event and end the watch, so the client relists.
				w.Write(enc.status(&aerr.status))
				return
			}
			if !ok {
				// Not in this watcher's selection after all: events written before it
				// must not wait for the next one to be flushed.
				if flusher != nil && unflushed && src.pending() == 0 {
					flusher.Flush()
					unflushed = false
				}
				continue
			}
			ev.Type = typ
		}
		var err error
		switch {
		case ev.Type == meta.Bookmark && enc.enc == encProtobuf:
			obj, err = protobuf.Encode(bookmarkObject(k, ev))
		case ev.Type == meta.Bookmark:
			obj = bookmarkJSON(k, ev)
		case table:
			obj = s.tableJSON(req, k, []meta.Object{out}, meta.ListMeta{ResourceVersion: strconv.FormatInt(ev.ResourceVersion, 10)}, !first)
			first = false
		default:
			obj, err = enc.object(ev, out)
		}
		if err != nil {
			// No well-formed object fails to encode; the client learns of the one that did.
			st := errInternal(err).status
			w.Write(enc.status(&st))
			return
		}
		if _, err := w.Write(enc.event(ev.Type, obj)); err != nil {
			return
		}
		unflushed = true
		if flusher != nil && src.pending() == 0 {
			// Flush when the queue is drained: one write per burst, and no event waits.
			flusher.Flush()
			unflushed = false
		}
	}
}

// validateWatchList checks the watch-list options as Kubernetes' validateWatchOptions does:
// sendInitialEvents needs resourceVersionMatch=NotOlderThan, and resourceVersionMatch is only
// for watch-list.
func validateWatchList(q url.Values) *apiError {
	var errs field.ErrorList
	match := q.Get("resourceVersionMatch")
	if q.Has("sendInitialEvents") && match != "NotOlderThan" {
		errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
	}
	if match != "" {
		if !q.Has("sendInitialEvents") {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
		}
		if match != "NotOlderThan" {
			errs = append(errs, field.NotSupported(field.NewPath("resourceVersionMatch"), match, []string{"NotOlderThan"}))
		}
		if q.Get("continue") != "" {
			errs = append(errs, field.Forbidden(field.NewPath("resourceVersionMatch"), "resourceVersionMatch is forbidden when continue is provided"))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errInvalid(&registry.Kind{Group: "meta.k8s.io", Kind: "ListOptions", Custom: &registry.Custom{}}, "", errs)
}

// bookmarkJSON is the object of a BOOKMARK event: the kind with only a resourceVersion (and
// the initial-events-end annotation when it closes the initial state).
func bookmarkJSON(k *registry.Kind, ev watchcache.Event) []byte {
	m := map[string]any{"resourceVersion": strconv.FormatInt(ev.ResourceVersion, 10)}
	if ev.InitialEventsEnd {
		m["annotations"] = map[string]string{"k8s.io/initial-events-end": "true"}
	}
	b, _ := json.Marshal(map[string]any{"kind": k.Kind, "apiVersion": k.APIVersion(), "metadata": m})
	return b
}

// bookmarkObject is bookmarkJSON's object as a typed object of a built-in kind, for the
// protobuf stream (which has no way to leave out spec and status: they are empty).
func bookmarkObject(k *registry.Kind, ev watchcache.Event) meta.Object {
	obj := k.New()
	m := obj.GetObjectMeta()
	m.ResourceVersion = strconv.FormatInt(ev.ResourceVersion, 10)
	if ev.InitialEventsEnd {
		m.Annotations = map[string]string{"k8s.io/initial-events-end": "true"}
	}
	return obj
}

// watchSource is where a watch's events come from: the watch cache, or etcd itself.
type watchSource interface {
	next(ctx context.Context) (watchcache.Event, bool)
	pending() int
	err() error
}

type cacheSource struct{ w *watchcache.Watcher }

func (c cacheSource) next(ctx context.Context) (watchcache.Event, bool) {
	select {
	case ev, ok := <-c.w.ResultChan():
		return ev, ok
	case <-ctx.Done():
		return watchcache.Event{}, false
	}
}

func (c cacheSource) pending() int { return len(c.w.ResultChan()) }
func (c cacheSource) err() error   { return c.w.Err() }

// etcdSource filters one etcd watch the way the cache filters for its watchers: an object
// that starts matching is ADDED, one that stops matching is DELETED.
type etcdSource struct {
	events <-chan storage.Event
	errs   <-chan error
	match  func(meta.Object) bool
	failed error
}

func (s *Server) etcdSource(ctx context.Context, prefix string, newFunc storage.NewFunc, fromRV int64, match func(meta.Object) bool) (watchSource, error) {
	evc, errc, err := s.store.Watch(ctx, prefix, newFunc, fromRV)
	if err != nil {
		return nil, err
	}
	return &etcdSource{events: evc, errs: errc, match: match}, nil
}

func (e *etcdSource) next(ctx context.Context) (watchcache.Event, bool) {
	for {
		select {
		case <-ctx.Done():
			return watchcache.Event{}, false
		case ev, ok := <-e.events:
			if !ok {
				select {
				case e.failed = <-e.errs:
				default:
				}
				return watchcache.Event{}, false
			}
			if ev.Type == meta.Bookmark {
				continue
			}
			now := ev.Object != nil && e.match(ev.Object)
			before := ev.PrevObject != nil && e.match(ev.PrevObject)
			switch {
			case ev.Type == meta.Deleted:
				if !before {
					continue
				}
			case now && !before:
				ev.Type = meta.Added
			case !now && before:
				ev.Type = meta.Deleted
			case !now:
				continue
			}
			return watchcache.Event{Event: ev}, true
		}
	}
}

func (e *etcdSource) pending() int { return len(e.events) }
func (e *etcdSource) err() error   { return e.failed }

func watchLine(typ string, obj []byte) []byte {
	b := make([]byte, 0, len(obj)+32)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","object":`...)
	b = append(b, obj...)
	b = append(b, "}\n"...)
	return b
}
