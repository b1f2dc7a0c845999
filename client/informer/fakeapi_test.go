package informer

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// widget is a stand-in kind.
type widget struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata"`
	Spec            string `json:"spec,omitempty"`
}

var widgets = client.Resource{Group: "example.com", Version: "v1", Resource: "widgets", Namespaced: true}

type histEvent struct {
	typ string
	obj widget
	rv  int64
}

// fakeAPI is a tiny API server for one resource: a store with a revision counter, a
// history that watches replay from any revision not compacted away, and knobs to drop
// watches and fail lists.
type fakeAPI struct {
	mu        sync.Mutex
	rv        int64
	objs      map[string]widget
	history   []histEvent
	compacted int64         // watches and continues from below this revision get 410
	changed   chan struct{} // closed (and replaced) on every change
	drop      chan struct{} // closed (and replaced) to end every open watch

	failLists       int  // the next N lists answer 500
	failWatches     int  // the next N watches answer 500
	expireContinues bool // every list with a continue token answers 410
	goneAsHTTPError bool // answer a too-old watch with HTTP 410 instead of an ERROR event
	lists           []string
	watches         []string // resourceVersion of each watch request
}

func newFakeAPI(t *testing.T) (*fakeAPI, *client.Typed[widget, *widget]) {
	f := &fakeAPI{objs: map[string]widget{}, changed: make(chan struct{}), drop: make(chan struct{}), rv: 1}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		f.dropWatches()
		srv.Close()
	})
	c, err := client.New(&client.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return f, client.For[widget](c, widgets)
}

// put creates or updates ns/name; callers hold f.mu (use f.do).
func (f *fakeAPI) put(ns, name, spec string) {
	f.rv++
	key := ns + "/" + name
	typ := meta.Modified
	if _, ok := f.objs[key]; !ok {
		typ = meta.Added
	}
	w := widget{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: strconv.FormatInt(f.rv, 10)}, Spec: spec}
	f.objs[key] = w
	f.history = append(f.history, histEvent{typ, w, f.rv})
	f.notify()
}

func (f *fakeAPI) del(ns, name string) {
	key := ns + "/" + name
	w, ok := f.objs[key]
	if !ok {
		return
	}
	f.rv++
	delete(f.objs, key)
	w.ResourceVersion = strconv.FormatInt(f.rv, 10)
	f.history = append(f.history, histEvent{meta.Deleted, w, f.rv})
	f.notify()
}

// compact forgets the history: every older revision is now gone.
func (f *fakeAPI) compact() { f.compacted = f.rv }

func (f *fakeAPI) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// do runs fn under the lock: changes made together are seen together.
func (f *fakeAPI) do(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *fakeAPI) dropWatches() {
	f.do(func() { f.dropLocked() })
}

func (f *fakeAPI) dropLocked() {
	close(f.drop)
	f.drop = make(chan struct{})
}

func (f *fakeAPI) counts() (lists, watches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.lists), len(f.watches)
}

func (f *fakeAPI) watchRVs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.watches...)
}

func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: meta.StatusFailure, Code: int32(code), Reason: reason, Message: msg})
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("watch") == "true" {
		f.serveWatch(w, r)
		return
	}
	f.serveList(w, r)
}

func (f *fakeAPI) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.lists = append(f.lists, r.URL.RawQuery)
	if f.failLists > 0 {
		f.failLists--
		f.mu.Unlock()
		writeStatus(w, 500, meta.ReasonInternalError, "injected failure")
		return
	}
	keys := make([]string, 0, len(f.objs))
	for k := range f.objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	listRV := f.rv
	offset := 0
	if c := q.Get("continue"); c != "" {
		// Our continue token is "offset:revision". (A real server keeps reading at that
		// revision; this fake reads the present, which is enough for these tests.)
		off, rev, _ := strings.Cut(c, ":")
		offset, _ = strconv.Atoi(off)
		listRV, _ = strconv.ParseInt(rev, 10, 64)
		if listRV < f.compacted || f.expireContinues {
			f.mu.Unlock()
			writeStatus(w, 410, meta.ReasonExpired, "continue token expired")
			return
		}
	}
	list := meta.List[widget]{TypeMeta: meta.TypeMeta{Kind: "WidgetList", APIVersion: "example.com/v1"}, Items: []widget{}}
	list.ResourceVersion = strconv.FormatInt(listRV, 10)
	limit, _ := strconv.Atoi(q.Get("limit"))
	end := len(keys)
	if limit > 0 && offset+limit < len(keys) {
		end = offset + limit
		list.Continue = fmt.Sprintf("%d:%d", end, listRV)
	}
	for _, k := range keys[min(offset, len(keys)):end] {
		list.Items = append(list.Items, f.objs[k])
	}
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

func (f *fakeAPI) serveWatch(w http.ResponseWriter, r *http.Request) {
	rvParam := r.URL.Query().Get("resourceVersion")
	from, _ := strconv.ParseInt(rvParam, 10, 64)
	f.mu.Lock()
	f.watches = append(f.watches, rvParam)
	drop := f.drop
	if f.failWatches > 0 {
		f.failWatches--
		f.mu.Unlock()
		writeStatus(w, 500, meta.ReasonInternalError, "injected failure")
		return
	}
	if from < f.compacted {
		gone := f.goneAsHTTPError
		f.mu.Unlock()
		if gone {
			writeStatus(w, 410, meta.ReasonGone, "too old resource version")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		st, _ := json.Marshal(meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: meta.StatusFailure, Code: 410, Reason: meta.ReasonExpired, Message: "too old resource version"})
		fmt.Fprintf(w, `{"type":"ERROR","object":%s}`+"\n", st)
		return
	}
	pos := sort.Search(len(f.history), func(i int) bool { return f.history[i].rv > from })
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	enc := json.NewEncoder(w)
	for {
		f.mu.Lock()
		select {
		case <-drop: // checked under the lock: changes made with a drop are never sent
			f.mu.Unlock()
			return
		default:
		}
		evs := f.history[pos:]
		pos = len(f.history)
		changed := f.changed
		f.mu.Unlock()
		for _, e := range evs {
			obj, _ := json.Marshal(e.obj)
			enc.Encode(meta.WatchEvent{Type: e.typ, Object: obj})
		}
		w.(http.Flusher).Flush()
		select {
		case <-changed:
		case <-drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}
