package apiserver_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

const applyCT = "application/apply-patch+yaml"

// fieldsOf returns the FieldsV1 of the managedFields entry of manager/operation, as JSON.
func fieldsOf(t *testing.T, obj map[string]any, manager, operation string) string {
	t.Helper()
	mfs, _ := get(obj, "metadata", "managedFields").([]any)
	for _, e := range mfs {
		e := e.(map[string]any)
		if e["manager"] == manager && e["operation"] == operation {
			b, _ := json.Marshal(e["fieldsV1"])
			return string(b)
		}
	}
	return ""
}

func managers(obj map[string]any) []string {
	var out []string
	mfs, _ := get(obj, "metadata", "managedFields").([]any)
	for _, e := range mfs {
		e := e.(map[string]any)
		out = append(out, e["manager"].(string)+"/"+e["operation"].(string))
	}
	return out
}

// TestServerSideApply: apply creates, records ownership, conflicts with another manager's
// fields (409 naming them), force takes them, fields no longer applied are removed, and
// creates and updates record managedFields too.
func TestServerSideApply(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const path = "/api/v1/namespaces/default/configmaps/ssa"
	cfg := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  labels:\n    app: web\ndata:\n  a: \"1\"\n  b: \"2\"\n"

	// fieldManager is required.
	code, m := a.do("PATCH", path, applyCT, []byte(cfg))
	if code != 422 || m["message"] != `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch` {
		t.Fatalf("apply without fieldManager: %d %v", code, m["message"])
	}
	code, m = a.do("PATCH", path+"?fieldManager=alice", applyCT, []byte(cfg))
	if code != 201 {
		t.Fatalf("apply create: %d %v", code, m)
	}
	if got, want := fieldsOf(t, m, "alice", "Apply"), `{"f:data":{"f:a":{},"f:b":{}},"f:metadata":{"f:labels":{"f:app":{}}}}`; got != want {
		t.Fatalf("alice's fields = %s, want %s", got, want)
	}

	// bob changes a field alice applied: conflict.
	bob := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"9\"\n  c: \"3\"\n"
	code, m = a.do("PATCH", path+"?fieldManager=bob", applyCT, []byte(bob))
	if code != 409 || m["message"] != `Apply failed with 1 conflict: conflict with "alice": .data.a` {
		t.Fatalf("conflicting apply: %d %v", code, m["message"])
	}
	causes := get(m, "details", "causes").([]any)
	if c := causes[0].(map[string]any); c["reason"] != "FieldManagerConflict" || c["field"] != ".data.a" || c["message"] != `conflict with "alice"` {
		t.Fatalf("cause = %v", c)
	}
	// Applying the same value is shared ownership, not a conflict.
	code, m = a.do("PATCH", path+"?fieldManager=bob", applyCT, []byte(strings.Replace(bob, `"9"`, `"1"`, 1)))
	if code != 200 {
		t.Fatalf("co-owning apply: %d %v", code, m)
	}
	// force takes the field.
	code, m = a.do("PATCH", path+"?fieldManager=bob&force=true", applyCT, []byte(bob))
	if code != 200 || get(m, "data", "a") != "9" {
		t.Fatalf("forced apply: %d %v", code, m)
	}
	if got, want := fieldsOf(t, m, "alice", "Apply"), `{"f:data":{"f:b":{}},"f:metadata":{"f:labels":{"f:app":{}}}}`; got != want {
		t.Fatalf("alice after force = %s, want %s", got, want)
	}

	// alice stops applying b and the label: removed (no one else owns them).
	code, m = a.do("PATCH", path+"?fieldManager=alice", applyCT, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n"))
	if code != 200 {
		t.Fatalf("shrinking apply: %d %v", code, m)
	}
	if d := get(m, "data").(map[string]any); len(d) != 2 || d["a"] != "9" || d["c"] != "3" || get(m, "metadata", "labels") != nil {
		t.Fatalf("after alice dropped b and the label: data %v labels %v", d, get(m, "metadata", "labels"))
	}

	// A merge patch records an Update entry for its manager (from the User-Agent without ?fieldManager=).
	code, m = a.do("PATCH", path, "application/merge-patch+json", []byte(`{"data":{"d":"4"}}`))
	if code != 200 {
		t.Fatalf("merge patch: %d %v", code, m)
	}
	if got := fieldsOf(t, m, "Go-http-client", "Update"); got != `{"f:data":{"f:d":{}}}` {
		t.Fatalf("merge patch entry = %s (managers %v)", got, managers(m))
	}
	t.Logf("%v", get(m, "metadata", "managedFields"))
}

// TestServerSideApplySharedList: two managers apply different containers of one keyed list;
// each owns its item (k:{"name":...}), and a manager dropping its item removes only that one.
// Status writes are tracked under the status subresource; managedFields sent on update replace
// the stored ones, and an empty list clears them.
func TestServerSideApplySharedList(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	const path = "/apis/apps/v1/namespaces/default/deployments/shared"
	deploy := func(containers string) []byte {
		return []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shared"},"spec":{"selector":{"matchLabels":{"app":"s"}},"template":{"metadata":{"labels":{"app":"s"}},"spec":{"containers":[` + containers + `]}}}}`)
	}
	if code, m := a.do("PATCH", path+"?fieldManager=one", applyCT, deploy(`{"name":"a","image":"img-a","ports":[{"containerPort":80}]}`)); code != 201 {
		t.Fatalf("apply one: %d %v", code, m)
	}
	// Only the items, with the list's own shape for two (sidecar-style) appliers.
	code, m := a.do("PATCH", path+"?fieldManager=two", applyCT, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shared"},"spec":{"template":{"spec":{"containers":[{"name":"b","image":"img-b"}]}}}}`))
	if code != 200 {
		t.Fatalf("apply two: %d %v", code, m)
	}
	names := func(m map[string]any) string {
		var out []string
		for _, c := range get(m, "spec", "template", "spec", "containers").([]any) {
			out = append(out, c.(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	if got := names(m); got != "a,b" {
		t.Fatalf("containers = %s, want a,b", got)
	}
	if got, want := fieldsOf(t, m, "two", "Apply"), `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"b\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`; got != want {
		t.Fatalf("two's fields = %s\nwant %s", got, want)
	}
	one := fieldsOf(t, m, "one", "Apply")
	if !strings.Contains(one, `"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}`) || !strings.Contains(one, `"f:selector":{}`) {
		t.Fatalf("one's fields = %s", one)
	}
	// Re-applying the same configuration (port without its defaulted protocol) changes nothing.
	rv := get(m, "metadata", "resourceVersion")
	code, m = a.do("PATCH", path+"?fieldManager=one", applyCT, deploy(`{"name":"a","image":"img-a","ports":[{"containerPort":80}]}`))
	if code != 200 || get(m, "metadata", "resourceVersion") != rv || names(m) != "a,b" {
		t.Fatalf("idempotent apply: %d rv %v→%v containers %s", code, rv, get(m, "metadata", "resourceVersion"), names(m))
	}
	// two gives up its container: b goes, a stays.
	code, m = a.do("PATCH", path+"?fieldManager=two", applyCT, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shared"}}`))
	if code != 200 || names(m) != "a" {
		t.Fatalf("after two dropped b: %d %s", code, names(m))
	}

	// A status write is the status subresource's manager's.
	m["status"] = map[string]any{"replicas": 3}
	body, _ := json.Marshal(m)
	code, m = a.do("PUT", path+"/status?fieldManager=ctrl", "", body)
	if code != 200 {
		t.Fatalf("status update: %d %v", code, m)
	}
	var found bool
	for _, e := range get(m, "metadata", "managedFields").([]any) {
		e := e.(map[string]any)
		if e["manager"] == "ctrl" {
			found = e["subresource"] == "status" && e["operation"] == "Update" && strings.Contains(jsonString(e["fieldsV1"]), `"f:status":{"f:replicas":{}}`)
			if !found {
				t.Fatalf("ctrl's entry = %v", e)
			}
		}
	}
	if !found {
		t.Fatalf("no entry for ctrl: %v", managers(m))
	}

	// managedFields: [] on update clears them.
	md := m["metadata"].(map[string]any)
	md["managedFields"] = []any{}
	body, _ = json.Marshal(m)
	code, m = a.do("PUT", path+"?fieldManager=admin", "", body)
	if code != 200 || get(m, "metadata", "managedFields") != nil {
		t.Fatalf("reset: %d %v", code, get(m, "metadata", "managedFields"))
	}
	// An apply that sets managedFields is refused.
	code, m = a.do("PATCH", path+"?fieldManager=one", applyCT, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shared","managedFields":[]}}`))
	if code != 400 || m["message"] != "metadata.managedFields must be nil" {
		t.Fatalf("apply with managedFields: %d %v", code, m["message"])
	}
	// A field the schema does not declare: Kubernetes' typed-patch error.
	code, m = a.do("PATCH", path+"?fieldManager=one", applyCT, []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"shared"},"spec":{"bogus":1}}`))
	if code != 500 || m["message"] != "failed to create typed patch object (default/shared; apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema" {
		t.Fatalf("apply with an unknown field: %d %v", code, m["message"])
	}
	// CBOR apply patches are not spoken: 415, so clients fall back to YAML.
	if code, _ := a.do("PATCH", path+"?fieldManager=one", "application/apply-patch+cbor", []byte{0xa0}); code != 415 {
		t.Fatalf("cbor apply: %d", code)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// portsCRD has a listType=map list keyed by name and protocol (protocol defaulted), a set,
// an atomic list and a status subresource.
const portsCRD = `{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
 "metadata":{"name":"gateways.example.com"},
 "spec":{"group":"example.com","scope":"Namespaced","names":{"plural":"gateways","kind":"Gateway"},
  "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object","properties":{
   "spec":{"type":"object","properties":{
    "listeners":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name","protocol"],
      "items":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},"protocol":{"type":"string","default":"TCP"},"port":{"type":"integer"}}}},
    "tags":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}},
    "args":{"type":"array","items":{"type":"string"}}}},
   "status":{"type":"object","properties":{"ready":{"type":"boolean"}}}}}}}]}}`

// TestServerSideApplyCustomResource: ownership of a custom resource's list items follows the
// schema's x-kubernetes-list-type and list-map-keys (with a key's default), status is not
// tracked on the main resource.
func TestServerSideApplyCustomResource(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, portsCRD)
	const path = "/apis/example.com/v1/namespaces/default/gateways/gw"
	code, m := a.do("PATCH", path+"?fieldManager=one", applyCT, []byte(`{"apiVersion":"example.com/v1","kind":"Gateway","metadata":{"name":"gw"},
		"spec":{"listeners":[{"name":"http","port":80}],"tags":["a"],"args":["x"]},"status":{"ready":true}}`))
	if code != 201 {
		t.Fatalf("apply one: %d %v", code, m)
	}
	if got, want := fieldsOf(t, m, "one", "Apply"), `{"f:spec":{"f:args":{},"f:listeners":{"k:{\"name\":\"http\",\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{}}},"f:tags":{"v:\"a\"":{}}}}`; got != want {
		t.Fatalf("one's fields = %s\nwant %s", got, want)
	}
	code, m = a.do("PATCH", path+"?fieldManager=two", applyCT, []byte(`{"apiVersion":"example.com/v1","kind":"Gateway","metadata":{"name":"gw"},
		"spec":{"listeners":[{"name":"http","protocol":"UDP","port":53}],"tags":["b"]}}`))
	if code != 200 {
		t.Fatalf("apply two: %d %v", code, m)
	}
	if l := get(m, "spec", "listeners").([]any); len(l) != 2 {
		t.Fatalf("listeners = %v", l)
	}
	if tags := get(m, "spec", "tags").([]any); len(tags) != 2 {
		t.Fatalf("tags = %v", tags)
	}
	// An apply to /status is the status subresource's.
	code, m = a.do("PATCH", path+"/status?fieldManager=ctrl", applyCT, []byte(`{"apiVersion":"example.com/v1","kind":"Gateway","metadata":{"name":"gw"},"status":{"ready":true}}`))
	if code != 200 || get(m, "status", "ready") != true || fieldsOf(t, m, "ctrl", "Apply") != `{"f:status":{"f:ready":{}}}` {
		t.Fatalf("status apply: %d %v %v", code, get(m, "status"), managers(m))
	}
	// Keys given twice in the YAML: refused under Strict with sigs.k8s.io/yaml's line, as
	// Kubernetes (conformance: "should detect duplicates in a CR when preserving unknown
	// fields"); applied with a warning otherwise.
	dup := []byte("apiVersion: example.com/v1\nkind: Gateway\nmetadata:\n  name: gw\nspec:\n  args: [x]\n  args: [x]\n")
	code, m = a.do("PATCH", path+"?fieldManager=one&fieldValidation=Strict", "application/apply-patch+yaml", dup)
	if msg, _ := m["message"].(string); code != 400 || !strings.Contains(msg, `error strict decoding YAML`) || !strings.Contains(msg, `line 7: key "args" already set in map`) {
		t.Errorf("duplicate key under Strict: %d %v", code, m["message"])
	}
	if code, m = a.do("PATCH", path+"?fieldManager=one", "application/apply-patch+yaml", dup); code != 200 {
		t.Errorf("duplicate key under Warn: %d %v", code, m["message"])
	}
	// The atomic list is one field: two applying another value conflicts with one.
	code, m = a.do("PATCH", path+"?fieldManager=two", applyCT, []byte(`{"apiVersion":"example.com/v1","kind":"Gateway","metadata":{"name":"gw"},"spec":{"args":["y"]}}`))
	if code != 409 || m["message"] != `Apply failed with 1 conflict: conflict with "one": .spec.args` {
		t.Fatalf("atomic list conflict: %d %v", code, m["message"])
	}
}
