package fieldmanager

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := decodeValue([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func setJSON(t *testing.T, s *Set) string {
	t.Helper()
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	podType    = FromGoType(reflect.TypeFor[core.Pod](), KubernetesOverrides())
	deployType = FromGoType(reflect.TypeFor[apps.Deployment](), KubernetesOverrides())
	cmType     = FromGoType(reflect.TypeFor[core.ConfigMap](), KubernetesOverrides())
)

// TestFieldsV1RoundTrip: FieldsV1 written by Kubernetes reads back byte for byte (element
// order: fields, keys, values, indexes; "." first for a member with children).
func TestFieldsV1RoundTrip(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`{"f:data":{".":{},"f:a":{},"f:b":{}}}`,
		`{"f:metadata":{"f:finalizers":{".":{},"v:\"a\"":{},"v:\"b\"":{}},"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}`,
		`{"f:spec":{"f:x":{"i:0":{},"i:2":{},"i:10":{}}}}`,
		`{"f:a":{},"f:b":{"f:c":{}}}`,
	} {
		var s Set
		if err := s.UnmarshalJSON([]byte(in)); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if out := setJSON(t, &s); out != in {
			t.Errorf("round trip:\n in %s\nout %s", in, out)
		}
	}
}

func TestSetOperations(t *testing.T) {
	p := func(s string) Path {
		var out Path
		for _, f := range strings.Split(s, ".") {
			out = append(out, fieldPE(f))
		}
		return out
	}
	a := NewSet(p("spec.replicas"), p("spec.paused"), p("metadata.labels.app"))
	b := NewSet(p("spec.replicas"), p("data.x"))
	for _, tc := range []struct {
		name string
		got  *Set
		want string
	}{
		{"union", a.Union(b), `{"f:data":{"f:x":{}},"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:paused":{},"f:replicas":{}}}`},
		{"difference", a.Difference(b), `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:paused":{}}}`},
		{"intersection", a.Intersection(b), `{"f:spec":{"f:replicas":{}}}`},
	} {
		if got := setJSON(t, tc.got); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.name, got, tc.want)
		}
	}
	if !a.Has(p("spec.replicas")) || a.Has(p("spec")) || !NewSet().Empty() {
		t.Error("Has/Empty")
	}
	var paths []string
	for _, q := range a.Paths() {
		paths = append(paths, q.String())
	}
	if got := strings.Join(paths, " "); got != ".metadata.labels.app .spec.paused .spec.replicas" {
		t.Errorf("Paths = %s", got)
	}
}

// TestFieldSet: what an applied configuration owns.
func TestFieldSet(t *testing.T) {
	for _, tc := range []struct {
		name, obj, want string
		typ             *Type
	}{
		{"map entries and scalars", `{"metadata":{"labels":{"a":"1"}},"data":{"k":"v"}}`, `{"f:data":{"f:k":{}},"f:metadata":{"f:labels":{"f:a":{}}}}`, cmType},
		{"keyed list items", `{"spec":{"containers":[{"name":"c","image":"i","env":[{"name":"E","value":"1"}]}]}}`,
			`{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:env":{"k:{\"name\":\"E\"}":{".":{},"f:name":{},"f:value":{}}},"f:image":{},"f:name":{}}}}}`, podType},
		{"atomic lists and structs", `{"spec":{"containers":[{"name":"c","args":["a","b"]}],"tolerations":[{"key":"k"}]}}`,
			`{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:args":{},"f:name":{}}},"f:tolerations":{}}}`, podType},
		{"sets", `{"metadata":{"finalizers":["b","a"]}}`, `{"f:metadata":{"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}}}}`, podType},
		{"label selector is atomic", `{"spec":{"selector":{"matchLabels":{"a":"b"}}}}`, `{"f:spec":{"f:selector":{}}}`, deployType},
		{"empty values are owned", `{"metadata":{"labels":{}},"data":null}`, `{"f:data":{},"f:metadata":{"f:labels":{}}}`, cmType},
		{"port keys with the protocol default", `{"spec":{"containers":[{"name":"c","ports":[{"containerPort":80}]}]}}`,
			`{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}`, podType},
	} {
		s, err := FieldSet(obj(t, tc.obj), tc.typ)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := setJSON(t, s); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct{ obj, want string }{
		{`{"spec":{"bogus":1}}`, ".spec.bogus: field not declared in schema"},
		// Every unknown field is reported, as structured-merge-diff's ValidationErrors.
		{`{"spec":{"bogus":1,"containers":[{"name":"a","odd":2}]},"extra":3}`,
			"errors:\n  .extra: field not declared in schema\n  .spec.bogus: field not declared in schema\n  .spec.containers[name=\"a\"].odd: field not declared in schema"},
		{`{"spec":{"containers":[{"image":"x"}]}}`, `.spec.containers: element 0: associative list with keys has an element that omits key field "name" (and doesn't have default value)`},
	} {
		if _, err := FieldSet(obj(t, tc.obj), podType); err == nil || err.Error() != tc.want {
			t.Errorf("FieldSet(%s) = %v, want %s", tc.obj, err, tc.want)
		}
	}
}

// TestMerge: configuration wins on scalars and atomic values, keyed lists merge by key.
func TestMerge(t *testing.T) {
	for _, tc := range []struct{ name, live, config, want string }{
		{"scalars and maps", `{"data":{"a":"1","b":"2"}}`, `{"data":{"a":"9","c":"3"}}`, `{"data":{"a":"9","b":"2","c":"3"}}`},
		{"keyed list merges by key", `{"spec":{"containers":[{"name":"a","image":"1"},{"name":"b","image":"2"}]}}`, `{"spec":{"containers":[{"name":"b","image":"3"},{"name":"c","image":"4"}]}}`,
			`{"spec":{"containers":[{"image":"1","name":"a"},{"image":"3","name":"b"},{"image":"4","name":"c"}]}}`},
		{"atomic list replaces", `{"spec":{"containers":[{"name":"a","args":["x","y"]}]}}`, `{"spec":{"containers":[{"name":"a","args":["z"]}]}}`, `{"spec":{"containers":[{"args":["z"],"name":"a"}]}}`},
		{"set unions", `{"metadata":{"finalizers":["a","b"]}}`, `{"metadata":{"finalizers":["c","a"]}}`, `{"metadata":{"finalizers":["c","a","b"]}}`},
	} {
		got, err := Merge(obj(t, tc.live), obj(t, tc.config), podType)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if b, _ := json.Marshal(got); string(b) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, b, tc.want)
		}
	}
	if _, err := configFieldSet(obj(t, `{"spec":{"containers":[{"name":"a"},{"name":"a"}]}}`), podType); err == nil || !strings.Contains(err.Error(), `duplicate entries for key [name="a"]`) {
		t.Errorf("duplicate keys: %v", err)
	}
}

func req() *Request {
	return &Request{Type: deployType, APIVersion: "apps/v1", Now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func entries(t *testing.T, raw []json.RawMessage) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range raw {
		var e Entry
		json.Unmarshal(r, &e)
		out[e.Manager+"/"+e.Operation+"/"+e.Subresource] = string(e.FieldsV1)
	}
	return out
}

func withManaged(o map[string]any, raw []json.RawMessage) map[string]any {
	list := make([]any, len(raw))
	for i, r := range raw {
		v, _ := decodeValue(r)
		list[i] = v
	}
	o["metadata"].(map[string]any)["managedFields"] = list
	return o
}

// TestApplyScenarios: ownership, conflicts, force, pruning and updates, end to end.
func TestApplyScenarios(t *testing.T) {
	base := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":%s,"template":{"spec":{"containers":[%s]}}}}`
	cfg := func(replicas, containers string) map[string]any {
		return obj(t, strings.Replace(strings.Replace(base, "%s", replicas, 1), "%s", containers, 1))
	}
	empty := obj(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{}}`)
	r := req()

	live, mf, changed, err := r.Apply(empty, cfg("1", `{"name":"a","image":"x"}`), "alice", false)
	if err != nil || !changed {
		t.Fatalf("create: %v %v", err, changed)
	}
	if got := entries(t, mf)["alice/Apply/"]; got != `{"f:spec":{"f:replicas":{},"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"a\"}":{".":{},"f:image":{},"f:name":{}}}}}}}` {
		t.Fatalf("alice = %s", got)
	}
	live = withManaged(live, mf)

	// bob changes replicas and alice's image: two conflicts, grouped and ordered.
	_, _, _, err = r.Apply(live, cfg("3", `{"name":"a","image":"y"}`), "bob", false)
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Error() != "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"a\"].image" {
		t.Fatalf("conflicts: %v", err)
	}
	// An Update manager is named with its version.
	upd, err := r.Update(live, withManaged(cfg("5", `{"name":"a","image":"x"}`), nil), "kubectl-edit")
	if err != nil {
		t.Fatal(err)
	}
	if e := entries(t, upd); e["kubectl-edit/Update/"] != `{"f:spec":{"f:replicas":{}}}` || strings.Contains(e["alice/Apply/"], "replicas") {
		t.Fatalf("after update: %v", e)
	}
	edited := withManaged(cfg("5", `{"name":"a","image":"x"}`), upd)
	_, _, _, err = r.Apply(edited, cfg("1", `{"name":"a","image":"x"}`), "alice", false)
	if !errors.As(err, &ce) || ce.Error() != `Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas` {
		t.Fatalf("conflict with an updater: %v", err)
	}
	// force takes it.
	forced, mf, _, err := r.Apply(edited, cfg("1", `{"name":"a","image":"x"}`), "alice", true)
	if err != nil || forced["spec"].(map[string]any)["replicas"] != json.Number("1") {
		t.Fatalf("force: %v %v", err, forced["spec"])
	}
	if e := entries(t, mf); e["kubectl-edit/Update/"] != "" {
		t.Fatalf("kubectl-edit kept fields after force: %v", e)
	}
	// Dropping the container from the configuration removes it, and the structs no one owns
	// anything in any more go with it (as in Kubernetes).
	live = withManaged(forced, mf)
	pruned, _, _, err := r.Apply(live, cfg("1", ""), "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(pruned["spec"]); string(b) != `{"replicas":1}` {
		t.Fatalf("after alice dropped the container: %s", b)
	}
	pruned, _, _, err = r.Apply(live, obj(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`), "alice", false)
	if err != nil || pruned["spec"] != nil {
		t.Fatalf("after alice applied nothing: %v %v", err, pruned["spec"])
	}
}

// TestLastAppliedUpgrade: kubectl's first server-side apply over client-side apply takes the
// fields the annotation holds without conflict and keeps the annotation current.
func TestLastAppliedUpgrade(t *testing.T) {
	r := &Request{Type: cmType, APIVersion: "v1", Now: time.Now()}
	la := `{\"apiVersion\":\"v1\",\"data\":{\"a\":\"1\"},\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":{},\"name\":\"c\"}}\n`
	live := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","annotations":{"`+LastAppliedAnnotation+`":"`+la+`"}},"data":{"a":"1"}}`)
	mf, err := r.Update(obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`), live, "kubectl-client-side-apply")
	if err != nil {
		t.Fatal(err)
	}
	live = withManaged(live, mf)
	config := obj(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"a":"2"}}`)
	if _, _, _, err := r.Apply(live, config, "someone-else", false); err == nil {
		t.Fatal("another manager took client-side apply's field without conflict")
	}
	out, _, _, err := r.Apply(live, config, "kubectl", false)
	if err != nil {
		t.Fatalf("kubectl's upgrade: %v", err)
	}
	ann := out["metadata"].(map[string]any)["annotations"].(map[string]any)[LastAppliedAnnotation]
	if ann != `{"apiVersion":"v1","data":{"a":"2"},"kind":"ConfigMap","metadata":{"name":"c"}}`+"\n" {
		t.Fatalf("annotation = %q", ann)
	}
}
