// Package testenv runs controllers against an in-process API server for integration tests,
// records the API writes they make, collects their Events, and plays the parts of the
// missing components (the node agent writing pod status, heartbeating Leases).
package testenv

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/test/harness"
)

// Env is an API server plus what controllers need to run against it.
type Env struct {
	Server  *harness.Server
	URL     string // the recording front of the server; clients should use it
	Client  *client.Client
	CC      *controller.Context
	Events  *Recorder
	Actions *Actions
	Ctx     context.Context
}

// Runner is a controller.
type Runner interface{ Run(ctx context.Context) }

// New starts an API server for the test and a controller Context over it. Each of wraps
// (optional) is put in front of the API server, to inject faults.
func New(t testing.TB, wraps ...func(http.Handler) http.Handler) *Env {
	t.Helper()
	s := harness.StartServer(t, harness.ServerOptions{})
	actions := &Actions{}
	h := s.API.Handler()
	for _, w := range wraps {
		h = w(h)
	}
	// The front serves TLS and asks for client certificates, so the API server behind it
	// authenticates the controllers as the administrator whose certificate they present.
	front := httptest.NewUnstartedServer(actions.wrap(h))
	front.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	front.StartTLS()
	t.Cleanup(func() {
		front.CloseClientConnections()
		front.Close()
	})
	cfg := s.ClientConfig()
	cfg.Host = front.URL
	cfg.TLS.CAData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})
	cfg.TLS.ServerName = ""
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	rec := &Recorder{}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return &Env{
		Server: s, URL: front.URL, Client: c, Events: rec, Actions: actions, Ctx: ctx,
		CC: &controller.Context{
			Client:    c,
			Informers: informer.NewFactory(c, "", 0),
			Recorder:  func(string) controller.EventRecorder { return rec },
			Metrics:   controller.NewMetrics(nil),
			Log:       log,
			Workers:   2,
		},
	}
}

// Start starts the shared informers and runs the controllers until the test ends.
func (e *Env) Start(t testing.TB, runners ...Runner) {
	t.Helper()
	// The controllers stop before the server goes away (cleanups run last-registered first).
	ctx, cancel := context.WithCancel(e.Ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	e.CC.Informers.Start(ctx)
	for _, r := range runners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Run(ctx)
		}()
	}
	if !e.CC.Informers.WaitForCacheSync(ctx) {
		t.Fatal("informers did not sync")
	}
}

// Actions records the writes (everything but GET) that reached the API server.
type Actions struct {
	mu  sync.Mutex
	log []string
}

// wrap records each write as "VERB /path" (query left out).
func (a *Actions) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			a.mu.Lock()
			a.log = append(a.log, r.Method+" "+r.URL.Path)
			a.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// List returns the recorded writes whose "VERB /path" contains every one of parts.
func (a *Actions) List(parts ...string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, l := range a.log {
		ok := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// Reset forgets what was recorded.
func (a *Actions) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.log = nil
}

// Event is one recorded Event.
type Event struct {
	Object       string // kind/namespace/name
	Type, Reason string
	Message      string
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s %s: %s", e.Object, e.Type, e.Reason, e.Message)
}

// Recorder is an in-memory EventRecorder.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *Recorder) Event(obj meta.Object, eventtype, reason, message string) {
	m := obj.GetObjectMeta()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, Event{Object: obj.GetTypeMeta().Kind + "/" + m.Namespace + "/" + m.Name, Type: eventtype, Reason: reason, Message: message})
}

func (r *Recorder) Eventf(obj meta.Object, eventtype, reason, format string, args ...any) {
	r.Event(obj, eventtype, reason, fmt.Sprintf(format, args...))
}

// List returns the events with the given reason ("" for all).
func (r *Recorder) List(reason string) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if reason == "" || e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// Eventually polls cond until it holds (see harness.Eventually).
func Eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	harness.Eventually(t, 30*time.Second, what, cond)
}

// Pods lists the pods of ns that match the label selector (sorted by name).
func (e *Env) Pods(t testing.TB, ns, selector string) []core.Pod {
	t.Helper()
	list, err := client.For[core.Pod](e.Client, controller.Pods).List(e.Ctx, ns, client.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list.Items, func(a, b core.Pod) int { return strings.Compare(a.Name, b.Name) })
	return list.Items
}

// PodNames is the names of pods.
func PodNames(pods []core.Pod) []string {
	out := make([]string, len(pods))
	for i := range pods {
		out[i] = pods[i].Name
	}
	return out
}

// Create creates obj through the typed client for r and fails the test on error.
func Create[T any, PT interface {
	*T
	meta.Object
}](t testing.TB, e *Env, r client.Resource, obj PT) PT {
	t.Helper()
	out, err := client.For[T, PT](e.Client, r).Create(e.Ctx, obj)
	if err != nil {
		t.Fatalf("create %s %s: %v", r.Resource, obj.GetObjectMeta().Name, err)
	}
	return out
}

// Get reads an object; nil if it does not exist.
func Get[T any, PT interface {
	*T
	meta.Object
}](t testing.TB, e *Env, r client.Resource, ns, name string) PT {
	t.Helper()
	out, err := client.For[T, PT](e.Client, r).Get(e.Ctx, ns, name)
	if client.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", r.Resource, ns, name, err)
	}
	return out
}
