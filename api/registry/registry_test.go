package registry

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
)

func TestKindKeysAndNames(t *testing.T) {
	r := Default()
	tests := []struct {
		group, version, resource string
		kind, apiVersion, list   string
		namespaced               bool
		key                      string // Key("ns", "x")
		prefix                   string // Prefix("")
	}{
		{"", "v1", "pods", "Pod", "v1", "PodList", true, "/registry/pods/ns/x", "/registry/pods/"},
		{"", "v1", "nodes", "Node", "v1", "NodeList", false, "/registry/nodes/x", "/registry/nodes/"},
		{"apps", "v1", "deployments", "Deployment", "apps/v1", "DeploymentList", true, "/registry/apps/deployments/ns/x", "/registry/apps/deployments/"},
	}
	for _, tc := range tests {
		k, ok := r.Lookup(tc.group, tc.version, tc.resource)
		if !ok {
			t.Fatalf("Lookup(%s/%s/%s) found nothing", tc.group, tc.version, tc.resource)
		}
		if k.Kind != tc.kind || k.APIVersion() != tc.apiVersion || k.ListKind() != tc.list || k.Namespaced != tc.namespaced {
			t.Errorf("%s: kind %s %s %s namespaced=%v", tc.resource, k.Kind, k.APIVersion(), k.ListKind(), k.Namespaced)
		}
		if got := k.Key("ns", "x"); got != tc.key {
			t.Errorf("%s: Key = %q, want %q", tc.resource, got, tc.key)
		}
		if got := k.Prefix(""); got != tc.prefix {
			t.Errorf("%s: Prefix = %q, want %q", tc.resource, got, tc.prefix)
		}
		if byKind, ok := r.LookupKind(tc.group, tc.version, tc.kind); !ok || byKind != k {
			t.Errorf("LookupKind(%s) = %v, %v; want the same kind as Lookup", tc.kind, byKind, ok)
		}
	}
	if _, ok := r.Lookup("", "v1", "widgets"); ok {
		t.Error("Lookup of an unknown resource found something")
	}
}

// Every kind's New must make an object of its type with TypeMeta set, and its JSON must
// name that kind, so that decoding and encoding agree with the registry.
func TestEveryKindNewAndSingular(t *testing.T) {
	r := Default()
	seen := map[string]bool{}
	for _, k := range r.Kinds() {
		obj := k.New()
		if reflect.TypeOf(obj).Elem() != k.Type {
			t.Errorf("%s: New made %T", k.Kind, obj)
		}
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("%s: %v", k.Kind, err)
		}
		var tm meta.TypeMeta
		_ = json.Unmarshal(b, &tm)
		if tm.Kind != k.Kind || tm.APIVersion != k.APIVersion() {
			t.Errorf("%s: JSON of New says %s %s", k.Kind, tm.Kind, tm.APIVersion)
		}
		if k.Singular == "" {
			t.Errorf("%s: no singular name", k.Kind)
		}
		gvr := k.Group + "/" + k.Version + "/" + k.Resource
		if seen[gvr] {
			t.Errorf("%s registered twice", gvr)
		}
		seen[gvr] = true
		// A field a kind says it supports must be among the fields it reports.
		for f := range k.SelectableFields(k.New()) {
			if !k.SupportsField(f) {
				t.Errorf("%s: SelectableFields has %q, SupportsField says no", k.Kind, f)
			}
		}
	}
}

func TestSelectableFields(t *testing.T) {
	r := Default()
	pods, _ := r.Lookup("", "v1", "pods")
	p := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: core.PodSpec{NodeName: "n1"}, Status: core.PodStatus{Phase: core.PodRunning}}
	f := pods.SelectableFields(p)
	for k, want := range map[string]string{"metadata.name": "p", "metadata.namespace": "ns", "spec.nodeName": "n1", "status.phase": "Running"} {
		if f[k] != want {
			t.Errorf("pod field %s = %q, want %q", k, f[k], want)
		}
	}
	if pods.SupportsField("spec.containers") {
		t.Error("pods support a field selector on spec.containers")
	}
	nodes, _ := r.Lookup("", "v1", "nodes")
	if nodes.SupportsField("metadata.namespace") {
		t.Error("a cluster-scoped kind supports metadata.namespace")
	}
	if _, ok := nodes.SelectableFields(&core.Node{})["metadata.namespace"]; ok {
		t.Error("a cluster-scoped kind reports metadata.namespace")
	}
	deps, _ := r.Lookup("apps", "v1", "deployments")
	if !deps.HasSpec() || !deps.Status {
		t.Error("deployments: want a spec and a /status subresource")
	}
}

func TestGroupVersionsCoreFirst(t *testing.T) {
	gvs := Default().GroupVersions()
	if len(gvs) == 0 || gvs[0].String() != "v1" {
		t.Fatalf("GroupVersions = %v, want v1 first", gvs)
	}
	var names []string
	for _, gv := range gvs[1:] {
		names = append(names, gv.Group)
	}
	if !slices.IsSorted(names) {
		t.Errorf("groups after core not sorted: %v", names)
	}
}

func TestDuplicateResourcePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a resource twice did not panic")
		}
	}()
	New(define[core.Pod]("", "v1", "Pod", "pods", true), define[core.Pod]("", "v1", "Pod", "pods", true))
}

// TestCustomSelectableFields: a custom kind's selectableFields are named by their path
// without the leading dot; strings are themselves, integers and booleans their JSON text, an
// absent field the empty string; each version has its own, and only a Webhook strategy sets
// Custom.Webhook.
func TestCustomSelectableFields(t *testing.T) {
	crd := &apiextensions.CustomResourceDefinition{
		ObjectMeta: meta.ObjectMeta{Name: "paints.example.com"},
		Spec: apiextensions.CustomResourceDefinitionSpec{Group: "example.com", Scope: apiextensions.NamespaceScoped,
			Versions: []apiextensions.CustomResourceDefinitionVersion{
				{Name: "v1", Served: true, Storage: true, SelectableFields: []apiextensions.SelectableField{
					{JSONPath: ".spec.color"}, {JSONPath: ".spec.size"}, {JSONPath: ".spec.dry"}, {JSONPath: ".spec.missing"}}},
				{Name: "v2", Served: true, SelectableFields: []apiextensions.SelectableField{{JSONPath: ".spec.paint"}}},
			},
			Conversion: &apiextensions.CustomResourceConversion{Strategy: apiextensions.WebhookConverter,
				Webhook: &apiextensions.WebhookConversion{ConversionReviewVersions: []string{"v1"}}},
		},
	}
	names := apiextensions.CustomResourceDefinitionNames{Plural: "paints", Singular: "paint", Kind: "Paint", ListKind: "PaintList"}
	kinds, err := CustomKinds(crd, names, false)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[string]*Kind{}
	for i := range kinds {
		byVersion[kinds[i].Version] = &kinds[i]
		if kinds[i].Custom.Webhook == nil {
			t.Errorf("%s: Custom.Webhook not set for strategy Webhook", kinds[i].Version)
		}
	}
	u := unstructured.New("example.com/v1", "Paint")
	u.Name, u.Namespace = "sky", "default"
	u.Fields = map[string]any{"spec": map[string]any{"color": "blue", "size": int64(3), "dry": true}}
	got := byVersion["v1"].SelectableFields(u)
	want := map[string]string{"spec.color": "blue", "spec.size": "3", "spec.dry": "true", "spec.missing": "",
		"metadata.name": "sky", "metadata.namespace": "default"}
	if !maps.Equal(got, want) {
		t.Errorf("v1 fields = %v, want %v", got, want)
	}
	if !byVersion["v1"].SupportsField("spec.color") || byVersion["v1"].SupportsField("spec.paint") ||
		!byVersion["v2"].SupportsField("spec.paint") || byVersion["v2"].SupportsField("spec.color") {
		t.Error("each version supports its own selectable fields only")
	}
	crd.Spec.Conversion = &apiextensions.CustomResourceConversion{Strategy: apiextensions.NoneConverter}
	kinds, _ = CustomKinds(crd, names, false)
	if kinds[0].Custom.Webhook != nil {
		t.Error("None conversion set Custom.Webhook")
	}
}
