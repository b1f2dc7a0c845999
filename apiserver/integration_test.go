package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/skiff-sh/skiff/test/harness"
)

// api is a tiny raw-HTTP client: these tests check the wire, so they speak it directly.
type api struct {
	t    *testing.T
	base string
	hc   *http.Client
	srv  *harness.Server // the server, when the test started one (its PKI issues node certificates)
}

func (a *api) do(method, path, contentType string, body []byte) (int, map[string]any) {
	a.t.Helper()
	code, raw := a.raw(method, path, contentType, body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			a.t.Fatalf("%s %s: response is not JSON (%v): %s", method, path, err, raw)
		}
	}
	return code, m
}

func (a *api) raw(method, path, contentType string, body []byte) (int, []byte) {
	a.t.Helper()
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if contentType == "" {
		contentType = "application/json"
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (a *api) must(want int, method, path string, body string) map[string]any {
	a.t.Helper()
	code, m := a.do(method, path, "", []byte(body))
	if code != want {
		a.t.Fatalf("%s %s: got %d, want %d: %v", method, path, code, want, m)
	}
	return m
}

func newAPI(t *testing.T, o harness.ServerOptions) (*api, *harness.Server) {
	s := harness.StartServer(t, o)
	return &api{t: t, base: s.URL, hc: s.HTTPClient(t), srv: s}, s
}

func get(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func cm(name string, data string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"k":%q}}`, name, data)
}

const cms = "/api/v1/namespaces/default/configmaps"

func TestCRUDAndConflict(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	created := a.must(201, "POST", cms, cm("one", "a"))
	rv := get(created, "metadata", "resourceVersion").(string)
	if get(created, "metadata", "uid") == "" || get(created, "metadata", "creationTimestamp") == nil || rv == "" {
		t.Fatalf("server-set metadata missing: %v", created["metadata"])
	}
	a.must(409, "POST", cms, cm("one", "a"))
	got := a.must(200, "GET", cms+"/one", "")
	if get(got, "data", "k") != "a" {
		t.Fatalf("get: %v", got)
	}
	upd := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"one","resourceVersion":%q},"data":{"k":"b"}}`, rv)
	after := a.must(200, "PUT", cms+"/one", upd)
	if get(after, "metadata", "resourceVersion") == rv {
		t.Fatal("resourceVersion did not change on update")
	}
	// The same stale resourceVersion again: a lost update would be silent; we want 409.
	st := a.must(409, "PUT", cms+"/one", upd)
	if st["reason"] != "Conflict" || st["kind"] != "Status" {
		t.Fatalf("stale update status: %v", st)
	}
	list := a.must(200, "GET", cms, "")
	if items := list["items"].([]any); len(items) != 1 || list["kind"] != "ConfigMapList" {
		t.Fatalf("list: %v", list)
	}
	a.must(200, "DELETE", cms+"/one", "")
	st = a.must(404, "GET", cms+"/one", "")
	if st["reason"] != "NotFound" || get(st, "details", "name") != "one" {
		t.Fatalf("404 status: %v", st)
	}
}

func TestGenerateNameAndSpecStatusSeparation(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	m := a.must(201, "POST", "/apis/apps/v1/namespaces/default/deployments", `{"apiVersion":"apps/v1","kind":"Deployment",
		"metadata":{"generateName":"web-"},
		"spec":{"selector":{"matchLabels":{"app":"w"}},"template":{"metadata":{"labels":{"app":"w"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}},
		"status":{"replicas":7}}`)
	name := get(m, "metadata", "name").(string)
	if !strings.HasPrefix(name, "web-") || len(name) != len("web-")+5 {
		t.Fatalf("generated name %q", name)
	}
	if get(m, "status", "replicas") != nil {
		t.Fatalf("status was accepted on create: %v", m["status"])
	}
	if get(m, "metadata", "generation") != float64(1) {
		t.Fatalf("generation on create = %v", get(m, "metadata", "generation"))
	}
	path := "/apis/apps/v1/namespaces/default/deployments/" + name
	// A status write changes status only.
	code, m := a.do("PATCH", path+"/status", "application/merge-patch+json", []byte(`{"spec":{"replicas":9},"status":{"replicas":3}}`))
	if code != 200 || get(m, "status", "replicas") != float64(3) || get(m, "spec", "replicas") != float64(1) {
		t.Fatalf("status patch: %d %v %v", code, m["spec"], m["status"])
	}
	if get(m, "metadata", "generation") != float64(1) {
		t.Fatalf("a status write bumped generation: %v", get(m, "metadata", "generation"))
	}
	// A spec write keeps status and bumps generation.
	code, m = a.do("PATCH", path, "application/merge-patch+json", []byte(`{"spec":{"replicas":4},"status":{"replicas":100}}`))
	if code != 200 || get(m, "status", "replicas") != float64(3) || get(m, "spec", "replicas") != float64(4) || get(m, "metadata", "generation") != float64(2) {
		t.Fatalf("spec patch: %d spec=%v status=%v gen=%v", code, m["spec"], m["status"], get(m, "metadata", "generation"))
	}
	// A metadata-only change does not bump generation.
	code, m = a.do("PATCH", path, "application/merge-patch+json", []byte(`{"metadata":{"labels":{"x":"y"}}}`))
	if code != 200 || get(m, "metadata", "generation") != float64(2) {
		t.Fatalf("label patch: %d gen=%v", code, get(m, "metadata", "generation"))
	}
	// Scale subresource.
	sc := a.must(200, "GET", path+"/scale", "")
	if sc["kind"] != "Scale" || get(sc, "spec", "replicas") != float64(4) || get(sc, "status", "selector") != "app=w" {
		t.Fatalf("scale: %v", sc)
	}
	a.must(200, "PUT", path+"/scale", `{"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"`+name+`"},"spec":{"replicas":6}}`)
	if m := a.must(200, "GET", path, ""); get(m, "spec", "replicas") != float64(6) {
		t.Fatalf("replicas after scale: %v", get(m, "spec", "replicas"))
	}
}

func TestFinalizers(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	a.must(201, "POST", cms, `{"metadata":{"name":"held","finalizers":["example.com/hold"]}}`)
	code, m := a.do("DELETE", cms+"/held", "", nil)
	if code != 202 && code != 200 {
		t.Fatalf("delete: %d %v", code, m)
	}
	m = a.must(200, "GET", cms+"/held", "")
	if get(m, "metadata", "deletionTimestamp") == nil {
		t.Fatalf("no deletionTimestamp: %v", m["metadata"])
	}
	// No new finalizers once deletion started.
	code, m = a.do("PATCH", cms+"/held", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":["example.com/hold","example.com/more"]}}`))
	if code != 422 {
		t.Fatalf("adding a finalizer while deleting: %d %v", code, m)
	}
	// Other changes are still allowed, and removing the last finalizer deletes the object.
	if code, m := a.do("PATCH", cms+"/held", "application/merge-patch+json", []byte(`{"data":{"x":"y"}}`)); code != 200 {
		t.Fatalf("patching a deleting object: %d %v", code, m)
	}
	code, _ = a.do("PATCH", cms+"/held", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`))
	if code != 200 {
		t.Fatalf("removing finalizers: %d", code)
	}
	a.must(404, "GET", cms+"/held", "")
}

func TestBadInput(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{MaxRequestBytes: 1 << 20})
	big := `{"metadata":{"name":"big"},"data":{"k":"` + strings.Repeat("x", 2<<20) + `"}}`
	code, m := a.do("POST", cms, "", []byte(big))
	if code != 413 || m["reason"] != "RequestEntityTooLarge" {
		t.Fatalf("oversized: %d %v", code, m)
	}
	code, m = a.do("POST", cms, "", []byte(`{"metadata":{"name":`))
	if code != 400 || m["reason"] != "BadRequest" || m["kind"] != "Status" {
		t.Fatalf("malformed JSON: %d %v", code, m)
	}
	code, m = a.do("POST", cms, "application/yaml", []byte("metadata: [unclosed"))
	if code != 400 {
		t.Fatalf("malformed YAML: %d %v", code, m)
	}
	code, m = a.do("POST", "/api/v1/namespaces/default/pods", "", []byte(`{"metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"a"},{"name":"a","image":"x"}]}}`))
	if code != 422 || m["reason"] != "Invalid" {
		t.Fatalf("invalid pod: %d %v", code, m)
	}
	fields := map[string]bool{}
	for _, c := range get(m, "details", "causes").([]any) {
		fields[c.(map[string]any)["field"].(string)] = true
	}
	for _, f := range []string{"metadata.name", "spec.containers[0].image", "spec.containers[1].name"} {
		if !fields[f] {
			t.Errorf("422 causes lack %s: %v", f, fields)
		}
	}
	code, m = a.do("POST", cms+"?fieldValidation=Strict", "", []byte(`{"metadata":{"name":"s"},"dataa":{}}`))
	if code != 400 || !strings.Contains(m["message"].(string), `unknown field "dataa"`) {
		t.Fatalf("strict unknown field: %d %v", code, m)
	}
	code, _ = a.do("POST", "/api/v1/namespaces/default/configmaps", "", []byte(`{"metadata":{"name":"ns","namespace":"other"}}`))
	if code != 400 {
		t.Fatalf("namespace mismatch: %d", code)
	}
	code, m = a.do("POST", "/api/v1/namespaces/missing/configmaps", "", []byte(`{"metadata":{"name":"x"}}`))
	if code != 404 {
		t.Fatalf("missing namespace: %d %v", code, m)
	}
	code, m = a.do("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx", "", nil)
	if code != 400 || !strings.Contains(m["message"].(string), "field label not supported") {
		t.Fatalf("unsupported field selector: %d %v", code, m)
	}
	code, _ = a.do("GET", "/api/v1/namespaces/default/widgets", "", nil)
	if code != 404 {
		t.Fatalf("unknown resource: %d", code)
	}
}

// watchStream reads watch events from one HTTP watch.
type watchStream struct {
	events chan map[string]any
	cancel context.CancelFunc
}

func openWatch(t *testing.T, hc *http.Client, url string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("watch %s: %d", url, resp.StatusCode)
	}
	ws := &watchStream{events: make(chan map[string]any, 10000), cancel: cancel}
	go func() {
		defer close(ws.events)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				ws.events <- ev
			}
		}
	}()
	t.Cleanup(cancel)
	return ws
}

func (w *watchStream) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case ev, ok := <-w.events:
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return nil
}

func TestWatchResumeNoMissNoRepeat(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	first := a.must(201, "POST", cms, cm("w0", "0"))
	rv0 := get(first, "metadata", "resourceVersion").(string)
	var want []string
	for i := 1; i <= 20; i++ {
		m := a.must(201, "POST", cms, cm("w"+strconv.Itoa(i), "x"))
		want = append(want, get(m, "metadata", "resourceVersion").(string))
	}
	ws := openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&resourceVersion="+rv0)
	for i := 0; i < 5; i++ {
		m := a.must(200, "PUT", cms+"/w1", cm("w1", strconv.Itoa(i)))
		want = append(want, get(m, "metadata", "resourceVersion").(string))
	}
	var got []string
	for len(got) < len(want) {
		ev := ws.next(t)
		got = append(got, get(ev, "object", "metadata", "resourceVersion").(string))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("watch from %s saw\n %v\nwant\n %v", rv0, got, want)
	}
	select {
	case ev := <-ws.events:
		t.Fatalf("extra event: %v", ev)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestWatchSelectors(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	ws := openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&labelSelector=team%3Dred")
	a.must(201, "POST", cms, `{"metadata":{"name":"blue","labels":{"team":"blue"}}}`)
	a.must(201, "POST", cms, `{"metadata":{"name":"red","labels":{"team":"red"}}}`)
	ev := ws.next(t)
	if ev["type"] != "ADDED" || get(ev, "object", "metadata", "name") != "red" {
		t.Fatalf("first event: %v", ev)
	}
	// blue starts matching: ADDED; red stops matching: DELETED.
	code, _ := a.do("PATCH", cms+"/blue", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"team":"red"}}}`))
	if code != 200 {
		t.Fatal(code)
	}
	ev = ws.next(t)
	if ev["type"] != "ADDED" || get(ev, "object", "metadata", "name") != "blue" {
		t.Fatalf("blue starting to match: %v", ev)
	}
	a.do("PATCH", cms+"/red", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"team":"green"}}}`))
	ev = ws.next(t)
	if ev["type"] != "DELETED" || get(ev, "object", "metadata", "name") != "red" {
		t.Fatalf("red stopping to match: %v", ev)
	}
	fw := openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&fieldSelector=metadata.name%3Dblue")
	ev = fw.next(t) // initial state: blue exists
	if ev["type"] != "ADDED" || get(ev, "object", "metadata", "name") != "blue" {
		t.Fatalf("field-selected initial event: %v", ev)
	}
	a.do("PATCH", cms+"/red", "application/merge-patch+json", []byte(`{"data":{"z":"1"}}`))
	a.do("PATCH", cms+"/blue", "application/merge-patch+json", []byte(`{"data":{"z":"1"}}`))
	ev = fw.next(t)
	if ev["type"] != "MODIFIED" || get(ev, "object", "metadata", "name") != "blue" {
		t.Fatalf("field-selected event: %v", ev)
	}
}

func TestWatchExpiredAfterCompactionThenRelist(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{WatchHistory: 10})
	first := a.must(201, "POST", cms, cm("c0", "0"))
	old := get(first, "metadata", "resourceVersion").(string)
	var last map[string]any
	for i := 1; i <= 30; i++ {
		last = a.must(201, "POST", cms, cm("c"+strconv.Itoa(i), "x"))
	}
	rev, _ := strconv.ParseInt(get(last, "metadata", "resourceVersion").(string), 10, 64)
	if _, err := s.Etcd.Compact(context.Background(), rev, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	ws := openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&resourceVersion="+old)
	ev := ws.next(t)
	if ev["type"] != "ERROR" || get(ev, "object", "code") != float64(410) || get(ev, "object", "reason") != "Expired" {
		t.Fatalf("watch from compacted version: %v", ev)
	}
	// A list at the compacted version is 410 too; the relist (no version) works.
	code, m := a.do("GET", cms+"?limit=5&resourceVersion="+old+"&resourceVersionMatch=Exact", "", nil)
	if code != 410 {
		t.Fatalf("list at compacted version: %d %v", code, m)
	}
	list := a.must(200, "GET", cms, "")
	if n := len(list["items"].([]any)); n != 31 {
		t.Fatalf("relist has %d items, want 31", n)
	}
	rv := get(list, "metadata", "resourceVersion").(string)
	ws = openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&resourceVersion="+rv)
	a.must(201, "POST", cms, cm("after", "x"))
	if ev := ws.next(t); get(ev, "object", "metadata", "name") != "after" {
		t.Fatalf("watch after relist: %v", ev)
	}
}

func TestPaginationConsistentUnderWrites(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	for i := 0; i < 50; i++ {
		a.must(201, "POST", cms, cm(fmt.Sprintf("p%03d", i), "x"))
	}
	// The writer starts once the first page has fixed the snapshot (resourceVersion) every
	// later page must be read at.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	startWriter := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Writers add objects before and after every key and delete existing ones.
				a.do("POST", cms, "", []byte(cm(fmt.Sprintf("p%03d-new%d", i%50, i), "x")))
				a.do("DELETE", cms+fmt.Sprintf("/p%03d", (i*7)%50), "", nil)
			}
		}()
	}
	var names []string
	var rv string
	cont := ""
	for page := 0; ; page++ {
		path := cms + "?limit=7"
		if cont != "" {
			path += "&continue=" + cont
		}
		m := a.must(200, "GET", path, "")
		if page == 0 {
			rv = get(m, "metadata", "resourceVersion").(string)
			startWriter()
		} else if got := get(m, "metadata", "resourceVersion").(string); got != rv {
			t.Fatalf("page %d read at %s, first page at %s", page, got, rv)
		}
		for _, it := range m["items"].([]any) {
			names = append(names, get(it.(map[string]any), "metadata", "name").(string))
		}
		c, _ := get(m, "metadata", "continue").(string)
		if c == "" {
			break
		}
		cont = c
		time.Sleep(10 * time.Millisecond) // give the writer room between pages
	}
	close(stop)
	wg.Wait()
	if len(names) != 50 {
		t.Fatalf("paged list saw %d objects, want the 50 that existed at %s: %v", len(names), rv, names)
	}
	for i, n := range names {
		if n != fmt.Sprintf("p%03d", i) {
			t.Fatalf("item %d = %s", i, n)
		}
	}
}

func TestDiscoveryAndVersion(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	v := a.must(200, "GET", "/version", "")
	if !strings.HasPrefix(v["gitVersion"].(string), "v1.33.") {
		t.Fatalf("version: %v", v)
	}
	rl := a.must(200, "GET", "/api/v1", "")
	found := false
	for _, r := range rl["resources"].([]any) {
		r := r.(map[string]any)
		if r["name"] == "pods" {
			found = true
			if r["namespaced"] != true || r["kind"] != "Pod" {
				t.Fatalf("pods resource: %v", r)
			}
		}
	}
	if !found {
		t.Fatal("pods not in /api/v1")
	}
	// Every subresource served is listed, with Kubernetes' kinds and verbs (the conformance
	// CSR spec looks for certificatesigningrequests/approval).
	listed := map[string]string{}
	for _, path := range []string{"/api/v1", "/apis/certificates.k8s.io/v1"} {
		for _, r := range a.must(200, "GET", path, "")["resources"].([]any) {
			r := r.(map[string]any)
			listed[r["name"].(string)] = fmt.Sprint(r["group"], "/", r["kind"], " ", r["verbs"])
		}
	}
	for name, want := range map[string]string{
		"pods/proxy":                          "<nil>/PodProxyOptions [create delete get patch update]",
		"services/proxy":                      "<nil>/ServiceProxyOptions [create delete get patch update]",
		"nodes/proxy":                         "<nil>/NodeProxyOptions [create delete get patch update]",
		"serviceaccounts/token":               "authentication.k8s.io/TokenRequest [create]",
		"certificatesigningrequests/approval": "<nil>/CertificateSigningRequest [get patch update]",
		"certificatesigningrequests/status":   "<nil>/CertificateSigningRequest [get patch update]",
	} {
		if listed[name] != want {
			t.Errorf("discovery of %s = %q, want %q", name, listed[name], want)
		}
	}
	groups := a.must(200, "GET", "/apis", "")
	if !strings.Contains(fmt.Sprint(groups), "apps/v1") {
		t.Fatalf("/apis: %v", groups)
	}
	for _, p := range []string{"/healthz", "/readyz", "/livez", "/metrics", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"} {
		if code, _ := a.raw("GET", p, "", nil); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	ns := a.must(200, "GET", "/api/v1/namespaces", "")
	if len(ns["items"].([]any)) != 4 {
		t.Fatalf("bootstrap namespaces: %v", ns)
	}
	_, metrics := a.raw("GET", "/metrics", "", nil)
	for _, want := range []string{`apiserver_request_total{code="200",resource="namespaces",subresource="",verb="list"}`,
		"apiserver_request_duration_seconds_bucket", "etcd_request_duration_seconds_bucket",
		`apiserver_watch_cache_events_received_total{resource="pods"}`, "apiserver_registered_watchers"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestPriorityAdmission(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	pods := "/api/v1/namespaces/default/pods"
	pod := func(name, class string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"priorityClassName":%q,"containers":[{"name":"c","image":"busybox"}]}}`, name, class)
	}
	if m := a.must(200, "GET", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical", ""); m["value"] != float64(2000001000) {
		t.Fatalf("built-in class: %v", m)
	}
	m := a.must(201, "POST", pods, pod("plain", ""))
	if get(m, "spec", "priority") != float64(0) || get(m, "spec", "preemptionPolicy") != "PreemptLowerPriority" {
		t.Fatalf("pod without class: %v", m["spec"])
	}
	a.must(201, "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", `{"metadata":{"name":"high"},"value":1000}`)
	m = a.must(201, "POST", pods, pod("high", "high"))
	if get(m, "spec", "priority") != float64(1000) {
		t.Fatalf("pod with class high: %v", get(m, "spec", "priority"))
	}
	st := a.must(403, "POST", pods, pod("nope", "missing"))
	if !strings.Contains(st["message"].(string), "no PriorityClass with name missing was found") {
		t.Fatalf("unknown class: %v", st)
	}
	a.must(201, "POST", "/apis/scheduling.k8s.io/v1/priorityclasses", `{"metadata":{"name":"dflt"},"value":7,"globalDefault":true}`)
	// Admission reads classes from the watch cache, as Kubernetes reads them from an
	// informer: a new global default applies once the cache has seen it.
	i := 0
	harness.Eventually(t, 5*time.Second, "pods to get the global default priority", func() (bool, string) {
		i++
		m = a.must(201, "POST", pods, pod(fmt.Sprintf("defaulted-%d", i), ""))
		return get(m, "spec", "priority") == float64(7) && get(m, "spec", "priorityClassName") == "dflt", fmt.Sprint(m["spec"])
	})
	a.must(403, "POST", pods, `{"metadata":{"name":"forged"},"spec":{"priority":5,"containers":[{"name":"c","image":"busybox"}]}}`)
}

func TestDeleteCollectionAndWatchTimeout(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{BookmarkInterval: 200 * time.Millisecond})
	for i, team := range []string{"x", "x", "y"} {
		a.must(201, "POST", cms, fmt.Sprintf(`{"metadata":{"name":"d%d","labels":{"team":%q}}}`, i, team))
	}
	a.must(200, "DELETE", cms+"?labelSelector=team%3Dx", "")
	list := a.must(200, "GET", cms, "")
	if items := list["items"].([]any); len(items) != 1 || get(items[0].(map[string]any), "metadata", "name") != "d2" {
		t.Fatalf("after deletecollection: %v", items)
	}
	// A watch with timeoutSeconds ends by itself; with allowWatchBookmarks an idle one gets
	// BOOKMARK events carrying a resourceVersion.
	rv := get(list, "metadata", "resourceVersion").(string)
	ws := openWatch(t, s.HTTPClient(t), s.URL+cms+"?watch=true&timeoutSeconds=1&allowWatchBookmarks=true&resourceVersion="+rv)
	var types []string
	deadline := time.After(30 * time.Second)
loop:
	for {
		select {
		case ev, ok := <-ws.events:
			if !ok {
				break loop
			}
			types = append(types, ev["type"].(string))
			if ev["type"] == "BOOKMARK" && get(ev, "object", "metadata", "resourceVersion") == nil {
				t.Fatalf("bookmark without resourceVersion: %v", ev)
			}
		case <-deadline:
			t.Fatalf("a watch with timeoutSeconds=1 was still open after 30s; saw %v", types)
		}
	}
	found := false
	for _, ty := range types {
		found = found || ty == "BOOKMARK"
	}
	if !found {
		t.Fatalf("no bookmark on an idle watch that asked for them: %v", types)
	}
}

func TestServiceIPAndNodePortAllocation(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	svcs := "/api/v1/namespaces/default/services"
	svc := func(name, extra string) string {
		return fmt.Sprintf(`{"metadata":{"name":%q},"spec":{"selector":{"app":"x"},"ports":[{"port":80}]%s}}`, name, extra)
	}
	k := a.must(200, "GET", svcs+"/kubernetes", "")
	if get(k, "spec", "clusterIP") != "10.96.0.1" {
		t.Fatalf("kubernetes service: %v", k["spec"])
	}
	// Concurrent creates never share an IP.
	var wg sync.WaitGroup
	ips := make([]string, 40)
	for i := range ips {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, m := a.do("POST", svcs, "", []byte(svc(fmt.Sprintf("c%d", i), "")))
			if code == 201 {
				ips[i], _ = get(m, "spec", "clusterIP").(string)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, ip := range ips {
		if ip == "" || !strings.HasPrefix(ip, "10.") || seen[ip] {
			t.Fatalf("service c%d got %q (all: %v)", i, ip, ips)
		}
		seen[ip] = true
	}
	m := a.must(201, "POST", svcs, svc("fixed", `,"clusterIP":"10.96.100.100"`))
	if get(m, "spec", "clusterIP") != "10.96.100.100" {
		t.Fatalf("requested IP: %v", m["spec"])
	}
	st := a.must(422, "POST", svcs, svc("taken", `,"clusterIP":"10.96.100.100"`))
	if !strings.Contains(st["message"].(string), "already allocated") {
		t.Fatalf("taken IP: %v", st)
	}
	st = a.must(422, "POST", svcs, svc("outside", `,"clusterIP":"192.168.1.1"`))
	if !strings.Contains(st["message"].(string), "not in the valid range") {
		t.Fatalf("out-of-range IP: %v", st)
	}
	a.must(200, "DELETE", svcs+"/fixed", "")
	a.must(201, "POST", svcs, svc("again", `,"clusterIP":"10.96.100.100"`))
	np := a.must(201, "POST", svcs, svc("np", `,"type":"NodePort"`))
	port := get(np, "spec", "ports").([]any)[0].(map[string]any)["nodePort"].(float64)
	if port < 30000 || port > 32767 {
		t.Fatalf("node port %v", port)
	}
	st = a.must(422, "POST", svcs, svc("np2", fmt.Sprintf(`,"type":"NodePort","ports":[{"port":80,"nodePort":%d}]`, int(port))))
	if !strings.Contains(st["message"].(string), "already allocated") {
		t.Fatalf("taken node port: %v", st)
	}
	headless := a.must(201, "POST", svcs, svc("headless", `,"clusterIP":"None"`))
	if get(headless, "spec", "clusterIP") != "None" {
		t.Fatalf("headless: %v", headless["spec"])
	}
	// Switching to ClusterIP releases the node port; switching back allocates one.
	code, m := a.do("PATCH", svcs+"/np", "application/merge-patch+json", []byte(`{"spec":{"type":"ClusterIP","ports":[{"port":80}]}}`))
	if code != 200 {
		t.Fatalf("to ClusterIP: %d %v", code, m)
	}
	a.must(201, "POST", svcs, svc("np3", fmt.Sprintf(`,"type":"NodePort","ports":[{"port":80,"nodePort":%d}]`, int(port))))
}

// TestPodDefaultTolerationsAndNodePodCIDRs: pods get the 300 s not-ready/unreachable
// NoExecute tolerations unless they tolerate those taints already, and a Node's podCIDR
// and podCIDRs are kept in step.
func TestPodDefaultTolerationsAndNodePodCIDRs(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	pods := "/api/v1/namespaces/default/pods"
	m := a.must(201, "POST", pods, `{"metadata":{"name":"plain"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`)
	tols, _ := get(m, "spec", "tolerations").([]any)
	want := map[string]bool{"node.kubernetes.io/not-ready": false, "node.kubernetes.io/unreachable": false}
	for _, x := range tols {
		tol := x.(map[string]any)
		if _, ok := want[tol["key"].(string)]; ok && tol["operator"] == "Exists" && tol["effect"] == "NoExecute" && tol["tolerationSeconds"] == float64(300) {
			want[tol["key"].(string)] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("no default toleration for %s: %v", k, tols)
		}
	}
	m = a.must(201, "POST", pods, `{"metadata":{"name":"tolerant"},"spec":{"tolerations":[{"operator":"Exists"}],"containers":[{"name":"c","image":"busybox"}]}}`)
	if tols, _ := get(m, "spec", "tolerations").([]any); len(tols) != 1 {
		t.Errorf("a pod tolerating everything got more tolerations: %v", tols)
	}

	m = a.must(201, "POST", "/api/v1/nodes", `{"metadata":{"name":"n1"},"spec":{"podCIDR":"10.244.7.0/24"}}`)
	if cidrs, _ := get(m, "spec", "podCIDRs").([]any); len(cidrs) != 1 || cidrs[0] != "10.244.7.0/24" {
		t.Errorf("podCIDRs from podCIDR: %v", m["spec"])
	}
	m = a.must(201, "POST", "/api/v1/nodes", `{"metadata":{"name":"n2"},"spec":{"podCIDRs":["10.244.8.0/24"]}}`)
	if get(m, "spec", "podCIDR") != "10.244.8.0/24" {
		t.Errorf("podCIDR from podCIDRs: %v", m["spec"])
	}
}
