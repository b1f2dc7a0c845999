package apiserver_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

const crdsPath = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"

// widgetCRD defines widgets.example.com: namespaced, v1 (storage) and v1beta1 served, with
// status and scale subresources, defaults, printer columns.
const widgetCRD = `{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.example.com"},
  "spec": {
    "group": "example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"], "categories": ["gadgets"]},
    "versions": [
      {"name": "v1", "served": true, "storage": true,
       "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
       "additionalPrinterColumns": [{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"}, {"name": "Color", "type": "string", "jsonPath": ".spec.color"}],
       "schema": {"openAPIV3Schema": {"type": "object", "properties": {
         "spec": {"type": "object", "required": ["color"],
           "x-kubernetes-validations": [{"rule": "!has(self.size) || self.size != '0cm'", "message": "a widget has a size"}],
           "properties": {
           "color": {"type": "string", "enum": ["red", "blue"], "description": "the widget's color"},
           "replicas": {"type": "integer", "minimum": 0, "default": 1},
           "size": {"type": "string", "pattern": "^[0-9]+(cm|m)$"}}},
         "status": {"type": "object", "properties": {"replicas": {"type": "integer"}, "phase": {"type": "string"}}}}}}},
      {"name": "v1beta1", "served": true, "storage": false,
       "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}
    ]
  }
}`

func createCRD(t *testing.T, a *api, body string) {
	t.Helper()
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	name := get(m, "metadata", "name").(string)
	a.must(201, "POST", crdsPath, body)
	harness.Eventually(t, 20*time.Second, name+" established", func() (bool, string) {
		_, m := a.do("GET", crdsPath+"/"+name, "", nil)
		conds, _ := get(m, "status", "conditions").([]any)
		for _, c := range conds {
			c := c.(map[string]any)
			if c["type"] == "Established" && c["status"] == "True" {
				return true, ""
			}
		}
		return false, fmt.Sprint(get(m, "status"))
	})
}

// TestCustomResourceLifecycle: a definition becomes Established and served (discovery,
// CRUD, selectors, versions, subresources, generation, defaults, pruning, validation), and
// deleting it deletes its objects first.
func TestCustomResourceLifecycle(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, widgetCRD)

	_, crd := a.do("GET", crdsPath+"/widgets.example.com", "", nil)
	if got := get(crd, "status", "storedVersions"); fmt.Sprint(got) != "[v1]" {
		t.Errorf("storedVersions = %v", got)
	}
	if got := get(crd, "status", "acceptedNames", "kind"); got != "Widget" {
		t.Errorf("acceptedNames.kind = %v", got)
	}
	// Discovery.
	_, rl := a.do("GET", "/apis/example.com/v1", "", nil)
	if b, _ := json.Marshal(rl); !strings.Contains(string(b), `"name":"widgets/scale"`) || !strings.Contains(string(b), `"shortNames":["wd"]`) {
		t.Errorf("discovery of example.com/v1: %s", b)
	}
	_, groups := a.do("GET", "/apis", "", nil)
	if b, _ := json.Marshal(groups); !strings.Contains(string(b), `"preferredVersion":{"groupVersion":"example.com/v1","version":"v1"}`) {
		t.Errorf("/apis lacks example.com with v1 preferred: %s", b)
	}

	base := "/apis/example.com/v1/namespaces/default/widgets"
	// Create: unknown fields pruned (with a warning), defaults applied, status dropped.
	m := a.must(201, "POST", base, `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w1","labels":{"tier":"a"}},
		"spec":{"color":"red","bogus":true},"status":{"phase":"Made"},"extra":1}`)
	if get(m, "spec", "replicas") != float64(1) || get(m, "spec", "bogus") != nil || m["extra"] != nil || m["status"] != nil {
		t.Errorf("created widget: %v", m)
	}
	if get(m, "metadata", "generation") != float64(1) {
		t.Errorf("generation on create = %v", get(m, "metadata", "generation"))
	}
	// Strict field validation refuses what would be pruned, naming the field.
	code, st := a.do("POST", base+"?fieldValidation=Strict", "", []byte(`{"metadata":{"name":"w9"},"spec":{"color":"red","bogus":1}}`))
	if code != 400 || !strings.Contains(fmt.Sprint(st["message"]), `unknown field "spec.bogus"`) {
		t.Errorf("strict: %d %v", code, st)
	}
	// Schema validation names every failing field.
	code, st = a.do("POST", base, "", []byte(`{"metadata":{"name":"bad"},"spec":{"color":"green","replicas":-1,"size":"big"}}`))
	msg := fmt.Sprint(st["message"])
	for _, want := range []string{
		`Widget.example.com "bad" is invalid`,
		`spec.color: Unsupported value: "green": supported values: "red", "blue"`,
		`spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`,
		`spec.size: Invalid value: "big": spec.size in body should match '^[0-9]+(cm|m)$'`,
	} {
		if code != 422 || !strings.Contains(msg, want) {
			t.Errorf("invalid widget: %d, message lacks %q:\n%s", code, want, msg)
		}
	}
	code, st = a.do("POST", base, "", []byte(`{"metadata":{"name":"bad"},"spec":{"replicas":"two"}}`))
	msg = fmt.Sprint(st["message"])
	for _, want := range []string{`spec.color: Required value`, `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`} {
		if code != 422 || !strings.Contains(msg, want) {
			t.Errorf("mistyped widget: %d, message lacks %q:\n%s", code, want, msg)
		}
	}

	// CEL rules.
	code, st = a.do("POST", base, "", []byte(`{"metadata":{"name":"bad"},"spec":{"color":"red","size":"0cm"}}`))
	if want := `Widget.example.com "bad" is invalid: spec: Invalid value: "object": a widget has a size`; code != 422 || st["message"] != want {
		t.Errorf("CEL rule: %d %v", code, st["message"])
	}

	// The other version serves the same object under its apiVersion (None conversion).
	m = a.must(200, "GET", "/apis/example.com/v1beta1/namespaces/default/widgets/w1", "")
	if m["apiVersion"] != "example.com/v1beta1" || get(m, "spec", "color") != "red" {
		t.Errorf("v1beta1 view: %v", m)
	}
	a.must(201, "POST", "/apis/example.com/v1beta1/namespaces/default/widgets", `{"metadata":{"name":"w2","labels":{"tier":"b"}},"spec":{"color":"blue","anything":"goes"}}`)
	m = a.must(200, "GET", base+"/w2", "")
	if m["apiVersion"] != "example.com/v1" || get(m, "spec", "anything") != "goes" {
		t.Errorf("an object written as v1beta1, read as v1: %v", m)
	}

	// Selectors.
	m = a.must(200, "GET", base+"?labelSelector=tier%3Da", "")
	if items := m["items"].([]any); len(items) != 1 || get(items[0].(map[string]any), "metadata", "name") != "w1" {
		t.Errorf("label selector: %v", m["items"])
	}
	m = a.must(200, "GET", "/apis/example.com/v1/widgets?fieldSelector=metadata.name%3Dw2", "")
	if items := m["items"].([]any); len(items) != 1 || m["kind"] != "WidgetList" {
		t.Errorf("field selector across namespaces: %v", m)
	}

	// Spec writes ignore status; status writes ignore spec; generation counts spec changes.
	code, m = a.do("PATCH", base+"/w1", "application/merge-patch+json", []byte(`{"spec":{"color":"blue"},"status":{"phase":"Ignored"}}`))
	if code != 200 || get(m, "spec", "color") != "blue" || m["status"] != nil || get(m, "metadata", "generation") != float64(2) {
		t.Errorf("spec patch: %d %v", code, m)
	}
	code, m = a.do("PATCH", base+"/w1/status", "application/merge-patch+json", []byte(`{"spec":{"color":"red"},"status":{"phase":"Ready","replicas":3}}`))
	if code != 200 || get(m, "spec", "color") != "blue" || get(m, "status", "phase") != "Ready" || get(m, "metadata", "generation") != float64(2) {
		t.Errorf("status patch: %d %v", code, m)
	}
	code, m = a.do("PATCH", base+"/w1", "application/json-patch+json", []byte(`[{"op":"replace","path":"/spec/replicas","value":4}]`))
	if code != 200 || get(m, "spec", "replicas") != float64(4) {
		t.Errorf("json patch: %d %v", code, m)
	}
	if code, _ := a.do("PATCH", base+"/w1", "application/strategic-merge-patch+json", []byte(`{"spec":{}}`)); code != 415 {
		t.Errorf("strategic merge patch on a custom resource: %d, want 415", code)
	}
	// Scale.
	m = a.must(200, "GET", base+"/w1/scale", "")
	if get(m, "spec", "replicas") != float64(4) || get(m, "status", "replicas") != float64(3) || m["kind"] != "Scale" {
		t.Errorf("scale: %v", m)
	}
	code, m = a.do("PATCH", base+"/w1/scale", "application/merge-patch+json", []byte(`{"spec":{"replicas":7}}`))
	if code != 200 || get(m, "spec", "replicas") != float64(7) {
		t.Errorf("scale patch: %d %v", code, m)
	}
	if m = a.must(200, "GET", base+"/w1", ""); get(m, "spec", "replicas") != float64(7) {
		t.Errorf("after scaling: %v", m["spec"])
	}
	// Table with printer columns.
	code, raw := a.rawAccept("GET", base, "application/json;as=Table;v=v1;g=meta.k8s.io")
	if code != 200 || !strings.Contains(raw, `"name":"Replicas"`) || !strings.Contains(raw, `["w1",7,"blue"]`) {
		t.Errorf("table: %d %s", code, raw)
	}

	// A default added to the schema later shows on objects stored before it (defaults apply
	// on read), from etcd and from the watch cache.
	code, m = a.do("PATCH", crdsPath+"/widgets.example.com", "application/json-patch+json",
		[]byte(`[{"op":"add","path":"/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/size/default","value":"1m"}]`))
	if code != 200 || get(m, "metadata", "generation") != float64(2) {
		t.Fatalf("add a default to the definition: %d %v", code, m)
	}
	harness.Eventually(t, 20*time.Second, "the new default on w1", func() (bool, string) {
		_, m := a.do("GET", base+"/w1", "", nil)
		return get(m, "spec", "size") == "1m", fmt.Sprint(m["spec"])
	})

	// Deleting the definition deletes its objects first; a finalizer holds one until removed.
	if code, m := a.do("PATCH", base+"/w2", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":["example.com/hold"]}}`)); code != 200 {
		t.Fatalf("add a finalizer: %d %v", code, m)
	}
	a.do("DELETE", crdsPath+"/widgets.example.com", "", nil)
	harness.Eventually(t, 20*time.Second, "w1 deleted, w2 terminating", func() (bool, string) {
		c1, _ := a.do("GET", base+"/w1", "", nil)
		_, w2 := a.do("GET", base+"/w2", "", nil)
		return c1 == 404 && get(w2, "metadata", "deletionTimestamp") != nil, fmt.Sprint(c1, w2)
	})
	if code, m := a.do("POST", base, "", []byte(`{"metadata":{"name":"w3"},"spec":{"color":"red"}}`)); code != 405 {
		t.Errorf("create while the definition terminates: %d %v", code, m)
	}
	_, crd = a.do("GET", crdsPath+"/widgets.example.com", "", nil)
	if fmt.Sprint(get(crd, "metadata", "finalizers")) != "[customresourcecleanup.apiextensions.k8s.io]" {
		t.Errorf("terminating definition: %v", get(crd, "metadata"))
	}
	if code, m := a.do("PATCH", base+"/w2", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`)); code != 200 {
		t.Fatalf("remove the finalizer: %d %v", code, m)
	}
	harness.Eventually(t, 20*time.Second, "definition gone", func() (bool, string) {
		code, _ := a.do("GET", crdsPath+"/widgets.example.com", "", nil)
		c2, _ := a.do("GET", "/apis/example.com/v1", "", nil)
		return code == 404 && c2 == 404, fmt.Sprint(code, c2)
	})
}

// TestCustomResourceDefinitionInvalid: a definition that breaks Kubernetes' rules is refused
// with every reason named, and nothing is served.
func TestCustomResourceDefinitionInvalid(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	code, st := a.do("POST", crdsPath, "", []byte(`{"metadata":{"name":"things.example.com"},"spec":{"group":"example.com","scope":"Galactic",
		"names":{"plural":"thingz","kind":"Thing"},
		"versions":[
		  {"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{
		    "spec":{"properties":{"a":{"type":"strin"}},"x-kubernetes-validations":[{"rule":"self.a >"}]}}}}},
		  {"name":"v2","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}}`))
	msg := fmt.Sprint(st["message"])
	for _, want := range []string{
		`metadata.name: Invalid value: "things.example.com": must be spec.names.plural+"."+spec.group`,
		`spec.scope: Unsupported value: "Galactic": supported values: "Cluster", "Namespaced"`,
		`spec.versions: Invalid value: `,
		`must have exactly one version marked as storage version`,
		`spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields`,
		`spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[a].type: Unsupported value: "strin"`,
		`spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule: Invalid value: "self.a >": compilation failed`,
	} {
		if code != 422 || !strings.Contains(msg, want) {
			t.Errorf("invalid definition: %d, message lacks %q:\n%s", code, want, msg)
		}
	}
	if code, _ := a.do("GET", "/apis/example.com/v1", "", nil); code != 404 {
		t.Errorf("a refused definition is served: %d", code)
	}
}
