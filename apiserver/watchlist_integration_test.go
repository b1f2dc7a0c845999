package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// TestWatchList: sendInitialEvents=true streams the current objects as ADDED events, then a
// BOOKMARK annotated k8s.io/initial-events-end, then changes; the options Kubernetes refuses
// are refused with its messages.
func TestWatchList(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	for i := range 3 {
		a.must(201, "POST", "/api/v1/namespaces/default/configmaps", cm(fmt.Sprintf("wl-%d", i), "x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.base+"/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=", nil)
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	next := func() (string, map[string]any) {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("watch ended: %v", sc.Err())
		}
		var ev struct {
			Type   string         `json:"type"`
			Object map[string]any `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %s: %v", sc.Bytes(), err)
		}
		return ev.Type, ev.Object
	}
	seen := map[string]bool{}
	for {
		typ, obj := next()
		if typ == "BOOKMARK" {
			if get(obj, "metadata", "annotations", "k8s.io/initial-events-end") != "true" || get(obj, "metadata", "resourceVersion") == "" {
				t.Fatalf("bookmark = %v", obj)
			}
			break
		}
		if typ != "ADDED" {
			t.Fatalf("initial event %s %v", typ, obj)
		}
		seen[get(obj, "metadata", "name").(string)] = true
	}
	for i := range 3 {
		if !seen[fmt.Sprintf("wl-%d", i)] {
			t.Errorf("wl-%d not in the initial events (%v)", i, seen)
		}
	}
	a.must(201, "POST", "/api/v1/namespaces/default/configmaps", cm("wl-after", "x"))
	for {
		typ, obj := next()
		if typ == "BOOKMARK" {
			continue
		}
		if typ != "ADDED" || get(obj, "metadata", "name") != "wl-after" {
			t.Fatalf("after the initial state: %s %v", typ, get(obj, "metadata", "name"))
		}
		break
	}

	for _, tc := range []struct{ query, msg string }{
		{"watch=true&sendInitialEvents=true&allowWatchBookmarks=true", `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan`},
		{"watch=true&resourceVersionMatch=NotOlderThan", `ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided`},
		{"sendInitialEvents=true", `ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list`},
	} {
		code, m := a.do("GET", "/api/v1/namespaces/default/configmaps?"+tc.query, "", nil)
		if code != 422 || m["message"] != tc.msg {
			t.Errorf("%s: %d %v", tc.query, code, m["message"])
		}
	}
}
