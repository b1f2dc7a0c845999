package apiserver_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// A page says how many items remain after it (remainingItemCount) when the list has no
// selector, and only then, as Kubernetes does; the last page has neither continue nor count.
func TestListRemainingItemCount(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	a.must(201, "POST", "/api/v1/namespaces", `{"metadata": {"name": "defaultx"}}`)
	// A namespace whose name extends "default" must not count towards default's items.
	a.must(201, "POST", "/api/v1/namespaces/defaultx/configmaps", cm("other", "x"))
	const cms = "/api/v1/namespaces/default/configmaps"
	for i := range 5 {
		a.must(201, "POST", cms, fmt.Sprintf(`{"metadata": {"name": "c%d", "labels": {"n": "%d"}}}`, i, i))
	}
	var remaining []any
	for path := cms + "?limit=2"; ; {
		m := a.must(200, "GET", path, "")
		remaining = append(remaining, get(m, "metadata", "remainingItemCount"))
		c, _ := get(m, "metadata", "continue").(string)
		if c == "" {
			break
		}
		path = cms + "?limit=2&continue=" + url.QueryEscape(c)
	}
	if fmt.Sprint(remaining) != "[3 1 <nil>]" {
		t.Errorf("remainingItemCount by page: %v, want [3 1 <nil>]", remaining)
	}
	m := a.must(200, "GET", cms+"?limit=1&labelSelector=n", "")
	if c, r := get(m, "metadata", "continue"), get(m, "metadata", "remainingItemCount"); c == nil || r != nil {
		t.Errorf("with a selector: continue %v remainingItemCount %v, want a token and no count", c, r)
	}
}

// A continue token whose revision was compacted away gets 410 Expired with Kubernetes'
// message and an inconsistent continue token in the Status's metadata, which reads the rest
// of the list at the newest revision (conformance: "should support continue listing from the
// last key if the original version has been compacted away").
func TestListContinueAfterCompaction(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	const cms = "/api/v1/namespaces/default/configmaps"
	for i := range 4 {
		a.must(201, "POST", cms, fmt.Sprintf(`{"metadata": {"name": "c%d"}}`, i))
	}
	first := a.must(200, "GET", cms+"?limit=2", "")
	token := get(first, "metadata", "continue").(string)
	a.must(201, "POST", cms, `{"metadata": {"name": "c4"}}`)
	resp, err := s.Etcd.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Etcd.Compact(context.Background(), resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	gone := a.must(410, "GET", cms+"?limit=2&continue="+url.QueryEscape(token), "")
	inconsistent, _ := get(gone, "metadata", "continue").(string)
	if gone["reason"] != "Expired" || inconsistent == "" || !strings.HasPrefix(fmt.Sprint(gone["message"]), "The provided continue parameter is too old") {
		t.Fatalf("410: %v", gone)
	}
	rest := a.must(200, "GET", cms+"?limit=2&continue="+url.QueryEscape(inconsistent), "")
	items, _ := rest["items"].([]any)
	if len(items) != 2 || get(items[0].(map[string]any), "metadata", "name") != "c2" || get(rest, "metadata", "remainingItemCount") != float64(1) {
		t.Errorf("the rest of the list: %v", rest)
	}
}
