package openapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/policy"
)

var testResources = []Resource{
	{Version: "v1", Kind: "Pod", Resource: "pods", Namespaced: true, Type: reflect.TypeFor[core.Pod](),
		Subresources: []string{"status", "binding", "eviction", "log", "exec"},
		SubresourceTypes: map[string]reflect.Type{
			"binding":  reflect.TypeFor[core.Binding](),
			"eviction": reflect.TypeFor[policy.Eviction](),
		}},
	{Version: "v1", Kind: "Node", Resource: "nodes", Type: reflect.TypeFor[core.Node](), Subresources: []string{"status"}},
	{Version: "v1", Kind: "Namespace", Resource: "namespaces", Type: reflect.TypeFor[core.Namespace](), Subresources: []string{"status"},
		Verbs: []string{"create", "delete", "get", "list", "patch", "update", "watch"}},
	{Version: "v1", Kind: "Service", Resource: "services", Namespaced: true, Type: reflect.TypeFor[core.Service](), Subresources: []string{"status"}},
	{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true, Type: reflect.TypeFor[apps.Deployment](),
		Subresources:     []string{"status", "scale"},
		SubresourceTypes: map[string]reflect.Type{"scale": reflect.TypeFor[autoscaling.Scale]()}},
	{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease", Resource: "leases", Namespaced: true, Type: reflect.TypeFor[coordination.Lease]()},
}

type gvr struct{ group, version, resource string }

type gvk struct{ group, version, kind string }

func decode(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	return m
}

func obj(v any, keys ...string) map[string]any {
	for _, k := range keys {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	m, _ := v.(map[string]any)
	return m
}

// walk calls f on every JSON object in v.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, e := range v {
			walk(e, f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}

func checkRefs(t *testing.T, doc map[string]any, prefix string, defs map[string]any) {
	t.Helper()
	n := 0
	walk(doc, func(m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		n++
		if !strings.HasPrefix(ref, prefix) {
			t.Errorf("$ref %q does not start with %q", ref, prefix)
		} else if defs[strings.TrimPrefix(ref, prefix)] == nil {
			t.Errorf("$ref %q does not resolve", ref)
		}
	})
	if n == 0 {
		t.Error("no $ref at all")
	}
}

func TestV3IndexPointsAtHashedDocuments(t *testing.T) {
	index := decode(t, V3Index(testResources))
	paths := obj(index, "paths")
	want := map[string]string{"api/v1": "v1", "apis/apps/v1": "apps/v1", "apis/coordination.k8s.io/v1": "coordination.k8s.io/v1"}
	if len(paths) != len(want) {
		t.Errorf("index paths = %v, want %v", paths, want)
	}
	for p, gv := range want {
		url, _ := obj(paths, p)["serverRelativeURL"].(string)
		if wantURL := "/openapi/v3/" + p + "?hash=" + Hash(V3Document(gv, testResources)); url != wantURL {
			t.Errorf("%s: serverRelativeURL = %q, want %q", p, url, wantURL)
		}
	}
	// The index path names the same document as the group version.
	if string(V3Document("apis/apps/v1", testResources)) != string(V3Document("apps/v1", testResources)) {
		t.Error(`V3Document("apis/apps/v1") differs from V3Document("apps/v1")`)
	}
}

func TestV3DocumentRefsResolve(t *testing.T) {
	for _, gv := range GroupVersions(testResources) {
		doc := decode(t, V3Document(gv, testResources))
		if doc["openapi"] != "3.0.0" {
			t.Errorf("%s: openapi = %v", gv, doc["openapi"])
		}
		checkRefs(t, doc, "#/components/schemas/", obj(doc, "components", "schemas"))
	}
}

func TestV3DocumentOnlyHasItsGroupVersion(t *testing.T) {
	doc := decode(t, V3Document("apps/v1", testResources))
	for p := range obj(doc, "paths") {
		if !strings.HasPrefix(p, "/apis/apps/v1/") {
			t.Errorf("apps/v1 document has path %s", p)
		}
	}
	schemas := obj(doc, "components", "schemas")
	for _, name := range []string{"io.k8s.api.apps.v1.Deployment", "io.k8s.api.apps.v1.DeploymentList", "io.k8s.api.core.v1.PodSpec",
		"io.k8s.api.autoscaling.v1.Scale", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"} {
		if schemas[name] == nil {
			t.Errorf("apps/v1 document lacks schema %s", name)
		}
	}
	if schemas["io.k8s.api.core.v1.Pod"] != nil {
		t.Error("apps/v1 document has the Pod kind, which only core/v1 serves")
	}
}

func TestSchemaShapes(t *testing.T) {
	doc := decode(t, V3Document("v1", testResources))
	schemas := obj(doc, "components", "schemas")
	pod := obj(schemas, "io.k8s.api.core.v1.Pod")

	gvks, _ := pod["x-kubernetes-group-version-kind"].([]any)
	if want := []any{map[string]any{"group": "", "version": "v1", "kind": "Pod"}}; !reflect.DeepEqual(gvks, want) {
		t.Errorf("Pod GVK = %v, want %v", gvks, want)
	}
	if d, _ := pod["description"].(string); d == "" {
		t.Error("Pod has no description")
	}
	metadata := obj(pod, "properties", "metadata")
	if ref := obj(metadata["allOf"].([]any)[0])["$ref"]; ref != "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
		t.Errorf("Pod.metadata refers to %v", ref)
	}
	if obj(pod, "properties", "kind")["type"] != "string" || obj(pod, "properties", "apiVersion")["description"] == nil {
		t.Error("TypeMeta's fields are not inlined into Pod with their descriptions")
	}

	containers := obj(schemas, "io.k8s.api.core.v1.PodSpec", "properties", "containers")
	if containers["type"] != "array" || containers["x-kubernetes-patch-merge-key"] != "name" || containers["x-kubernetes-patch-strategy"] != "merge" {
		t.Errorf("PodSpec.containers = %v, want an array merged by name", containers)
	}
	if !slices.Contains(obj(schemas, "io.k8s.api.core.v1.PodSpec")["required"].([]any), any("containers")) {
		t.Error("PodSpec.containers (no omitempty) is not required")
	}
	if slices.Contains(obj(schemas, "io.k8s.api.core.v1.PodSpec")["required"].([]any), any("nodeName")) {
		t.Error("PodSpec.nodeName (omitempty) is required")
	}

	time := obj(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Time")
	if time["type"] != "string" || time["format"] != "date-time" {
		t.Errorf("Time = %v", time)
	}
	ios := obj(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString")
	if ios["x-kubernetes-int-or-string"] != true || len(ios["oneOf"].([]any)) != 2 {
		t.Errorf("IntOrString = %v", ios)
	}
	if q := obj(schemas, "io.k8s.apimachinery.pkg.api.resource.Quantity"); len(q["oneOf"].([]any)) != 2 {
		t.Errorf("Quantity = %v", q)
	}
	labels := obj(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "properties", "labels")
	if labels["type"] != "object" || obj(labels, "additionalProperties")["type"] != "string" {
		t.Errorf("ObjectMeta.labels = %v", labels)
	}
	list := obj(schemas, "io.k8s.api.core.v1.PodList")
	if obj(list, "properties", "items", "items")["$ref"] != "#/components/schemas/io.k8s.api.core.v1.Pod" {
		t.Errorf("PodList.items = %v", obj(list, "properties", "items"))
	}
	if gvks, _ := list["x-kubernetes-group-version-kind"].([]any); len(gvks) != 1 || obj(gvks[0])["kind"] != "PodList" {
		t.Errorf("PodList GVK = %v", gvks)
	}
}

// reflectTest exercises the reflection rules on a type of its own.
type reflectTest struct {
	Embedded `json:",inline"`
	Named    Embedded          `json:"named"`
	Ptr      *string           `json:"ptr"`
	Opt      int32             `json:"opt,omitempty"`
	Req      int64             `json:"req"`
	Skipped  string            `json:"-"`
	hidden   string            //nolint:unused // unexported fields are not serialized
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Any      any               `json:"any,omitempty"`
	Bytes    []byte            `json:"bytes,omitempty"`
	Map      map[string][]bool `json:"map,omitempty"`
	Self     *reflectTest      `json:"self,omitempty" doc:"a reference to another one"`
	NoTag    float64
}

type Embedded struct {
	Inner string `json:"inner,omitempty"`
}

func TestReflectionRules(t *testing.T) {
	b := newBuilder(true, nil)
	name := b.define(reflect.TypeFor[reflectTest]())
	s := b.defs[name]
	var props []string
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.Sort(props)
	if want := []string{"NoTag", "any", "bytes", "inner", "map", "named", "opt", "ptr", "raw", "req", "self"}; !slices.Equal(props, want) {
		t.Errorf("properties = %v, want %v", props, want)
	}
	if want := []string{"named", "req", "NoTag"}; !slices.Equal(s.Required, want) {
		t.Errorf("required = %v, want %v", s.Required, want)
	}
	if p := s.Properties["raw"]; p.Type != "object" || !p.PreserveUnknownFields {
		t.Errorf("raw = %+v", p)
	}
	if p := s.Properties["any"]; p.Type != "object" || !p.PreserveUnknownFields {
		t.Errorf("any = %+v", p)
	}
	if p := s.Properties["bytes"]; p.Type != "string" || p.Format != "byte" {
		t.Errorf("bytes = %+v", p)
	}
	if p := s.Properties["map"]; p.AdditionalProperties == nil || p.AdditionalProperties.Items.Type != "boolean" {
		t.Errorf("map = %+v", p)
	}
	if p := s.Properties["self"]; p.Description != "a reference to another one" || p.AllOf[0].Ref != "#/components/schemas/"+name {
		t.Errorf("self = %+v", p)
	}
	if p := s.Properties["req"]; p.Type != "integer" || p.Format != "int64" {
		t.Errorf("req = %+v", p)
	}
}

// explainSchema finds the schema kubectl explain prints for a resource, the way its template
// (staging/src/k8s.io/kubectl/pkg/explain/v2/templates/plaintext.tmpl) does: the GVK comes from
// an operation on one of the resource's paths, the schema is the one in components.schemas
// whose x-kubernetes-group-version-kind list contains that GVK (deep equality of the maps).
func explainSchema(t *testing.T, doc map[string]any, r gvr) (gvk map[string]any, s map[string]any) {
	t.Helper()
	prefix := "/apis/" + r.group
	if r.group == "" {
		prefix = "/api"
	}
	paths := obj(doc, "paths")
	for _, p := range []string{
		prefix + "/" + r.version + "/" + r.resource,
		prefix + "/" + r.version + "/" + r.resource + "/{name}",
		prefix + "/" + r.version + "/namespaces/{namespace}/" + r.resource,
		prefix + "/" + r.version + "/namespaces/{namespace}/" + r.resource + "/{name}",
	} {
		for _, m := range []string{"get", "post", "put", "patch", "delete"} {
			if g := obj(paths, p, m, "x-kubernetes-group-version-kind"); g != nil && gvk == nil {
				gvk = g
			}
		}
	}
	if gvk == nil {
		t.Fatalf("error: GVR (%v) not found in OpenAPI schema", r)
	}
	for _, v := range obj(doc, "components", "schemas") {
		list, _ := obj(v)["x-kubernetes-group-version-kind"].([]any)
		for _, e := range list {
			if reflect.DeepEqual(e, any(gvk)) {
				return gvk, obj(v)
			}
		}
	}
	t.Fatalf("error: GVK %v not found in OpenAPI schema", gvk)
	return nil, nil
}

// explainField follows a field path the way the template's "output" does: properties,
// then a $ref or the single allOf, then array items.
func explainField(t *testing.T, doc map[string]any, s map[string]any, path ...string) map[string]any {
	t.Helper()
	resolve := func(s map[string]any) map[string]any {
		if allOf, ok := s["allOf"].([]any); ok {
			s = obj(allOf[0])
		}
		for {
			ref, ok := s["$ref"].(string)
			if !ok {
				return s
			}
			s = obj(doc, "components", "schemas", strings.TrimPrefix(ref, "#/components/schemas/"))
		}
	}
	for _, f := range path {
		s = resolve(s)
		for s["items"] != nil {
			s = resolve(obj(s, "items"))
		}
		next := obj(s, "properties", f)
		if next == nil {
			t.Fatalf("error: field %q does not exist", f)
		}
		s = next
	}
	return s
}

func TestKubectlExplainFindsKinds(t *testing.T) {
	tests := []struct {
		gvr   gvr
		want  gvk
		field []string
	}{
		{gvr{"", "v1", "pods"}, gvk{"", "v1", "Pod"}, []string{"spec", "containers", "image"}},
		{gvr{"", "v1", "nodes"}, gvk{"", "v1", "Node"}, []string{"spec", "unschedulable"}},
		{gvr{"", "v1", "namespaces"}, gvk{"", "v1", "Namespace"}, []string{"metadata", "labels"}},
		{gvr{"apps", "v1", "deployments"}, gvk{"apps", "v1", "Deployment"}, []string{"spec", "template", "spec", "containers", "ports"}},
		{gvr{"coordination.k8s.io", "v1", "leases"}, gvk{"coordination.k8s.io", "v1", "Lease"}, []string{"spec", "holderIdentity"}},
	}
	for _, tt := range tests {
		doc := decode(t, V3Document(apiVersion(tt.gvr.group, tt.gvr.version), testResources))
		g, s := explainSchema(t, doc, tt.gvr)
		if g["group"] != tt.want.group || g["version"] != tt.want.version || g["kind"] != tt.want.kind {
			t.Errorf("%v: GVK = %v, want %v", tt.gvr, g, tt.want)
		}
		if s["description"] == nil {
			t.Errorf("%v: the kind has no description for DESCRIPTION:", tt.gvr)
		}
		if f := explainField(t, doc, s, tt.field...); f["description"] == nil {
			t.Errorf("%v: field %v has no description", tt.gvr, tt.field)
		}
	}
}

// TestKubectlSeesServerSideFieldValidation follows kubectl's queryParamVerifierV3
// (staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go): for the kind,
// the PATCH operations carrying its GVK must list fieldValidation as a query parameter of the
// operation itself. It stops at the first such operation in map order, so all must have it;
// and a kind with none is an error that fails kubectl apply.
func TestKubectlSeesServerSideFieldValidation(t *testing.T) {
	for _, tt := range []gvk{{"", "v1", "Pod"}, {"", "v1", "Namespace"}, {"", "v1", "Service"}, {"", "v1", "Node"}, {"apps", "v1", "Deployment"}, {"coordination.k8s.io", "v1", "Lease"}} {
		doc := decode(t, V3Document(apiVersion(tt.group, tt.version), testResources))
		found := 0
		for p, item := range obj(doc, "paths") {
			patch := obj(item, "patch")
			if patch == nil {
				continue
			}
			// kubectl decodes the operation's GVK into a map[string]string.
			raw, _ := json.Marshal(patch["x-kubernetes-group-version-kind"])
			var g map[string]string
			if json.Unmarshal(raw, &g) != nil || g["group"] != tt.group || g["version"] != tt.version || g["kind"] != tt.kind {
				continue
			}
			found++
			params, _ := patch["parameters"].([]any)
			if !slices.ContainsFunc(params, func(p any) bool { return obj(p)["name"] == "fieldValidation" && obj(p)["in"] == "query" }) {
				t.Errorf("%v: PATCH %s has no fieldValidation query parameter", tt, p)
			}
			// kubectl apply builds a strategic merge patch from the v3 schema only when the
			// PATCH accepts one.
			if obj(patch, "requestBody", "content", "application/strategic-merge-patch+json") == nil {
				t.Errorf("%v: PATCH %s does not accept a strategic merge patch", tt, p)
			}
		}
		if found == 0 {
			t.Errorf("%v: Path not found for GVK in OpenAPI V3 doc", tt)
		}
	}
}

// TestStrategicMergePatchMeta follows strategicpatch.PatchMetaFromOpenAPIV3, which kubectl
// apply uses: properties by name, the patch extensions read on the property before its
// reference (allOf[0], then $ref) is resolved, items for a list.
func TestStrategicMergePatchMeta(t *testing.T) {
	doc := decode(t, V3Document("apps/v1", testResources))
	schemas := obj(doc, "components", "schemas")
	resolve := func(s map[string]any) map[string]any {
		if allOf, ok := s["allOf"].([]any); ok {
			s = obj(allOf[0])
		}
		if items := obj(s, "items"); items != nil {
			s = items
			if allOf, ok := s["allOf"].([]any); ok {
				s = obj(allOf[0])
			}
		}
		if ref, ok := s["$ref"].(string); ok {
			next := obj(schemas, strings.TrimPrefix(ref, "#/components/schemas/"))
			if next == nil {
				t.Fatalf("unable to resolve %s in OpenAPI V3", ref)
			}
			return next
		}
		return s
	}
	var s map[string]any
	for _, c := range schemas {
		if gvks, _ := obj(c)["x-kubernetes-group-version-kind"].([]any); len(gvks) == 1 && obj(gvks[0])["kind"] == "Deployment" {
			s = obj(c)
		}
	}
	var last map[string]any
	for _, f := range []string{"spec", "template", "spec", "containers"} {
		last = obj(s, "properties", f)
		if last == nil {
			t.Fatalf("unable to find api field %q", f)
		}
		s = resolve(last)
	}
	if last["x-kubernetes-patch-merge-key"] != "name" || last["x-kubernetes-patch-strategy"] != "merge" {
		t.Errorf("containers patch meta = %v/%v", last["x-kubernetes-patch-strategy"], last["x-kubernetes-patch-merge-key"])
	}
	if obj(s, "properties", "image") == nil {
		t.Error("containers items do not resolve to Container")
	}
	strategy := obj(schemas, "io.k8s.api.apps.v1.DeploymentSpec", "properties", "strategy")
	if strategy["x-kubernetes-patch-strategy"] != "retainKeys" || strategy["allOf"] == nil {
		t.Errorf("DeploymentSpec.strategy = %v, want retainKeys beside an allOf reference", strategy)
	}
}

func TestOperations(t *testing.T) {
	doc := decode(t, V3Document("v1", testResources))
	paths := obj(doc, "paths")
	tests := []struct {
		path, method, action, kind string
	}{
		{"/api/v1/namespaces/{namespace}/pods", "get", "list", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods", "post", "post", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods", "delete", "deletecollection", "Pod"},
		{"/api/v1/pods", "get", "list", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "get", "get", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "put", "put", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patch", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "delete", "delete", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patch", "Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "post", "Binding"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/eviction", "post", "post", "Eviction"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "get", ""},
		{"/api/v1/namespaces/{namespace}/pods/{name}/exec", "post", "connect", ""},
		{"/api/v1/nodes", "get", "list", "Node"},
		{"/api/v1/nodes/{name}/status", "put", "put", "Node"},
	}
	for _, tt := range tests {
		o := obj(paths, tt.path, tt.method)
		if o == nil {
			t.Errorf("no %s %s", tt.method, tt.path)
			continue
		}
		if o["x-kubernetes-action"] != tt.action {
			t.Errorf("%s %s: action %v, want %s", tt.method, tt.path, o["x-kubernetes-action"], tt.action)
		}
		if got, _ := obj(o, "x-kubernetes-group-version-kind")["kind"].(string); got != tt.kind {
			t.Errorf("%s %s: kind %q, want %q", tt.method, tt.path, got, tt.kind)
		}
	}
	// Namespaces are not deleted as a collection, so that verb has no operation.
	if obj(paths, "/api/v1/namespaces", "delete") != nil {
		t.Error("namespaces have a deletecollection operation without the verb")
	}
	if obj(paths, "/api/v1/namespaces/{namespace}/namespaces") != nil || obj(paths, "/api/v1/nodes/{name}", "get") == nil {
		t.Error("cluster-scoped kinds are not at cluster paths")
	}
	// Path parameters are shared at the path level.
	params, _ := obj(paths, "/api/v1/namespaces/{namespace}/pods/{name}")["parameters"].([]any)
	if len(params) != 3 || obj(params[0])["name"] != "name" || obj(params[0])["required"] != true {
		t.Errorf("item path parameters = %v", params)
	}
}

func TestV2Document(t *testing.T) {
	raw := V2Document(testResources)
	doc := decode(t, raw)
	if doc["swagger"] != "2.0" {
		t.Errorf("swagger = %v", doc["swagger"])
	}
	defs := obj(doc, "definitions")
	checkRefs(t, doc, "#/definitions/", defs)
	walk(doc, func(m map[string]any) {
		if m["allOf"] != nil || m["oneOf"] != nil {
			t.Errorf("Swagger 2.0 schema with allOf/oneOf (kubectl's v2 parser ignores them): %v", m)
		}
	})
	// A described reference keeps the reference beside the description.
	if md := obj(defs, "io.k8s.api.core.v1.Pod", "properties", "metadata"); md["$ref"] != "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" || md["description"] == nil {
		t.Errorf("Pod.metadata = %v", md)
	}
	// kubectl apply (v2 path) reads the patch types from the PATCH operation's consumes.
	consumes, _ := obj(doc, "paths", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}", "patch")["consumes"].([]any)
	if !slices.Contains(consumes, any("application/strategic-merge-patch+json")) {
		t.Errorf("deployment PATCH consumes %v", consumes)
	}
	// Every group version's kinds are in the one document.
	for _, name := range []string{"io.k8s.api.core.v1.Pod", "io.k8s.api.apps.v1.Deployment", "io.k8s.api.coordination.v1.Lease"} {
		if defs[name] == nil {
			t.Errorf("no definition %s", name)
		}
	}
}

// TestV2Protobuf decodes the protobuf form the way client-go's OpenAPISchema does and looks
// a kind up by its GVK vendor extension, as kubectl's openapi.Resources does.
func TestV2Protobuf(t *testing.T) {
	pb, err := V2Protobuf(testResources)
	if err != nil {
		t.Fatal(err)
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(pb, &doc); err != nil {
		t.Fatalf("client-go cannot decode it: %v", err)
	}
	if doc.GetSwagger() != "2.0" {
		t.Errorf("swagger = %q", doc.GetSwagger())
	}
	var found []string
	for _, d := range doc.GetDefinitions().GetAdditionalProperties() {
		for _, ext := range d.GetValue().GetVendorExtension() {
			if ext.GetName() == "x-kubernetes-group-version-kind" && strings.Contains(ext.GetValue().GetYaml(), "kind: Deployment\n") {
				found = append(found, d.GetName())
			}
		}
	}
	if want := []string{"io.k8s.api.apps.v1.Deployment"}; !slices.Equal(found, want) {
		t.Errorf("definitions with the Deployment GVK = %v, want %v", found, want)
	}
}

func TestDocumentsAreStable(t *testing.T) {
	if string(V3Document("v1", testResources)) != string(V3Document("v1", testResources)) {
		t.Error("two builds of the same document differ (the hash would change on every start)")
	}
}
