package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
)

// Event is one watch event. Type is meta.Added, Modified, Deleted, Bookmark or Error.
// Object is set for every type but Error (a Bookmark's Object carries only a
// resourceVersion); Status is set for Error (Code 410 / Reason Expired or Gone: relist).
type Event[PT any] struct {
	Type   string
	Object PT
	Status *meta.Status
}

// Watcher is an open watch, as client-go's watch.Interface.
type Watcher[PT any] interface {
	// ResultChan delivers events in order; it is closed when the watch ends.
	ResultChan() <-chan Event[PT]
	// Stop ends the watch and releases its connection; safe to call more than once.
	Stop()
}

type streamWatcher[PT any] struct {
	result chan Event[PT]
	cancel context.CancelFunc
}

func (w *streamWatcher[PT]) ResultChan() <-chan Event[PT] { return w.result }
func (w *streamWatcher[PT]) Stop()                        { w.cancel() }

// openWatch opens a watch stream (r must carry watch=true) and decodes its objects with
// newObj. (A function, not a method: methods cannot have type parameters.)
func openWatch[PT any](ctx context.Context, c *Client, r request, newObj func() PT) (Watcher[PT], error) {
	ctx, cancel := context.WithCancel(ctx)
	resp, err := c.send(ctx, r)
	if err != nil {
		cancel()
		return nil, err
	}
	w := &streamWatcher[PT]{result: make(chan Event[PT]), cancel: cancel}
	go receive(ctx, w.result, resp.Body, newObj)
	return w, nil
}

// receive decodes the newline-delimited JSON events of body until it ends or ctx ends.
func receive[PT any](ctx context.Context, out chan<- Event[PT], body io.ReadCloser, newObj func() PT) {
	defer close(out)
	defer body.Close()
	send := func(e Event[PT]) bool {
		select {
		case out <- e:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// A garbled stream is reported as an ERROR event (the caller relists); a stream that
	// just ends (EOF, connection lost, Stop) closes the channel and the caller re-watches.
	decodeFailed := func(err error) {
		send(Event[PT]{Type: meta.Error, Status: &meta.Status{
			TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status:   meta.StatusFailure,
			Code:     http.StatusInternalServerError,
			Reason:   meta.ReasonInternalError,
			Message:  fmt.Sprintf("unable to decode an event from the watch stream: %v", err),
		}})
	}
	dec := json.NewDecoder(body)
	for {
		var ev meta.WatchEvent
		if err := dec.Decode(&ev); err != nil {
			var syn *json.SyntaxError
			var typ *json.UnmarshalTypeError
			if ctx.Err() == nil && (errors.As(err, &syn) || errors.As(err, &typ)) {
				decodeFailed(err)
			}
			return
		}
		if ev.Type == meta.Error {
			st := &meta.Status{}
			if err := json.Unmarshal(ev.Object, st); err != nil {
				decodeFailed(err)
				return
			}
			if !send(Event[PT]{Type: meta.Error, Status: st}) {
				return
			}
			continue
		}
		obj := newObj()
		if err := json.Unmarshal(ev.Object, obj); err != nil {
			decodeFailed(err)
			return
		}
		if !send(Event[PT]{Type: ev.Type, Object: obj}) {
			return
		}
	}
}
