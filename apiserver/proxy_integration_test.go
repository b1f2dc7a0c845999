package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/test/harness"
)

// proxyBackend answers with what it was asked (method, path, query, whether credentials
// reached it, the address it was dialled at), and serves an HTML page at /page.
func proxyBackend(t *testing.T) *httptest.Server {
	t.Helper()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/page" {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<a href="/rewriteme">test</a>`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery,
			"authorization": r.Header.Get("Authorization"), "dialled": r.Host, "forwardedUri": r.Header.Get("X-Forwarded-Uri")})
	}))
	t.Cleanup(b.Close)
	return b
}

// The proxy subresources of pods, services and nodes reach their backends with the
// request's method, path and query, without the caller's credentials; links in HTML are
// rewritten to come back through the proxy; what cannot be reached is refused as
// Kubernetes does; and pods/proxy is authorized as such.
func TestProxySubresources(t *testing.T) {
	backend := proxyBackend(t)
	// Every address the proxy dials (a pod IP, an endpoint, a node port) leads to the backend;
	// the backend sees the address that was asked for in the Host header.
	srv := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.ProxyDialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, backend.Listener.Addr().String())
		}
	}})
	a := &api{t: t, base: srv.URL, hc: srv.HTTPClient(t), srv: srv}
	const ns = "/api/v1/namespaces/default"

	a.must(201, "POST", ns+"/pods", `{"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": [
		{"name": "c", "image": "x", "ports": [{"containerPort": 8080}]}]}}`)
	pod := a.must(200, "GET", ns+"/pods/web", "")
	pod["status"] = map[string]any{"podIP": "10.0.0.5", "podIPs": []any{map[string]any{"ip": "10.0.0.5"}}}
	pb, _ := json.Marshal(pod)
	a.must(200, "PUT", ns+"/pods/web/status", string(pb))
	a.must(201, "POST", ns+"/pods", `{"metadata": {"name": "pending"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}`)

	a.must(201, "POST", ns+"/services", `{"metadata": {"name": "svc"}, "spec": {"selector": {"app": "web"},
		"ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}`)
	a.must(201, "POST", ns+"/endpoints", `{"metadata": {"name": "svc"}, "subsets": [{
		"addresses": [{"ip": "10.0.0.5", "targetRef": {"kind": "Pod", "namespace": "default", "name": "web"}}],
		"ports": [{"name": "http", "port": 8080}]}]}`)
	a.must(201, "POST", ns+"/services", `{"metadata": {"name": "rogue"}, "spec": {"ports": [{"port": 80}]}}`)
	a.must(201, "POST", ns+"/endpoints", `{"metadata": {"name": "rogue"}, "subsets": [{
		"addresses": [{"ip": "10.9.9.9"}], "ports": [{"port": 80}]}]}`)

	a.must(201, "POST", "/api/v1/nodes", `{"metadata": {"name": "n1"}}`)
	node := a.must(200, "GET", "/api/v1/nodes/n1", "")
	node["status"] = map[string]any{"addresses": []any{map[string]any{"type": "InternalIP", "address": "10.1.0.2"}},
		"daemonEndpoints": map[string]any{"kubeletEndpoint": map[string]any{"Port": 10250}}}
	nb, _ := json.Marshal(node)
	a.must(200, "PUT", "/api/v1/nodes/n1/status", string(nb))

	// One client that shows redirects instead of following them, with the admin's credentials.
	hc := *srv.HTTPClient(t)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	call := func(method, path string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("body"))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	echo := func(method, path string) map[string]any {
		t.Helper()
		code, _, body := call(method, path)
		var m map[string]any
		if code != 200 || json.Unmarshal([]byte(body), &m) != nil {
			t.Fatalf("%s %s: %d %s", method, path, code, body)
		}
		return m
	}

	for _, tc := range []struct {
		method, path                     string
		wantPath, wantQuery, wantDialled string
	}{
		// The pod's first container port when none is named.
		{"GET", ns + "/pods/web/proxy/some/path/", "/some/path/", "", "10.0.0.5:8080"},
		{"POST", ns + "/pods/web:9090/proxy/x?a=1&b=2", "/x", "a=1&b=2", "10.0.0.5:9090"},
		{"OPTIONS", ns + "/pods/http:web:9090/proxy/o", "/o", "", "10.0.0.5:9090"},
		{"DELETE", ns + "/pods/web/proxy?method=DELETE", "/", "method=DELETE", "10.0.0.5:8080"},
		// Services: by port name or number, to the endpoint's port.
		{"GET", ns + "/services/svc:http/proxy/p", "/p", "", "10.0.0.5:8080"},
		{"PUT", ns + "/services/http:svc:80/proxy/p", "/p", "", "10.0.0.5:8080"},
		// Nodes: another port of the node.
		{"GET", "/api/v1/nodes/n1:9100/proxy/metrics", "/metrics", "", "10.1.0.2:9100"},
	} {
		m := echo(tc.method, tc.path)
		if m["method"] != tc.method || m["path"] != tc.wantPath || m["query"] != tc.wantQuery || m["dialled"] != tc.wantDialled || m["authorization"] != "" {
			t.Errorf("%s %s reached %v", tc.method, tc.path, m)
		}
	}
	if m := echo("GET", ns+"/pods/web/proxy/a/b"); m["forwardedUri"] != "/api/v1/namespaces/default/pods/web/proxy/a/b" {
		t.Errorf("X-Forwarded-Uri %v", m["forwardedUri"])
	}

	// An empty path on GET is redirected to "proxy/", keeping the query.
	if code, h, _ := call("GET", ns+"/pods/web/proxy?method=GET"); code != 301 || h.Get("Location") != ns+"/pods/web/proxy/?method=GET" {
		t.Errorf("GET without a path: %d Location %q", code, h.Get("Location"))
	}
	if code, h, _ := call("HEAD", ns+"/services/svc:http/proxy"); code != 301 || h.Get("Location") != ns+"/services/svc:http/proxy/" {
		t.Errorf("HEAD without a path: %d Location %q", code, h.Get("Location"))
	}
	// HTML links come back through the proxy.
	if code, _, body := call("GET", ns+"/pods/web/proxy/page"); code != 200 || body != `<a href="`+ns+`/pods/web/proxy/rewriteme">test</a>` {
		t.Errorf("page: %d %s", code, body)
	}

	for _, tc := range []struct {
		path    string
		code    int
		message string
	}{
		{ns + "/pods/pending/proxy/", 400, "address not allowed"},
		{ns + "/pods/ghost/proxy/", 404, `pods "ghost" not found`},
		{ns + "/pods/ftp:web:21/proxy/", 400, `invalid pod request "ftp:web:21"`},
		{ns + "/services/svc:81/proxy/", 503, `no service port 81 found for service "svc"`},
		{ns + "/services/rogue/proxy/", 503, `no endpoints available for service "rogue"`},
		{"/api/v1/nodes/ghost/proxy/", 404, `nodes "ghost" not found`},
	} {
		code, _, body := call("GET", tc.path)
		var st map[string]any
		json.Unmarshal([]byte(body), &st)
		if code != tc.code || st["message"] != tc.message {
			t.Errorf("GET %s: %d %s, want %d %q", tc.path, code, body, tc.code, tc.message)
		}
	}

	// pods/proxy is a subresource of its own in authorization.
	alice, err := srv.UserConfig(t, "alice").HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+ns+"/pods/web/proxy/", nil)
	resp, err := alice.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st map[string]any
	json.Unmarshal(b, &st)
	if want := `pods "web" is forbidden: User "alice" cannot get resource "pods/proxy" in API group "" in the namespace "default"`; resp.StatusCode != 403 || st["message"] != want {
		t.Errorf("alice: %d %s", resp.StatusCode, b)
	}
}

// "/api/" and "/apis/" are discovery as "/api" and "/apis" are (Kubernetes serves both).
func TestDiscoveryWithTrailingSlash(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	for _, p := range []string{"/api/", "/apis/"} {
		m := a.must(200, "GET", p, "")
		if want := map[string]string{"/api/": "APIVersions", "/apis/": "APIGroupList"}[p]; m["kind"] != want {
			t.Errorf("%s: kind %v, want %s", p, m["kind"], want)
		}
	}
}
