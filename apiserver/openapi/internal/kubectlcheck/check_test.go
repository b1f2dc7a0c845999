package kubectlcheck

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/autoscaling"
	"github.com/skiff-sh/skiff/api/core"
	skiff "github.com/skiff-sh/skiff/apiserver/openapi"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi3"
	explainv2 "k8s.io/kubectl/pkg/explain/v2"
	kopenapi "k8s.io/kubectl/pkg/util/openapi"
)

var resources = []skiff.Resource{
	{Version: "v1", Kind: "Pod", Resource: "pods", Namespaced: true, Type: reflect.TypeFor[core.Pod](), Subresources: []string{"status", "binding", "log", "exec"},
		SubresourceTypes: map[string]reflect.Type{"binding": reflect.TypeFor[core.Binding]()}},
	{Version: "v1", Kind: "Namespace", Resource: "namespaces", Type: reflect.TypeFor[core.Namespace](), Subresources: []string{"status"}},
	{Version: "v1", Kind: "Service", Resource: "services", Namespaced: true, Type: reflect.TypeFor[core.Service](), Subresources: []string{"status"}},
	{Group: "apps", Version: "v1", Kind: "Deployment", Resource: "deployments", Namespaced: true, Type: reflect.TypeFor[apps.Deployment](),
		Subresources: []string{"status", "scale"}, SubresourceTypes: map[string]reflect.Type{"scale": reflect.TypeFor[autoscaling.Scale]()}},
}

type gv struct{ path string }

func (g gv) Schema(contentType string) ([]byte, error) {
	return skiff.V3Document(g.path, resources), nil
}
func (g gv) ServerRelativeURL() string { return "/openapi/v3/" + g.path }

type client struct{}

func (client) Paths() (map[string]openapi.GroupVersion, error) {
	var idx struct {
		Paths map[string]struct{ ServerRelativeURL string } `json:"paths"`
	}
	if err := json.Unmarshal(skiff.V3Index(resources), &idx); err != nil {
		return nil, err
	}
	out := map[string]openapi.GroupVersion{}
	for p := range idx.Paths {
		out[p] = gv{p}
	}
	return out, nil
}

func TestExplain(t *testing.T) {
	for _, tc := range []struct {
		gvr    schema.GroupVersionResource
		fields []string
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, nil},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, []string{"spec", "containers"}},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, []string{"spec", "strategy"}},
		{schema.GroupVersionResource{Version: "v1", Resource: "services"}, []string{"spec", "ports", "targetPort"}},
		{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, []string{"metadata"}},
	} {
		var out bytes.Buffer
		if err := explainv2.PrintModelDescription(tc.fields, &out, client{}, tc.gvr, false, "plaintext"); err != nil {
			t.Fatalf("%v %v: %v", tc.gvr, tc.fields, err)
		}
		t.Logf("kubectl explain %s %v:\n%s", tc.gvr.Resource, tc.fields, out.String())
	}
	var out bytes.Buffer
	if err := explainv2.PrintModelDescription(nil, &out, client{}, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true, "plaintext"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "containers") {
		t.Error("recursive explain lacks containers")
	}
}

func TestFieldValidationVerifier(t *testing.T) {
	v := resource.NewQueryParamVerifierV3(nil, client{}, resource.QueryParamFieldValidation)
	for _, gvk := range []schema.GroupVersionKind{{Version: "v1", Kind: "Pod"}, {Version: "v1", Kind: "Namespace"}, {Version: "v1", Kind: "Service"}, {Group: "apps", Version: "v1", Kind: "Deployment"}} {
		for i := 0; i < 20; i++ { // map order varies
			if err := v.HasSupport(gvk); err != nil {
				t.Fatalf("%v: %v", gvk, err)
			}
		}
	}
}

func TestStrategicMergePatchV3(t *testing.T) {
	root := openapi3.NewRoot(client{})
	spec, err := root.GVSpec(schema.GroupVersion{Group: "apps", Version: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range spec.Components.Schemas {
		var gvks []map[string]string
		if c.Extensions.GetObject("x-kubernetes-group-version-kind", &gvks) != nil || len(gvks) == 0 || gvks[0]["kind"] != "Deployment" {
			continue
		}
		found = true
		meta := strategicpatch.PatchMetaFromOpenAPIV3{Schema: c, SchemaList: spec.Components.Schemas}
		original := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}}}`)
		modified := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b","image":"b:1"}]}}}}`)
		current := []byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"a","image":"a:1","imagePullPolicy":"Always"},{"name":"b","image":"b:1"}]}}}}`)
		patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, current, meta, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("v3 patch: %s", patch)
		if !strings.Contains(string(patch), `"$setElementOrder/containers"`) {
			t.Errorf("patch is not merged by name: %s", patch)
		}
	}
	if !found {
		t.Fatal("no Deployment schema")
	}
}

func TestV2(t *testing.T) {
	pb, err := skiff.V2Protobuf(resources)
	if err != nil {
		t.Fatal(err)
	}
	var doc openapi_v2.Document
	if err := proto.Unmarshal(pb, &doc); err != nil {
		t.Fatal(err)
	}
	r, err := kopenapi.NewOpenAPIData(&doc)
	if err != nil {
		t.Fatal(err)
	}
	gvk := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	s := r.LookupResource(gvk)
	if s == nil {
		t.Fatal("v2: no Deployment")
	}
	t.Logf("consumes: %v", r.GetConsumes(gvk, "PATCH"))
	meta := strategicpatch.PatchMetaFromOpenAPI{Schema: s}
	original := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:1"},{"name":"b","image":"b:1"}]}}}}`)
	modified := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"a","image":"a:2"},{"name":"b","image":"b:1"}]}}}}`)
	patch, err := strategicpatch.CreateThreeWayMergePatch(original, modified, original, meta, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("v2 patch: %s", patch)
	if !strings.Contains(string(patch), `"$setElementOrder/containers"`) {
		t.Errorf("v2 patch is not merged by name: %s", patch)
	}
	for _, k := range []schema.GroupVersionKind{{Version: "v1", Kind: "Pod"}, {Version: "v1", Kind: "Service"}} {
		if r.LookupResource(k) == nil {
			t.Errorf("v2: no %v", k)
		}
	}
}
