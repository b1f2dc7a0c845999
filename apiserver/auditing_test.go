package apiserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/apiserver/audit"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// TestAuditLine: one JSON line per request, shaped as an audit.k8s.io/v1 Event at the
// Metadata level, with the authenticated and the impersonated user.
func TestAuditLine(t *testing.T) {
	var buf bytes.Buffer
	sink := audit.NewWriter(&buf)
	alice := &authn.User{Name: "alice", UID: "a-1", Groups: []string{"dev", "system:authenticated"}}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	h := auditFilter(sink, func(err error) { t.Error(err) }, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// What the authentication filter does, then the impersonation filter.
		impersonate(allowList{"users /bob": true}, inner).ServeHTTP(w, r.WithContext(authn.WithUser(r.Context(), alice)))
	}))
	req := httptest.NewRequest(http.MethodGet, "/apis/apps/v1/namespaces/default/deployments/web/scale?pretty=1", nil)
	req.RemoteAddr = "10.0.0.9:4321"
	req.Header.Set("User-Agent", "kubectl/v1.33.0")
	req.Header.Set("X-Forwarded-For", "192.0.2.1, 10.0.0.9")
	req.Header.Set("Impersonate-User", "bob")
	rec := httptest.NewRecorder()
	before := time.Now().Add(-time.Second)
	h.ServeHTTP(rec, req)

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1:\n%s", len(lines), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	id := rec.Header().Get("Audit-ID")
	if id == "" || got["auditID"] != id {
		t.Errorf("auditID %v, response header %q", got["auditID"], id)
	}
	for _, k := range []string{"requestReceivedTimestamp", "stageTimestamp"} {
		ts, err := time.Parse(time.RFC3339Nano, got[k].(string))
		if err != nil || ts.Before(before) || !strings.HasSuffix(got[k].(string), "Z") {
			t.Errorf("%s = %v (%v)", k, got[k], err)
		}
		delete(got, k)
	}
	delete(got, "auditID")
	want := map[string]any{
		"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete",
		"requestURI": "/apis/apps/v1/namespaces/default/deployments/web/scale?pretty=1", "verb": "get",
		"user":             map[string]any{"username": "alice", "uid": "a-1", "groups": []any{"dev", "system:authenticated"}},
		"impersonatedUser": map[string]any{"username": "bob", "groups": []any{"system:authenticated"}},
		"sourceIPs":        []any{"192.0.2.1", "10.0.0.9"},
		"userAgent":        "kubectl/v1.33.0",
		"objectRef": map[string]any{"resource": "deployments", "namespace": "default", "name": "web",
			"apiGroup": "apps", "apiVersion": "v1", "subresource": "scale"},
		"responseStatus": map[string]any{"metadata": map[string]any{}, "code": 404.0},
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("event\n%s", gj)
	}
}

// TestAuditStages: a watch gets ResponseStarted when its response begins and
// ResponseComplete at its end; a refused request (401 before any user) one event without user.
func TestAuditStages(t *testing.T) {
	var buf bytes.Buffer
	h := auditFilter(audit.NewWriter(&buf), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		w.Write([]byte("{}\n"))
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/pods?watch=1", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/pods", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	var evs []audit.Event
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var ev audit.Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	type sv struct {
		stage, verb, user string
		code              int32
	}
	var got []sv
	for _, e := range evs {
		got = append(got, sv{e.Stage, e.Verb, e.User.Username, e.ResponseStatus.Code})
	}
	want := []sv{{"ResponseStarted", "watch", "", 200}, {"ResponseComplete", "watch", "", 200}, {"ResponseComplete", "list", "", 401}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events %+v, want %+v", got, want)
	}
	if len(evs) == 3 && evs[0].AuditID != evs[1].AuditID {
		t.Errorf("a watch's two events have different audit IDs")
	}
}
