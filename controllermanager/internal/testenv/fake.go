package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Fake is a recording stand-in for the API server, for testing a controller's sync
// synchronously, as Kubernetes' controller tests and sample-controller do: fill the
// controller's informer caches by hand (Indexer().Add), call its sync with a key, and
// assert the exact writes it made. Nothing runs in the background, so such a test takes
// milliseconds and cannot flake.
//
// The fake answers every write with success: a create echoes the object with a name (for
// generateName), a uid and a resourceVersion; an update or patch echoes its body; a delete
// answers a Success Status. A GET answers an object seeded with Seed, else 404 NotFound.
type Fake struct {
	CC     *controller.Context
	Events *Recorder

	mu     sync.Mutex
	writes []Write
	seeded map[string][]byte
	n      int
}

// Write is one request the controller made that was not a GET.
type Write struct {
	Verb, Path string
	Body       []byte
}

// String is "VERB /path".
func (w Write) String() string { return w.Verb + " " + w.Path }

// NewFake starts a fake API server and a controller Context over it. The informers are
// never started: the test fills their caches.
func NewFake(t testing.TB) *Fake {
	t.Helper()
	f := &Fake{Events: &Recorder{}, seeded: map[string][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	c, err := client.New(&client.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	f.CC = &controller.Context{
		Client:    c,
		Informers: informer.NewFactory(c, "", 0),
		Recorder:  func(string) controller.EventRecorder { return f.Events },
		Metrics:   controller.NewMetrics(nil),
		Log:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Workers:   1,
	}
	return f
}

// Seed makes GET path answer obj (a controller re-reading an owner before adoption).
func (f *Fake) Seed(t testing.TB, path string, obj any) {
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seeded[path] = b
}

// Writes returns the writes so far, in the order they arrived.
func (f *Fake) Writes() []Write {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

// WriteStrings returns the writes as "VERB /path", sorted (writes a controller makes in
// parallel, such as a batch of pod creates, arrive in any order).
func (f *Fake) WriteStrings() []string {
	var out []string
	for _, w := range f.Writes() {
		out = append(out, w.String())
	}
	slices.Sort(out)
	return out
}

// Reset forgets the writes so far.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = nil
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodGet {
		if b, ok := f.seeded[r.URL.Path]; ok {
			_, _ = w.Write(b)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404,"message":"%s not found"}`, r.URL.Path)
		return
	}
	f.writes = append(f.writes, Write{Verb: r.Method, Path: r.URL.Path, Body: body})
	f.n++
	switch r.Method {
	case http.MethodPost:
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		m, _ := obj["metadata"].(map[string]any)
		if m == nil {
			m = map[string]any{}
			obj["metadata"] = m
		}
		if name, _ := m["name"].(string); name == "" {
			m["name"] = fmt.Sprintf("%s%05d", m["generateName"], f.n)
		}
		m["uid"] = fmt.Sprintf("uid-%d", f.n)
		m["resourceVersion"] = fmt.Sprint(f.n)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(obj)
	case http.MethodDelete:
		_, _ = io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Success"}`)
	default:
		if len(strings.TrimSpace(string(body))) == 0 {
			body = []byte("{}")
		}
		_, _ = w.Write(body)
	}
}
