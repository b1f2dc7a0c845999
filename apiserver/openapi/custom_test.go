package openapi

import (
	"encoding/json"
	"reflect"
	"testing"
)

// fooSchema is the schema of the upstream conformance specs "[sig-api-machinery]
// CustomResourcePublishOpenAPI": value validations (enum, pattern) inside array items.
const fooSchema = `{"description":"Foo CRD for Testing","type":"object","properties":{
 "spec":{"type":"object","description":"Specification of Foo","properties":{
  "bars":{"description":"List of Bars and their specs.","type":"array","items":{
   "type":"object","required":["name"],"properties":{
    "name":{"description":"Name of Bar.","type":"string"},
    "feeling":{"description":"Whether Bar is feeling great.","type":"string","enum":["Great","Down"]},
    "bazs":{"description":"List of Bazs.","type":"array","items":{"type":"string"}}}}}}},
 "status":{"description":"Status of Foo","type":"object","properties":{
  "bars":{"type":"array","items":{"type":"object","properties":{
   "quxType":{"description":"Indicates to external qux type.","pattern":"in-tree|out-of-tree","type":"string"},
   "count":{"type":"integer","minimum":1,"maximum":10,"default":3},
   "tags":{"type":"array","x-kubernetes-list-type":"set","maxItems":4,"items":{"type":"string","maxLength":8}}}}}}},
 "opt":{"type":"object","nullable":true,"properties":{"a":{"type":"string"}}},
 "free":{"type":"object","x-kubernetes-preserve-unknown-fields":true,"properties":{"a":{"type":"string"}}}},
 "required":["spec","opt"],
 "x-kubernetes-validations":[{"rule":"self.spec == self.spec"}]}`

func customDefinition(t *testing.T, v3 bool) map[string]any {
	t.Helper()
	r := Resource{Group: "crd-publish-openapi-test-foo.example.com", Version: "v1", Kind: "Foo",
		Resource: "foos", Namespaced: true, ListKind: "FooList", Schema: json.RawMessage(fooSchema)}
	var doc map[string]any
	if v3 {
		doc = decode(t, V3Document("crd-publish-openapi-test-foo.example.com/v1", []Resource{r}))
		return obj(doc, "components", "schemas", "com.example.crd-publish-openapi-test-foo.v1.Foo")
	}
	doc = decode(t, V2Document([]Resource{r}))
	return obj(doc, "definitions", "com.example.crd-publish-openapi-test-foo.v1.Foo")
}

// TestCustomSchemaKeepsValueValidations: the published definition of a custom kind is its
// schema with the value validations and extensions kept, as kube-apiserver publishes it (the
// upstream specs compare the whole definition with the CRD's schema).
func TestCustomSchemaKeepsValueValidations(t *testing.T) {
	for _, v3 := range []bool{false, true} {
		def := customDefinition(t, v3)
		if def == nil {
			t.Fatalf("v3=%v: no definition", v3)
		}
		items := obj(def, "properties", "spec", "properties", "bars", "items")
		if got := obj(items, "properties", "feeling")["enum"]; !reflect.DeepEqual(got, []any{"Great", "Down"}) {
			t.Errorf("v3=%v: feeling.enum = %v", v3, got)
		}
		if got := items["required"]; !reflect.DeepEqual(got, []any{"name"}) {
			t.Errorf("v3=%v: items.required = %v", v3, got)
		}
		st := obj(def, "properties", "status", "properties", "bars", "items", "properties")
		if got := obj(st, "quxType")["pattern"]; got != "in-tree|out-of-tree" {
			t.Errorf("v3=%v: quxType.pattern = %v", v3, got)
		}
		count := obj(st, "count")
		if count["minimum"] != 1.0 || count["maximum"] != 10.0 || count["default"] != 3.0 {
			t.Errorf("v3=%v: count = %v", v3, count)
		}
		tags := obj(st, "tags")
		if tags["x-kubernetes-list-type"] != "set" || tags["maxItems"] != 4.0 || obj(tags, "items")["maxLength"] != 8.0 {
			t.Errorf("v3=%v: tags = %v", v3, tags)
		}
		if v, _ := def["x-kubernetes-validations"].([]any); len(v) != 1 {
			t.Errorf("v3=%v: x-kubernetes-validations = %v", v3, def["x-kubernetes-validations"])
		}
	}
}

// TestCustomSchemaV2Conversion: OpenAPI v2 has no nullable, and kubectl's v2 parser breaks on
// typed schemas without their items/properties; kube-apiserver's ToStructuralOpenAPIV2 rules.
func TestCustomSchemaV2Conversion(t *testing.T) {
	v2, v3 := customDefinition(t, false), customDefinition(t, true)

	opt2, opt3 := obj(v2, "properties", "opt"), obj(v3, "properties", "opt")
	if opt2["nullable"] != nil || opt2["type"] != nil || opt2["properties"] != nil {
		t.Errorf("v2 nullable field = %v, want no nullable, type or properties", opt2)
	}
	if opt3["nullable"] != true || opt3["type"] != "object" || opt3["properties"] == nil {
		t.Errorf("v3 nullable field = %v, want it as written", opt3)
	}
	if got := v2["required"]; !reflect.DeepEqual(got, []any{"spec"}) {
		t.Errorf("v2 required = %v, want [spec] (a nullable field is not required in v2)", got)
	}
	if got := v3["required"]; !reflect.DeepEqual(got, []any{"spec", "opt"}) {
		t.Errorf("v3 required = %v", got)
	}

	free2, free3 := obj(v2, "properties", "free"), obj(v3, "properties", "free")
	if free2["type"] != nil || free2["properties"] != nil || free2["x-kubernetes-preserve-unknown-fields"] != true {
		t.Errorf("v2 preserve-unknown-fields object = %v", free2)
	}
	if free3["type"] != "object" || free3["properties"] == nil {
		t.Errorf("v3 preserve-unknown-fields object = %v", free3)
	}
}

// TestCustomSchemaPreservingUnknownFields: a definition without a schema (or one preserving
// unknown fields at its root) is a bare object in v2, as kube-apiserver publishes it, and
// its schema with apiVersion, kind and metadata in v3.
func TestCustomSchemaPreservingUnknownFields(t *testing.T) {
	r := Resource{Group: "crd-publish-openapi-test-empty.example.com", Version: "v1", Kind: "E", Resource: "es",
		Namespaced: true, Schema: json.RawMessage(`{"type":"object","x-kubernetes-preserve-unknown-fields":true}`)}
	v2 := obj(decode(t, V2Document([]Resource{r})), "definitions", "com.example.crd-publish-openapi-test-empty.v1.E")
	if len(v2) != 2 || v2["type"] != "object" || v2["x-kubernetes-group-version-kind"] == nil {
		t.Errorf("v2 = %v, want only type object and the GVK", v2)
	}
	v3 := obj(decode(t, V3Document(r.Group+"/v1", []Resource{r})), "components", "schemas", "com.example.crd-publish-openapi-test-empty.v1.E")
	if v3["x-kubernetes-preserve-unknown-fields"] != true || obj(v3, "properties", "metadata") == nil {
		t.Errorf("v3 = %v", v3)
	}
}

// TestCustomSelectableFields: a custom kind's selectableFields are published on its schema
// as x-kubernetes-selectable-fields, in order, in v2 and v3 (as Kubernetes publishes them).
func TestCustomSelectableFields(t *testing.T) {
	r := Resource{Group: "tests.example.com", Version: "v1", Kind: "Shirt", Resource: "shirts", Namespaced: true,
		Schema:           json.RawMessage(`{"type":"object","properties":{"spec":{"type":"object","properties":{"color":{"type":"string"},"size":{"type":"string"}}}}}`),
		SelectableFields: []string{"spec.color", "spec.size"}}
	want := []any{map[string]any{"fieldPath": "spec.color"}, map[string]any{"fieldPath": "spec.size"}}
	v2 := obj(decode(t, V2Document([]Resource{r})), "definitions", "com.example.tests.v1.Shirt")
	v3 := obj(decode(t, V3Document(r.Group+"/v1", []Resource{r})), "components", "schemas", "com.example.tests.v1.Shirt")
	for name, s := range map[string]map[string]any{"v2": v2, "v3": v3} {
		if got := s["x-kubernetes-selectable-fields"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s x-kubernetes-selectable-fields = %v, want %v", name, got, want)
		}
	}
	r.SelectableFields = nil
	if got := obj(decode(t, V2Document([]Resource{r})), "definitions", "com.example.tests.v1.Shirt")["x-kubernetes-selectable-fields"]; got != nil {
		t.Errorf("without selectableFields: %v", got)
	}
}
