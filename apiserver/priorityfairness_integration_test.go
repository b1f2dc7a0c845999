package apiserver_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/test/harness"
)

const fcV1 = "/apis/flowcontrol.apiserver.k8s.io/v1"

// API Priority and Fairness: Kubernetes' default configuration is served; a client whose
// priority level is full gets 429 with Retry-After while other levels and flows are
// served; a schema naming a missing level is reported Dangling.
func TestPriorityAndFairness(t *testing.T) {
	a, srv := newAPI(t, harness.ServerOptions{Configure: func(c *apiserver.Config) {
		c.MaxRequestsInflight, c.MaxMutatingRequestsInflight = 1, 1
	}})
	names := func(path string) []string {
		var out []string
		for _, it := range a.must(200, "GET", path, "")["items"].([]any) {
			out = append(out, get(it.(map[string]any), "metadata", "name").(string))
		}
		return out
	}
	if got := strings.Join(names(fcV1+"/prioritylevelconfigurations"), ","); got != "catch-all,exempt,global-default,leader-election,node-high,system,workload-high,workload-low" {
		t.Errorf("default priority levels: %s", got)
	}
	if got := names(fcV1 + "/flowschemas"); len(got) != 13 {
		t.Errorf("default flow schemas: %d %v, want Kubernetes' 13", len(got), got)
	}

	// "noisy" gets a level of its own that refuses instead of queuing (one seat: the
	// server has two, shared by all levels, each having at least one) and borrows none.
	a.must(201, "POST", fcV1+"/prioritylevelconfigurations", `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1","kind":"PriorityLevelConfiguration",
		"metadata":{"name":"noisy-level"},"spec":{"type":"Limited","limited":{"nominalConcurrencyShares":1,"borrowingLimitPercent":0,"limitResponse":{"type":"Reject"}}}}`)
	fs := a.must(201, "POST", fcV1+"/flowschemas", `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1","kind":"FlowSchema",
		"metadata":{"name":"noisy"},"spec":{"priorityLevelConfiguration":{"name":"noisy-level"},"matchingPrecedence":100,
		"rules":[{"subjects":[{"kind":"User","user":{"name":"noisy"}}],
		"resourceRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"],"namespaces":["*"],"clusterScope":true}]}]}}`)
	fsUID := get(fs, "metadata", "uid").(string)
	a.must(201, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
		"metadata":{"name":"noisy-edit"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
		"subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"noisy"}]}`)
	noisy, err := srv.UserConfig(t, "noisy").HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	getAs := func(hc *http.Client) *http.Response {
		t.Helper()
		resp, err := hc.Get(srv.URL + cms)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	harness.Eventually(t, 10*time.Second, "noisy's requests classified by its schema", func() (bool, string) {
		resp := getAs(noisy)
		got := resp.Header.Get("X-Kubernetes-PF-FlowSchema-UID")
		return resp.StatusCode == 200 && got == fsUID, fmt.Sprintf("%d, flow schema uid %q", resp.StatusCode, got)
	})

	// Hold noisy's only seat with a create whose body stalls half-way.
	pr, pw := io.Pipe()
	held := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", srv.URL+cms, pr)
		req.Header.Set("Content-Type", "application/json")
		resp, err := noisy.Do(req)
		if err != nil {
			held <- -1
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"slow"`)); err != nil {
		t.Fatal(err)
	}
	var refused *http.Response
	harness.Eventually(t, 60*time.Second, "noisy's next request refused while its seat is held", func() (bool, string) {
		refused = getAs(noisy)
		return refused.StatusCode == http.StatusTooManyRequests, fmt.Sprint(refused.StatusCode)
	})
	if ra := refused.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("429 with Retry-After %q, want 1", ra)
	}
	// Other users and the nodes are served meanwhile.
	alice := userAPI(t, srv, "alice")
	// (alice may read nothing: her 403 comes from authorization, after her seat was given.)
	if code, _ := alice.raw("GET", "/api/v1/namespaces/default/configmaps/none", "", nil); code != 403 {
		t.Errorf("another user's request while noisy is refused: %d", code)
	}
	node := userAPI(t, srv, "system:node:n1", "system:nodes")
	if code, _ := node.raw("GET", "/api/v1/nodes/n1", "", nil); code != 404 {
		t.Errorf("a node's request while noisy is refused: %d", code)
	}
	// Allowed to borrow, noisy's level takes a seat other levels lend while idle
	// (global-default and workload-low lend half and 90% of theirs).
	if code, body := a.raw("PATCH", fcV1+"/prioritylevelconfigurations/noisy-level", "application/merge-patch+json",
		[]byte(`{"spec":{"limited":{"borrowingLimitPercent":null}}}`)); code != 200 {
		t.Fatalf("let noisy-level borrow: %d %s", code, body)
	}
	harness.Eventually(t, 10*time.Second, "noisy served on a borrowed seat while its own is held", func() (bool, string) {
		resp := getAs(noisy)
		return resp.StatusCode == 200, fmt.Sprint(resp.StatusCode)
	})
	// The held request completes, and noisy is served again.
	pw.Write([]byte(`}}`))
	pw.Close()
	if code := <-held; code != 201 {
		t.Errorf("the held create: %d", code)
	}
	if resp := getAs(noisy); resp.StatusCode != 200 {
		t.Errorf("noisy after its seat was freed: %d", resp.StatusCode)
	}
	_, metrics := a.raw("GET", "/metrics", "", nil)
	if !strings.Contains(string(metrics), `apiserver_flowcontrol_rejected_requests_total{flow_schema="noisy",priority_level="noisy-level",reason="concurrency-limit"}`) {
		t.Errorf("/metrics has no rejection counted for noisy")
	}

	// A schema naming a level that does not exist is Dangling.
	a.must(201, "POST", fcV1+"/flowschemas", `{"apiVersion":"flowcontrol.apiserver.k8s.io/v1","kind":"FlowSchema",
		"metadata":{"name":"orphan"},"spec":{"priorityLevelConfiguration":{"name":"missing"},"matchingPrecedence":200,
		"rules":[{"subjects":[{"kind":"Group","group":{"name":"nobody"}}],"nonResourceRules":[{"verbs":["get"],"nonResourceURLs":["/x"]}]}]}}`)
	harness.Eventually(t, 10*time.Second, "the orphan schema reported Dangling", func() (bool, string) {
		conds, _ := get(a.must(200, "GET", fcV1+"/flowschemas/orphan", ""), "status", "conditions").([]any)
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "Dangling" {
				return m["status"] == "True" && m["reason"] == "NotFound", fmt.Sprint(m)
			}
		}
		return false, fmt.Sprint(conds)
	})
	// Invalid configuration is refused with field errors.
	code, st := a.do("POST", fcV1+"/prioritylevelconfigurations", "", []byte(`{"apiVersion":"flowcontrol.apiserver.k8s.io/v1","kind":"PriorityLevelConfiguration",
		"metadata":{"name":"bad"},"spec":{"type":"Limited","limited":{"limitResponse":{"type":"Queue","queuing":{"queues":4,"handSize":8,"queueLengthLimit":1}}}}}`))
	if msg, _ := st["message"].(string); code != 422 || !strings.Contains(msg, "spec.limited.limitResponse.queuing.handSize: Invalid value: 8: should not be greater than queues (4)") {
		t.Errorf("hand larger than the deck: %d %v", code, st)
	}
}

// A list costs seats by the objects it goes through (one per 100, Kubernetes' estimate):
// /metrics' apiserver_flowcontrol_work_estimated_seats shows what each request was charged.
func TestListWidthEstimate(t *testing.T) {
	a, srv := newAPI(t, harness.ServerOptions{})
	for i := range 250 {
		a.must(201, "POST", cms, fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d"}}`, i))
	}
	alice := userAPI(t, srv, "alice")
	// Estimated before authorization: alice's lists are charged though she may not read.
	alice.raw("GET", cms, "", nil)             // the whole list, from the watch cache: 250 objects, 3 seats
	alice.raw("GET", cms+"?limit=50", "", nil) // a page from etcd: 2 × 50 objects, 1 seat
	alice.raw("GET", cms+"/cm-1", "", nil)     // a get: 1 seat
	_, metrics := a.raw("GET", "/metrics", "", nil)
	for _, want := range []string{
		`apiserver_flowcontrol_work_estimated_seats_sum{flow_schema="global-default",priority_level="global-default"} 5`,
		`apiserver_flowcontrol_work_estimated_seats_count{flow_schema="global-default",priority_level="global-default"} 3`,
		`apiserver_flowcontrol_work_estimated_seats_bucket{flow_schema="global-default",priority_level="global-default",le="2"} 2`,
	} {
		if !strings.Contains(string(metrics), want) {
			var seen []string
			for _, l := range strings.Split(string(metrics), "\n") {
				if strings.HasPrefix(l, "apiserver_flowcontrol_work_estimated_seats") {
					seen = append(seen, l)
				}
			}
			t.Errorf("/metrics lacks %s; has:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}
