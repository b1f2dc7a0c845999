package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// watch streams changes as newline-delimited JSON watch events, flushed one by one.
// resourceVersion "" or "0" first sends the current state as ADDED events; a version older
// than the watch cache's history gets an ERROR event with a 410 Expired Status.
func (s *Server) watch(w http.ResponseWriter, req *http.Request, r *request) {
	k := r.kind
	q := req.URL.Query()
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
		n, err := strconv.ParseInt(rvParam, 10, 64)
		if err != nil {
			writeError(w, errBadRequest("invalid resourceVersion: "+rvParam))
			return
		}
		fromRV = n
	}
	sendInitialEvents := isTrue(q.Get("sendInitialEvents"))
	opts := watchcache.WatchOptions{
		Bookmarks:        isTrue(q.Get("allowWatchBookmarks")),
		SendInitialState: initial || sendInitialEvents,
		InitialEventsEnd: sendInitialEvents,
	}
	c := s.caches[k]
	watcher, err := c.Watch(ctx, fromRV, func(o meta.Object) bool { return sel.matches(k, o) }, opts)

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if err != nil {
		st := toAPIError(k, "", err).status
		if errors.Is(err, storage.ErrExpired) {
			st = errGone("too old resource version: " + rvParam + " (" + strconv.FormatInt(c.ResourceVersion(), 10) + ")").status
		}
		b, _ := json.Marshal(&st)
		w.Write(watchLine(meta.Error, b))
		return
	}
	defer watcher.Stop()
	s.metrics.watchers.WithLabelValues(k.Resource).Inc()
	defer s.metrics.watchers.WithLabelValues(k.Resource).Dec()
	if flusher != nil {
		flusher.Flush()
	}
	table := wantsTable(req)
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-watcher.ResultChan():
			if !ok {
				return
			}
			var obj []byte
			switch {
			case ev.Type == meta.Bookmark:
				obj = ev.ObjectJSON()
			case table:
				obj = s.tableJSON(req, k, []meta.Object{ev.Object}, meta.ListMeta{ResourceVersion: strconv.FormatInt(ev.ResourceVersion, 10)}, !first)
				first = false
			default:
				obj = ev.ObjectJSON()
			}
			if _, err := w.Write(watchLine(ev.Type, obj)); err != nil {
				return
			}
			if flusher != nil && len(watcher.ResultChan()) == 0 {
				// Flush when the queue is drained: one write per burst, not per event.
				flusher.Flush()
			}
		}
	}
}

func watchLine(typ string, obj []byte) []byte {
	b := make([]byte, 0, len(obj)+32)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","object":`...)
	b = append(b, obj...)
	b = append(b, "}\n"...)
	return b
}
