package client

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
)

func collect[PT any](t *testing.T, w Watcher[PT]) []Event[PT] {
	t.Helper()
	var evs []Event[PT]
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-w.ResultChan():
			if !ok {
				return evs
			}
			evs = append(evs, e)
		case <-timeout:
			t.Fatal("watch did not end")
		}
	}
}

func TestWatch(t *testing.T) {
	var query string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		io.WriteString(w, `{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"},"spec":"x"}}
{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"3"},"spec":"y"}}
{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"4"}}}
{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"5"},"spec":"y"}}
{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired","code":410,"message":"too old"}}
`)
	})
	wc := For[widget](newTestClient(t, h), widgets)
	w, err := wc.Watch(context.Background(), "n", ListOptions{ResourceVersion: "1", AllowWatchBookmarks: true, TimeoutSeconds: 60})
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, w)
	if query != "allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=60&watch=true" {
		t.Errorf("query %q", query)
	}
	want := []struct{ typ, rv, spec string }{
		{meta.Added, "2", "x"}, {meta.Modified, "3", "y"}, {meta.Bookmark, "4", ""}, {meta.Deleted, "5", "y"}, {meta.Error, "", ""},
	}
	if len(evs) != len(want) {
		t.Fatalf("got %d events, want %d: %+v", len(evs), len(want), evs)
	}
	for i, w := range want {
		e := evs[i]
		if e.Type != w.typ {
			t.Errorf("event %d type %s, want %s", i, e.Type, w.typ)
			continue
		}
		if e.Type == meta.Error {
			if e.Status == nil || e.Status.Code != 410 || e.Status.Reason != meta.ReasonExpired || e.Object != nil {
				t.Errorf("error event %+v", e)
			}
			continue
		}
		if e.Object.ResourceVersion != w.rv || e.Object.Spec != w.spec {
			t.Errorf("event %d object %+v", i, e.Object)
		}
	}
}

func TestWatchGarbled(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"type":"ADDED","object":{"metadata":{"name":"a"}}}
{"type":"ADDED","object":{"metadata":{"name":7}}}
`)
	})
	w, err := For[widget](newTestClient(t, h), widgets).Watch(context.Background(), "", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, w)
	if len(evs) != 2 || evs[0].Type != meta.Added || evs[1].Type != meta.Error || evs[1].Status.Code != 500 {
		t.Fatalf("events %+v", evs)
	}
}

func TestWatchStop(t *testing.T) {
	served := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"type":"ADDED","object":{"metadata":{"name":"a"}}}`+"\n")
		w.(http.Flusher).Flush()
		close(served)
		<-r.Context().Done() // hold the stream open until the client goes away
	})
	w, err := For[widget](newTestClient(t, h), widgets).Watch(context.Background(), "", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	<-served
	w.Stop()
	w.Stop()      // idempotent
	collect(t, w) // the channel closes (the unread event may or may not be delivered)
}

func TestWatchErrorAnswer(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusGone)
		io.WriteString(w, `{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}`)
	})
	_, err := For[widget](newTestClient(t, h), widgets).Watch(context.Background(), "", ListOptions{ResourceVersion: "1"})
	if !IsExpired(err) {
		t.Fatalf("err = %v, want Expired", err)
	}
}
