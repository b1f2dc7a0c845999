package record

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// fakeAPI records event writes and answers them; gate (when set) holds every answer until closed.
type fakeAPI struct {
	mu       sync.Mutex
	requests []string // "POST ns/name count=N" or "PATCH ns/name count=N"
	bodies   []map[string]any
	missing  map[string]bool // event names a PATCH answers 404 for
	gate     chan struct{}
	arrived  chan struct{} // signalled (if set) when a request reaches the gate
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.arrived != nil {
		f.arrived <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/"), "/") // ns, events[, name]
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPost:
		md := m["metadata"].(map[string]any)
		f.requests = append(f.requests, fmt.Sprintf("POST %s/%s count=%v", parts[0], md["name"], m["count"]))
		f.bodies = append(f.bodies, m)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	case http.MethodPatch:
		name := parts[2]
		f.requests = append(f.requests, fmt.Sprintf("PATCH %s/%s count=%v", parts[0], name, m["count"]))
		f.bodies = append(f.bodies, m)
		if f.missing[name] {
			delete(f.missing, name)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"events %q not found"}`, name)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"kind":"Event","apiVersion":"v1","metadata":{"name":"` + name + `"}}`))
	}
}

func (f *fakeAPI) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func newTestRecorder(t *testing.T, f *fakeAPI) *EventRecorder {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := client.New(&client.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRecorder(c, "default-scheduler", "host-1").(*EventRecorder)
	return r
}

// settle waits until nothing is queued or in flight.
func settle(t *testing.T, r *EventRecorder) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("recorder still has %d writes pending after 10s", r.Pending())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testPod() *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "shop", UID: "u-1", ResourceVersion: "42"}}
}

var eventName = regexp.MustCompile(`^web\.[0-9a-f]+$`)

func TestFirstEventIsCreated(t *testing.T) {
	f := &fakeAPI{}
	r := newTestRecorder(t, f)
	r.Event(testPod(), core.EventTypeNormal, "Scheduled", "Successfully assigned shop/web to node-1")
	settle(t, r)
	if got := f.got(); len(got) != 1 || !strings.HasPrefix(got[0], "POST shop/web.") || !strings.HasSuffix(got[0], "count=1") {
		t.Fatalf("requests %q, want one POST of count 1", got)
	}
	ev := f.bodies[0]
	md := ev["metadata"].(map[string]any)
	if !eventName.MatchString(md["name"].(string)) || md["namespace"] != "shop" {
		t.Errorf("metadata %v: want name web.<hex nanos> in namespace shop", md)
	}
	want := map[string]any{
		"involvedObject":     map[string]any{"kind": "Pod", "apiVersion": "v1", "namespace": "shop", "name": "web", "uid": "u-1", "resourceVersion": "42"},
		"source":             map[string]any{"component": "default-scheduler", "host": "host-1"},
		"reportingComponent": "default-scheduler",
		"reportingInstance":  "host-1",
		"reason":             "Scheduled",
		"message":            "Successfully assigned shop/web to node-1",
		"type":               "Normal",
		"count":              float64(1),
	}
	for k, v := range want {
		if g, w := fmt.Sprint(ev[k]), fmt.Sprint(v); g != w {
			t.Errorf("%s = %s, want %s", k, g, w)
		}
	}
	if ev["firstTimestamp"] == nil || ev["firstTimestamp"] != ev["lastTimestamp"] {
		t.Errorf("first/last timestamps %v / %v", ev["firstTimestamp"], ev["lastTimestamp"])
	}
}

func TestRecorder(t *testing.T) {
	node := &core.Node{ObjectMeta: meta.ObjectMeta{Name: "node-1", UID: "n-1"}}
	tests := []struct {
		name  string
		run   func(t *testing.T, r *EventRecorder, f *fakeAPI)
		want  []string // requests, with event names replaced by "<name>"
		stats [3]uint64
	}{
		{
			name: "repeats PATCH the count",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				for i := 0; i < 3; i++ {
					r.Event(testPod(), core.EventTypeWarning, "FailedScheduling", "0/1 nodes are available")
					settle(t, r)
				}
			},
			want:  []string{"POST shop/<name> count=1", "PATCH shop/<name> count=2", "PATCH shop/<name> count=3"},
			stats: [3]uint64{3, 0, 0},
		},
		{
			name: "a different message is a different event",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				r.Event(testPod(), core.EventTypeWarning, "FailedScheduling", "a")
				settle(t, r)
				r.Event(testPod(), core.EventTypeWarning, "FailedScheduling", "b")
			},
			want:  []string{"POST shop/<name> count=1", "POST shop/<name> count=1"},
			stats: [3]uint64{2, 0, 0},
		},
		{
			name: "cluster-scoped objects' events go to default",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				r.Eventf(node, core.EventTypeWarning, "MalformedNode", "skipped: %s", "bad taint")
			},
			want:  []string{"POST default/<name> count=1"},
			stats: [3]uint64{1, 0, 0},
		},
		{
			name: "a patch of an event that is gone re-creates it",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				r.Event(testPod(), core.EventTypeWarning, "BackOff", "again")
				settle(t, r)
				f.mu.Lock()
				name := f.bodies[0]["metadata"].(map[string]any)["name"].(string)
				f.missing = map[string]bool{name: true}
				f.mu.Unlock()
				r.Event(testPod(), core.EventTypeWarning, "BackOff", "again")
			},
			want:  []string{"POST shop/<name> count=1", "PATCH shop/<name> count=2", "POST shop/<name> count=2"},
			stats: [3]uint64{2, 0, 0},
		},
		{
			name: "repeats still queued are merged before sending",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				f.gate, f.arrived = make(chan struct{}), make(chan struct{}, 10)
				r.Event(testPod(), core.EventTypeNormal, "Pulled", "same")
				select { // the create is in flight, held at the gate
				case <-f.arrived:
				case <-time.After(10 * time.Second):
					t.Fatal("the first write never reached the API")
				}
				for i := 0; i < 4; i++ {
					r.Event(testPod(), core.EventTypeNormal, "Pulled", "same") // merged into one queued write
				}
				close(f.gate)
			},
			want:  []string{"POST shop/<name> count=1", "PATCH shop/<name> count=5"},
			stats: [3]uint64{2, 0, 0},
		},
		{
			name: "objects of unknown kinds are not recorded",
			run: func(t *testing.T, r *EventRecorder, f *fakeAPI) {
				r.Event(&meta.PartialObjectMetadata{ObjectMeta: meta.ObjectMeta{Name: "x"}}, core.EventTypeNormal, "R", "m")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{}
			r := newTestRecorder(t, f)
			tc.run(t, r, f)
			settle(t, r)
			var got []string
			for _, g := range f.got() {
				got = append(got, regexp.MustCompile(`/web\.[0-9a-f]+|/node-1\.[0-9a-f]+`).ReplaceAllString(g, "/<name>"))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if w, fl, d := r.Stats(); [3]uint64{w, fl, d} != tc.stats {
				t.Fatalf("stats written/failed/dropped = %d/%d/%d, want %v", w, fl, d, tc.stats)
			}
		})
	}
}

// TestFullQueueDropsWithoutBlocking: with the API stuck, recording still returns at once; what
// does not fit in the queue is dropped and counted.
func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	gate := make(chan struct{})
	f := &fakeAPI{gate: gate}
	r := newTestRecorder(t, f)
	const n = queueSize + 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			r.Event(testPod(), core.EventTypeNormal, "Many", fmt.Sprintf("event %d", i))
		}
	}()
	<-done // returns although no write can complete
	close(gate)
	settle(t, r)
	written, failed, dropped := r.Stats()
	if dropped == 0 || written+failed+dropped != n {
		t.Fatalf("written %d, failed %d, dropped %d of %d", written, failed, dropped, n)
	}
}
