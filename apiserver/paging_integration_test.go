package apiserver_test

import (
	"fmt"
	"net/url"
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
