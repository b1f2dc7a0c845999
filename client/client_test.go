package client

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
)

// widget is a stand-in kind: the client is generic, so any Object will do.
type widget struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata"`
	Spec            string `json:"spec,omitempty"`
}

var widgets = Resource{Group: "example.com", Version: "v1", Resource: "widgets", Namespaced: true}

// recorded is what the fake server saw of one request.
type recorded struct {
	Method, Path, Query, ContentType, Auth, UserAgent, Body string
}

// recorder answers every request with status and body, and records it.
type recorder struct {
	mu     sync.Mutex
	reqs   []recorded
	status int
	body   string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"),
		r.Header.Get("Authorization"), r.Header.Get("User-Agent"), string(b)})
	status, body := rec.status, rec.body
	rec.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (rec *recorder) last() recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.reqs[len(rec.reqs)-1]
}

func newTestClient(t *testing.T, h http.Handler, mutate ...func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := &Config{Host: srv.URL, BearerToken: "secret", UserAgent: "test-agent"}
	for _, m := range mutate {
		m(cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResourcePath(t *testing.T) {
	pods := Resource{Version: "v1", Resource: "pods", Namespaced: true}
	nodes := Resource{Version: "v1", Resource: "nodes"}
	deploys := Resource{Group: "apps", Version: "v1", Resource: "deployments", Namespaced: true}
	for _, tc := range []struct {
		r        Resource
		ns, name string
		sub      []string
		want     string
	}{
		{pods, "default", "web", nil, "/api/v1/namespaces/default/pods/web"},
		{pods, "default", "", nil, "/api/v1/namespaces/default/pods"},
		{pods, "", "", nil, "/api/v1/pods"},
		{pods, "kube-system", "p", []string{"binding"}, "/api/v1/namespaces/kube-system/pods/p/binding"},
		{nodes, "ignored", "n1", []string{"status"}, "/api/v1/nodes/n1/status"},
		{deploys, "d", "x", []string{"scale"}, "/apis/apps/v1/namespaces/d/deployments/x/scale"},
		{deploys, "", "", nil, "/apis/apps/v1/deployments"},
	} {
		if got := tc.r.Path(tc.ns, tc.name, tc.sub...); got != tc.want {
			t.Errorf("Path(%q, %q, %v) = %q, want %q", tc.ns, tc.name, tc.sub, got, tc.want)
		}
	}
	if gv := deploys.GroupVersion(); gv != "apps/v1" {
		t.Errorf("GroupVersion = %q", gv)
	}
}

func TestTypedRequests(t *testing.T) {
	obj := &widget{ObjectMeta: meta.ObjectMeta{Name: "w1", Namespace: "ns1", ResourceVersion: "7"}, Spec: "blue"}
	objJSON, _ := json.Marshal(obj)
	ctx := context.Background()
	grace := int64(0)

	for _, tc := range []struct {
		name string
		call func(*Typed[widget, *widget]) error
		want recorded // Auth and UserAgent are checked for every case
	}{
		{"get", func(w *Typed[widget, *widget]) error { _, err := w.Get(ctx, "ns1", "w1"); return err },
			recorded{Method: "GET", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1"}},
		{"list all namespaces with options", func(w *Typed[widget, *widget]) error {
			_, err := w.List(ctx, "", ListOptions{LabelSelector: "app=web", FieldSelector: "spec.x=y", Limit: 5, Continue: "tok", ResourceVersion: "0"})
			return err
		}, recorded{Method: "GET", Path: "/apis/example.com/v1/widgets",
			Query: "continue=tok&fieldSelector=spec.x%3Dy&labelSelector=app%3Dweb&limit=5&resourceVersion=0"}},
		{"create uses the object's namespace", func(w *Typed[widget, *widget]) error { _, err := w.Create(ctx, obj); return err },
			recorded{Method: "POST", Path: "/apis/example.com/v1/namespaces/ns1/widgets", ContentType: "application/json", Body: string(objJSON)}},
		{"update", func(w *Typed[widget, *widget]) error { _, err := w.Update(ctx, obj); return err },
			recorded{Method: "PUT", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1", ContentType: "application/json", Body: string(objJSON)}},
		{"update status", func(w *Typed[widget, *widget]) error { _, err := w.UpdateStatus(ctx, obj); return err },
			recorded{Method: "PUT", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1/status", ContentType: "application/json", Body: string(objJSON)}},
		{"merge patch of status", func(w *Typed[widget, *widget]) error {
			_, err := w.Patch(ctx, "ns1", "w1", MergePatchType, []byte(`{"spec":"red"}`), "status")
			return err
		}, recorded{Method: "PATCH", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1/status", ContentType: "application/merge-patch+json", Body: `{"spec":"red"}`}},
		{"apply", func(w *Typed[widget, *widget]) error {
			_, err := w.Apply(ctx, "ns1", "w1", []byte("spec: red\n"), "me", true)
			return err
		}, recorded{Method: "PATCH", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1", Query: "fieldManager=me&force=true", ContentType: "application/apply-patch+yaml", Body: "spec: red\n"}},
		{"delete with options", func(w *Typed[widget, *widget]) error {
			return w.Delete(ctx, "ns1", "w1", &meta.DeleteOptions{GracePeriodSeconds: &grace})
		}, recorded{Method: "DELETE", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1", ContentType: "application/json",
			Body: `{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":0}`}},
		{"delete without options", func(w *Typed[widget, *widget]) error { return w.Delete(ctx, "ns1", "w1", nil) },
			recorded{Method: "DELETE", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1"}},
		{"delete collection", func(w *Typed[widget, *widget]) error {
			return w.DeleteCollection(ctx, "ns1", nil, ListOptions{LabelSelector: "a=b"})
		}, recorded{Method: "DELETE", Path: "/apis/example.com/v1/namespaces/ns1/widgets", Query: "labelSelector=a%3Db"}},
		{"create subresource", func(w *Typed[widget, *widget]) error {
			return w.CreateSubresource(ctx, "ns1", "w1", "binding", map[string]string{"target": "n1"}, nil)
		}, recorded{Method: "POST", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1/binding", ContentType: "application/json", Body: `{"target":"n1"}`}},
		{"get subresource", func(w *Typed[widget, *widget]) error {
			var out map[string]any
			return w.GetSubresource(ctx, "ns1", "w1", "scale", &out)
		}, recorded{Method: "GET", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1/scale"}},
		{"update subresource", func(w *Typed[widget, *widget]) error {
			return w.UpdateSubresource(ctx, "ns1", "w1", "scale", json.RawMessage(`{"spec":{"replicas":3}}`), nil)
		}, recorded{Method: "PUT", Path: "/apis/example.com/v1/namespaces/ns1/widgets/w1/scale", ContentType: "application/json", Body: `{"spec":{"replicas":3}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{status: 200, body: string(objJSON)}
			if strings.HasPrefix(tc.name, "list") {
				rec.body = `{"kind":"WidgetList","metadata":{"resourceVersion":"9"},"items":[` + string(objJSON) + `]}`
			}
			w := For[widget](newTestClient(t, rec), widgets)
			if err := tc.call(w); err != nil {
				t.Fatal(err)
			}
			got := rec.last()
			if got.Auth != "Bearer secret" || got.UserAgent != "test-agent" {
				t.Errorf("auth %q, user agent %q", got.Auth, got.UserAgent)
			}
			got.Auth, got.UserAgent = "", ""
			if got != tc.want {
				t.Errorf("request\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTypedDecodes(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{status: 200, body: `{"kind":"WidgetList","metadata":{"resourceVersion":"9","continue":"next"},
		"items":[{"metadata":{"name":"a","namespace":"n"},"spec":"x"},{"metadata":{"name":"b","namespace":"n"}}]}`}
	w := For[widget](newTestClient(t, rec), widgets)
	list, err := w.List(ctx, "n", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if list.ResourceVersion != "9" || list.Continue != "next" || len(list.Items) != 2 || list.Items[0].Spec != "x" || list.Items[1].Name != "b" {
		t.Fatalf("list = %+v", list)
	}

	rec.body = `{"metadata":{"name":"a","namespace":"n","resourceVersion":"3"},"spec":"y"}`
	got, err := w.Get(ctx, "n", "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "a" || got.ResourceVersion != "3" || got.Spec != "y" {
		t.Fatalf("get = %+v", got)
	}
}

func TestErrors(t *testing.T) {
	status := func(code int, reason string) string {
		return fmt.Sprintf(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"m","reason":%q,"code":%d}`, reason, code)
	}
	type check struct {
		name string
		fn   func(error) bool
	}
	all := []check{
		{"NotFound", IsNotFound}, {"AlreadyExists", IsAlreadyExists}, {"Conflict", IsConflict},
		{"Gone", IsGone}, {"Expired", IsExpired}, {"Invalid", IsInvalid}, {"BadRequest", IsBadRequest},
		{"Unauthorized", IsUnauthorized}, {"Forbidden", IsForbidden}, {"MethodNotSupported", IsMethodNotSupported},
		{"TooManyRequests", IsTooManyRequests}, {"InternalError", IsInternalError},
		{"ServiceUnavailable", IsServiceUnavailable}, {"Timeout", IsTimeout},
	}
	for _, tc := range []struct {
		name   string
		code   int
		body   string
		want   string // the one helper that must say yes ("" = none)
		reason string
	}{
		{"status not found", 404, status(404, "NotFound"), "NotFound", "NotFound"},
		{"already exists is a 409 that is not a conflict", 409, status(409, "AlreadyExists"), "AlreadyExists", "AlreadyExists"},
		{"conflict", 409, status(409, "Conflict"), "Conflict", "Conflict"},
		{"expired watch", 410, status(410, "Expired"), "Expired", "Expired"},
		{"gone", 410, status(410, "Gone"), "Gone", "Gone"},
		{"invalid", 422, status(422, "Invalid"), "Invalid", "Invalid"},
		{"too many requests", 429, status(429, "TooManyRequests"), "TooManyRequests", "TooManyRequests"},
		{"bare 404 from a proxy", 404, "404 page not found", "NotFound", "NotFound"},
		{"bare 503", 503, "", "ServiceUnavailable", "ServiceUnavailable"},
		{"status without reason falls back to code", 409, `{"kind":"Status","code":409}`, "Conflict", ""},
		{"bare 418 is nothing known", 418, "teapot", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := For[widget](newTestClient(t, &recorder{status: tc.code, body: tc.body}), widgets)
			_, err := w.Get(context.Background(), "n", "x")
			if err == nil {
				t.Fatal("want an error")
			}
			st, ok := StatusFor(err)
			if !ok {
				t.Fatalf("%v is not a StatusError", err)
			}
			if int(st.Code) != tc.code || st.Reason != tc.reason {
				t.Errorf("status code %d reason %q, want %d %q", st.Code, st.Reason, tc.code, tc.reason)
			}
			for _, c := range all {
				if got := c.fn(err); got != (c.name == tc.want) {
					t.Errorf("Is%s = %v", c.name, got)
				}
			}
		})
	}
	if IsNotFound(fmt.Errorf("plain")) || IsNotFound(nil) {
		t.Error("a non-status error is never NotFound")
	}
}

func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, `{"metadata":{"name":"x"}}`)
	})
	w := For[widget](newTestClient(t, h), widgets)
	if _, err := w.Get(context.Background(), "n", "x"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("server saw %d calls, want 3 (two retried 429s)", calls.Load())
	}
}

func TestTimeout(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	w := For[widget](newTestClient(t, h, func(c *Config) { c.Timeout = 50 * time.Millisecond }), widgets)
	start := time.Now()
	if _, err := w.Get(context.Background(), "n", "x"); err == nil {
		t.Fatal("want a timeout")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRateLimit(t *testing.T) {
	rec := &recorder{status: 200, body: `{}`}
	c := newTestClient(t, rec, func(c *Config) { c.QPS, c.Burst = 20, 1 })
	start := time.Now()
	for range 5 {
		if err := c.Do(context.Background(), "GET", "/api/v1/namespaces", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// One burst token, then a token every 50ms: at least 200ms for 5 requests.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("5 requests at 20 QPS burst 1 took %v", d)
	}
}

func TestDoQueryAndBody(t *testing.T) {
	rec := &recorder{status: 201, body: `{"ok":true}`}
	c := newTestClient(t, rec)
	var out struct{ OK bool }
	if err := c.Do(context.Background(), "POST", "/api/v1/namespaces?dryRun=All", map[string]int{"a": 1}, &out); err != nil {
		t.Fatal(err)
	}
	got := rec.last()
	if !out.OK || got.Path != "/api/v1/namespaces" || got.Query != "dryRun=All" || got.Body != `{"a":1}` {
		t.Fatalf("out %+v, request %+v", out, got)
	}
}

func TestEmptyAnswer(t *testing.T) {
	c := newTestClient(t, &recorder{status: http.StatusNoContent})
	out := map[string]any{"kept": true}
	if err := c.Do(context.Background(), "DELETE", "/api/v1/namespaces/x", nil, &out); err != nil {
		t.Fatal(err)
	}
	if out["kept"] != true {
		t.Fatalf("out = %v", out)
	}
}

// TestHTTP2 checks that a TLS server is spoken to over HTTP/2 with the CA from the config.
func TestHTTP2(t *testing.T) {
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		io.WriteString(w, `{}`)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	c, err := New(&Config{Host: srv.URL, TLS: TLSConfig{CAData: ca}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Do(context.Background(), "GET", "/version", nil, nil); err != nil {
		t.Fatal(err)
	}
	if p := proto.Load(); p != "HTTP/2.0" {
		t.Fatalf("protocol %v, want HTTP/2.0", p)
	}

	// Without the CA the server is not trusted.
	c, _ = New(&Config{Host: srv.URL})
	if err := c.Do(context.Background(), "GET", "/version", nil, nil); err == nil {
		t.Fatal("an unknown CA must fail verification")
	}
	// Unless told to skip verification.
	c, _ = New(&Config{Host: srv.URL, TLS: TLSConfig{Insecure: true}})
	if err := c.Do(context.Background(), "GET", "/version", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejects(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Host: "ftp://x"},
		{Host: "https://x", TLS: TLSConfig{CAData: []byte("not pem")}},
		{Host: "https://x", TLS: TLSConfig{CertData: []byte("x")}},
	} {
		if _, err := New(&cfg); err == nil {
			t.Errorf("New(%+v) should fail", cfg)
		}
	}
	c, err := New(&Config{Host: "10.0.0.1:6443"})
	if err != nil || c.Host() != "https://10.0.0.1:6443" {
		t.Errorf("bare host:port: %v %q", err, c.Host())
	}
}
