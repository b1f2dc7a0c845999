package apiserver_test

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// An autoscaler is served as autoscaling/v1 and autoscaling/v2 over one stored object: made
// through one version, it reads, lists, watches, patches and prints through the other; the
// v2-only fields survive a v1 read-modify-write in the annotations; v1 validation names v1
// fields; discovery keeps v2 preferred and OpenAPI describes both.
func TestHPAServedAtTwoVersions(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const v1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
	const v2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"

	// Made through v1 (as kubectl autoscale's body), read through v2.
	made := a.must(201, "POST", v1, `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web"},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"maxReplicas":5,"targetCPUUtilizationPercentage":50}}`)
	if made["apiVersion"] != "autoscaling/v1" || get(made, "spec", "minReplicas") != float64(1) || get(made, "spec", "targetCPUUtilizationPercentage") != float64(50) {
		t.Errorf("created through v1: %s", mustJSON(t, made))
	}
	got := a.must(200, "GET", v2+"/web", "")
	if got["apiVersion"] != "autoscaling/v2" || !strings.Contains(mustJSON(t, get(got, "spec", "metrics")),
		`{"resource":{"name":"cpu","target":{"averageUtilization":50,"type":"Utilization"}},"type":"Resource"}`) {
		t.Errorf("read through v2: %s", mustJSON(t, got))
	}

	// Made through v2 with what v1 has no field for; v1 carries it in annotations.
	a.must(201, "POST", v2, `{"metadata":{"name":"mem"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"mem"},
		"minReplicas":2,"maxReplicas":4,"metrics":[
		{"type":"Resource","resource":{"name":"memory","target":{"type":"AverageValue","averageValue":"100Mi"}}},
		{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}]}}`)
	old := a.must(200, "GET", v1+"/mem", "")
	ann, _ := get(old, "metadata", "annotations", "autoscaling.alpha.kubernetes.io/metrics").(string)
	if ann != `[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}}]` || get(old, "spec", "targetCPUUtilizationPercentage") != float64(70) {
		t.Errorf("v2 autoscaler read through v1: %s", mustJSON(t, old))
	}
	// A v1 client's read-modify-write (PUT) keeps the memory metric.
	old["spec"].(map[string]any)["maxReplicas"] = 6
	a.must(200, "PUT", v1+"/mem", mustJSON(t, old))
	got = a.must(200, "GET", v2+"/mem", "")
	if ms := mustJSON(t, get(got, "spec", "metrics")); !strings.Contains(ms, `"memory"`) || !strings.Contains(ms, `"averageUtilization":70`) ||
		get(got, "spec", "maxReplicas") != float64(6) || get(got, "metadata", "annotations") != nil {
		t.Errorf("after a v1 PUT, v2 has: %s", mustJSON(t, got))
	}

	// Patches through v1: merge and strategic merge.
	p := a.patch(200, v1+"/mem", "application/merge-patch+json", `{"spec":{"targetCPUUtilizationPercentage":90}}`)
	if p["apiVersion"] != "autoscaling/v1" || get(p, "spec", "targetCPUUtilizationPercentage") != float64(90) {
		t.Errorf("merge patch through v1: %s", mustJSON(t, p))
	}
	a.patch(200, v1+"/mem", "application/strategic-merge-patch+json", `{"spec":{"minReplicas":3}}`)
	got = a.must(200, "GET", v2+"/mem", "")
	if ms := mustJSON(t, get(got, "spec", "metrics")); !strings.Contains(ms, `"averageUtilization":90`) || !strings.Contains(ms, `"memory"`) || get(got, "spec", "minReplicas") != float64(3) {
		t.Errorf("after v1 patches, v2 has: %s", mustJSON(t, got))
	}

	// Server-side apply through v1, creating and then changing.
	applied := a.patch(201, v1+"/ssa?fieldManager=me", "application/apply-patch+yaml", `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler",
		"metadata":{"name":"ssa"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"ssa"},"maxReplicas":3,"targetCPUUtilizationPercentage":60}}`)
	if applied["apiVersion"] != "autoscaling/v1" || get(applied, "spec", "targetCPUUtilizationPercentage") != float64(60) {
		t.Errorf("apply through v1: %s", mustJSON(t, applied))
	}
	a.patch(200, v1+"/ssa?fieldManager=me", "application/apply-patch+yaml", `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler",
		"metadata":{"name":"ssa"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"ssa"},"maxReplicas":4,"targetCPUUtilizationPercentage":65}}`)
	if got := a.must(200, "GET", v2+"/ssa", ""); get(got, "spec", "maxReplicas") != float64(4) || !strings.Contains(mustJSON(t, got), `"averageUtilization":65`) {
		t.Errorf("after a v1 apply, v2 has: %s", mustJSON(t, got))
	}

	// Status written through v2 (as the controller does) reads through v1.
	got["status"] = map[string]any{"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": []any{map[string]any{"type": "Resource",
		"resource": map[string]any{"name": "cpu", "current": map[string]any{"averageUtilization": 42, "averageValue": "84m"}}}}}
	a.must(200, "PUT", v2+"/mem/status", mustJSON(t, got))
	st := a.must(200, "GET", v1+"/mem/status", "")
	if get(st, "status", "currentCPUUtilizationPercentage") != float64(42) || get(st, "status", "currentReplicas") != float64(3) {
		t.Errorf("status through v1: %s", mustJSON(t, st))
	}

	// Lists and watches through v1 carry v1 objects.
	list := a.must(200, "GET", v1, "")
	if list["apiVersion"] != "autoscaling/v1" || !strings.Contains(mustJSON(t, list), `"targetCPUUtilizationPercentage":50`) {
		t.Errorf("v1 list: %s", mustJSON(t, list))
	}
	if code, body := a.raw("GET", v1+"?watch=true&resourceVersion=0&timeoutSeconds=1", "", nil); code != 200 ||
		!strings.Contains(string(body), `"kind":"HorizontalPodAutoscaler","apiVersion":"autoscaling/v1"`) ||
		strings.Contains(string(body), `"kind":"HorizontalPodAutoscaler","apiVersion":"autoscaling/v2"`) {
		t.Errorf("v1 watch (%d): %s", code, body)
	}

	// Tables: the same columns for both versions.
	for _, path := range []string{v1, v2} {
		if tbl := a.tableOf(path); !strings.Contains(tbl, `"name":"Targets"`) || !strings.Contains(tbl, `"cells":["web","Deployment/web","cpu: \u003cunknown\u003e/50%","1",5,0,`) {
			t.Errorf("table of %s: %s", path, tbl)
		}
	}

	// Validation names v1 fields.
	bad := a.must(422, "POST", v1, `{"metadata":{"name":"bad"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"x"},"maxReplicas":2,"targetCPUUtilizationPercentage":0}}`)
	if !strings.Contains(mustJSON(t, bad), `"field":"spec.targetCPUUtilizationPercentage"`) {
		t.Errorf("v1 validation: %s", mustJSON(t, bad))
	}

	// Discovery: both versions, v2 preferred; OpenAPI v3 has the v1 document.
	g := a.must(200, "GET", "/apis/autoscaling", "")
	if get(g, "preferredVersion", "version") != "v2" || !strings.Contains(mustJSON(t, g), `"groupVersion":"autoscaling/v1"`) {
		t.Errorf("autoscaling group: %s", mustJSON(t, g))
	}
	r1 := a.must(200, "GET", "/apis/autoscaling/v1", "")
	if !strings.Contains(mustJSON(t, r1), `"name":"horizontalpodautoscalers/status"`) {
		t.Errorf("autoscaling/v1 resources: %s", mustJSON(t, r1))
	}
	doc := a.must(200, "GET", "/openapi/v3/apis/autoscaling/v1", "")
	if !strings.Contains(mustJSON(t, doc), "targetCPUUtilizationPercentage") {
		t.Errorf("openapi v3 autoscaling/v1 lacks the v1 schema")
	}

	// Deleting through v1 answers a v1 object and removes the stored one.
	del := a.must(200, "DELETE", v1+"/web", "")
	if del["apiVersion"] != "autoscaling/v1" && del["kind"] != "Status" {
		t.Errorf("delete through v1: %s", mustJSON(t, del))
	}
	a.must(404, "GET", v2+"/web", "")
}

func (a *api) patch(want int, path, contentType, body string) map[string]any {
	a.t.Helper()
	code, m := a.do("PATCH", path, contentType, []byte(body))
	if code != want {
		a.t.Fatalf("PATCH %s = %d, want %d: %v", path, code, want, m)
	}
	return m
}

// events.k8s.io/v1 Events are the core Events under other names: one made through either API
// reads, lists (with field selectors in each API's names), watches and patches through the
// other; creation through events.k8s.io/v1 is held to its stricter rules.
func TestEventsServedAtTwoGroups(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const ev1 = "/apis/events.k8s.io/v1/namespaces/default/events"
	const core = "/api/v1/namespaces/default/events"

	made := a.must(201, "POST", ev1, `{"metadata":{"name":"e1"},"eventTime":"2026-01-02T03:04:05.000000Z","type":"Normal",
		"reason":"Scheduled","action":"Binding","note":"assigned default/web to n1","reportingController":"example.com/sched",
		"reportingInstance":"sched-1","regarding":{"kind":"Pod","namespace":"default","name":"web","apiVersion":"v1"},
		"series":{"count":2,"lastObservedTime":"2026-01-02T03:05:00.000000Z"}}`)
	if made["apiVersion"] != "events.k8s.io/v1" || made["note"] != "assigned default/web to n1" {
		t.Errorf("created through events.k8s.io/v1: %s", mustJSON(t, made))
	}
	got := a.must(200, "GET", core+"/e1", "")
	if got["apiVersion"] != "v1" || got["message"] != "assigned default/web to n1" || get(got, "involvedObject", "name") != "web" ||
		got["reportingComponent"] != "example.com/sched" || get(got, "series", "count") != float64(2) {
		t.Errorf("read through core/v1: %s", mustJSON(t, got))
	}

	// A core event (the legacy kind, with count and timestamps) reads through events.k8s.io.
	a.must(201, "POST", core, `{"metadata":{"name":"e2"},"involvedObject":{"kind":"Pod","namespace":"default","name":"db"},
		"reason":"Pulled","message":"pulled","type":"Normal","source":{"component":"kubelet","host":"n1"},"count":3,
		"firstTimestamp":"2026-01-02T03:00:00Z","lastTimestamp":"2026-01-02T03:01:00Z"}`)
	e2 := a.must(200, "GET", ev1+"/e2", "")
	if get(e2, "regarding", "name") != "db" || e2["note"] != "pulled" || e2["deprecatedCount"] != float64(3) ||
		get(e2, "deprecatedSource", "component") != "kubelet" || e2["deprecatedFirstTimestamp"] != "2026-01-02T03:00:00Z" {
		t.Errorf("core event through events.k8s.io/v1: %s", mustJSON(t, e2))
	}
	// Patching it through events.k8s.io keeps what only the core API sets.
	p := a.patch(200, ev1+"/e2", "application/merge-patch+json", `{"note":"pulled again"}`)
	if p["note"] != "pulled again" {
		t.Errorf("patch through events.k8s.io/v1: %s", mustJSON(t, p))
	}
	if got := a.must(200, "GET", core+"/e2", ""); got["message"] != "pulled again" || got["count"] != float64(3) {
		t.Errorf("after the patch, core/v1 has: %s", mustJSON(t, got))
	}

	// Field selectors in each API's names.
	l := a.must(200, "GET", ev1+"?fieldSelector=regarding.name%3Dweb", "")
	if items, _ := l["items"].([]any); len(items) != 1 || get(items[0].(map[string]any), "metadata", "name") != "e1" || l["apiVersion"] != "events.k8s.io/v1" {
		t.Errorf("events.k8s.io list by regarding.name: %s", mustJSON(t, l))
	}
	l = a.must(200, "GET", core+"?fieldSelector=involvedObject.name%3Ddb", "")
	if items, _ := l["items"].([]any); len(items) != 1 {
		t.Errorf("core list by involvedObject.name: %s", mustJSON(t, l))
	}
	a.must(400, "GET", ev1+"?fieldSelector=involvedObject.name%3Ddb", "")
	// core's "source" is the reporting controller when the event has no source (made through
	// events.k8s.io), as Kubernetes' selectable fields (the conformance Events API spec).
	for sel, want := range map[string]string{"source%3Dexample.com/sched": "e1", "source%3Dkubelet": "e2"} {
		l = a.must(200, "GET", core+"?fieldSelector="+sel, "")
		if items, _ := l["items"].([]any); len(items) != 1 || get(items[0].(map[string]any), "metadata", "name") != want {
			t.Errorf("core list by %s, want only %s: %s", sel, want, mustJSON(t, l))
		}
	}

	// Watch through events.k8s.io carries events.k8s.io objects.
	if code, body := a.raw("GET", ev1+"?watch=true&resourceVersion=0&timeoutSeconds=1", "", nil); code != 200 ||
		!strings.Contains(string(body), `"kind":"Event","apiVersion":"events.k8s.io/v1"`) || strings.Contains(string(body), `"involvedObject"`) {
		t.Errorf("events.k8s.io watch (%d): %s", code, body)
	}

	// Creation through events.k8s.io/v1 is strict (Kubernetes' ValidateEventCreate).
	bad := a.must(422, "POST", ev1, `{"metadata":{"name":"bad"},"type":"Odd","reason":"R","regarding":{"kind":"Pod","namespace":"default","name":"x"},
		"deprecatedCount":2}`)
	for _, f := range []string{`"field":"eventTime"`, `"field":"type"`, `"field":"count"`} {
		if !strings.Contains(mustJSON(t, bad), f) {
			t.Errorf("strict create lacks %s: %s", f, mustJSON(t, bad))
		}
	}

	// Tables print the core columns; discovery lists the group; OpenAPI describes it.
	if tbl := a.tableOf(ev1); !strings.Contains(tbl, "assigned default/web to n1") {
		t.Errorf("events.k8s.io table: %s", tbl)
	}
	if g := a.must(200, "GET", "/apis/events.k8s.io", ""); get(g, "preferredVersion", "version") != "v1" {
		t.Errorf("events.k8s.io group: %s", mustJSON(t, g))
	}
	if doc := a.must(200, "GET", "/openapi/v3/apis/events.k8s.io/v1", ""); !strings.Contains(mustJSON(t, doc), "deprecatedFirstTimestamp") {
		t.Errorf("openapi v3 events.k8s.io/v1 lacks the schema")
	}
}
