package protobuf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/resource"
)

// The API server answers protobuf clients with Encode and EncodeList. These tests hand the
// output to Kubernetes' own decoder (client-go's scheme, the generated unmarshallers of
// k8s.io/api) for every built-in kind skiff serves, each with every field populated, and
// require the object Kubernetes decodes to be the one skiff encoded (compared as JSON).

// kubernetesDecoder decodes any protobuf (or JSON) body into client-go's types.
var kubernetesDecoder = serializer.NewCodecFactory(scheme.Scheme).UniversalDeserializer()

// notInClientGo are built-in kinds skiff serves whose Go types are not in client-go's scheme
// (they live in k8s.io/apiextensions-apiserver and k8s.io/kube-aggregator).
var notInClientGo = map[string]bool{
	"apiextensions.k8s.io/v1/CustomResourceDefinition": true,
	"apiregistration.k8s.io/v1/APIService":             true,
}

func TestEncodeDecodesWithKubernetes(t *testing.T) {
	kinds, pod := 0, 0
	for _, k := range registry.Default().Kinds() {
		if k.Custom != nil || notInClientGo[k.APIVersion()+"/"+k.Kind] {
			continue
		}
		kinds++
		t.Run(k.APIVersion()+"/"+k.Kind, func(t *testing.T) {
			obj := k.New()
			fill(reflect.ValueOf(obj).Elem(), 0)
			obj.GetObjectMeta().Name = "x"
			b, err := Encode(obj)
			if err != nil {
				t.Fatal(err)
			}
			decoded, gvk, err := kubernetesDecoder.Decode(b, nil, nil)
			if err != nil {
				t.Fatalf("Kubernetes' decoder: %v", err)
			}
			if gvk.Kind != k.Kind || gvk.GroupVersion().String() != k.APIVersion() {
				t.Fatalf("decoded as %v", gvk)
			}
			n := compareAsJSON(t, obj, decoded)
			if n < 5 {
				t.Errorf("only %d fields populated", n)
			}
			if k.Kind == "Pod" {
				pod = n
			}
			if k.CreateOnly {
				return // a question and its answer: no list kind
			}

			// The list kind, with its ListMeta, holding the object twice.
			rc := int64(3)
			lm := meta.ListMeta{ResourceVersion: "42", Continue: "token", RemainingItemCount: &rc}
			lb, err := EncodeList(k.APIVersion(), k.ListKind(), &lm, []meta.Object{obj, obj})
			if err != nil {
				t.Fatal(err)
			}
			list, gvk, err := kubernetesDecoder.Decode(lb, nil, nil)
			if err != nil {
				t.Fatalf("Kubernetes' decoder, list: %v", err)
			}
			if gvk.Kind != k.ListKind() {
				t.Fatalf("list decoded as %v", gvk)
			}
			lj, _ := json.Marshal(list)
			var got struct {
				Metadata meta.ListMeta    `json:"metadata"`
				Items    []map[string]any `json:"items"`
			}
			if err := json.Unmarshal(lj, &got); err != nil {
				t.Fatal(err)
			}
			if got.Metadata.ResourceVersion != "42" || got.Metadata.Continue != "token" || got.Metadata.RemainingItemCount == nil ||
				*got.Metadata.RemainingItemCount != 3 || len(got.Items) != 2 {
				t.Fatalf("list: %s", lj)
			}
		})
	}
	if kinds < 50 {
		t.Errorf("checked %d kinds, want every built-in kind", kinds)
	}
	if pod < 300 {
		t.Errorf("a populated Pod has %d fields in JSON, want hundreds", pod)
	}
	t.Logf("%d kinds; a populated Pod compared on %d fields", kinds, pod)
}

// TestEncodeStatusDecodesWithKubernetes: errors are Status objects.
func TestEncodeStatusDecodesWithKubernetes(t *testing.T) {
	st := &meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: meta.StatusFailure, Message: "m", Reason: meta.ReasonInvalid, Code: 422,
		Details: &meta.StatusDetails{Name: "n", Group: "apps", Kind: "Deployment", UID: "u", RetryAfterSeconds: 2,
			Causes: []meta.StatusCause{{Type: "FieldValueInvalid", Message: "bad", Field: "spec.replicas"}}}}
	b, err := EncodeAs("v1", "Status", st)
	if err != nil {
		t.Fatal(err)
	}
	decoded, _, err := kubernetesDecoder.Decode(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := compareAsJSON(t, st, decoded); n != 12 {
		t.Errorf("compared %d fields, want all 12", n)
	}
}

// TestWatchEventDecodesWithKubernetes: a watch frame's message is what Kubernetes' raw
// serializer reads as a meta/v1 WatchEvent, its object a full protobuf body.
func TestWatchEventDecodesWithKubernetes(t *testing.T) {
	obj, err := EncodeAs("v1", "Status", &meta.Status{Code: 410, Reason: meta.ReasonExpired})
	if err != nil {
		t.Fatal(err)
	}
	frame := AppendFrame(nil, WatchEventMessage("ERROR", obj))
	if n := int(frame[0])<<24 | int(frame[1])<<16 | int(frame[2])<<8 | int(frame[3]); n != len(frame)-4 {
		t.Fatalf("length prefix %d, frame %d", n, len(frame)-4)
	}
	info, ok := runtime.SerializerInfoForMediaType(serializer.NewCodecFactory(scheme.Scheme).SupportedMediaTypes(), ContentType)
	if !ok || info.StreamSerializer == nil {
		t.Fatal("no protobuf stream serializer")
	}
	ev, _, err := info.StreamSerializer.Decode(frame[4:], nil, &metav1.WatchEvent{})
	if err != nil {
		t.Fatalf("raw WatchEvent: %v", err)
	}
	we := ev.(*metav1.WatchEvent)
	if we.Type != "ERROR" {
		t.Fatalf("type %q", we.Type)
	}
	inner, _, err := kubernetesDecoder.Decode(we.Object.Raw, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := json.Marshal(inner); !strings.Contains(string(j), `"code":410`) {
		t.Fatalf("event object: %s", j)
	}
}

// compareAsJSON compares the two objects' JSON (empty values count as absent) and returns
// how many leaf values skiff's has.
func compareAsJSON(t *testing.T, skiff any, kube runtime.Object) int {
	t.Helper()
	want, err := json.Marshal(skiff)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(kube)
	if err != nil {
		t.Fatal(err)
	}
	var w, g map[string]any
	json.Unmarshal(want, &w)
	json.Unmarshal(got, &g)
	// Kubernetes' decoder leaves TypeMeta empty (the envelope carries it).
	delete(w, "kind")
	delete(w, "apiVersion")
	delete(g, "kind")
	delete(g, "apiVersion")
	want, _ = json.Marshal(w)
	got, _ = json.Marshal(g)
	if diffs := diffJSON(t, want, got); len(diffs) > 0 {
		sort.Strings(diffs)
		t.Errorf("Kubernetes decodes another object than skiff encoded:\n%s", strings.Join(diffs, "\n"))
	}
	return leaves(normalize(w))
}

func leaves(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 0
		for _, e := range x {
			n += leaves(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += leaves(e)
		}
		return n
	case nil:
		return 0
	}
	return 1
}

// fill sets every field reachable from v to a non-zero value; recursive types stop at a
// depth.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Type() {
	case timeType:
		v.Set(reflect.ValueOf(meta.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}))
		return
	case microTimeType:
		v.Set(reflect.ValueOf(meta.MicroTime{Time: time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)}))
		return
	case durationType:
		v.Set(reflect.ValueOf(meta.Duration{Duration: 90 * time.Second}))
		return
	case quantityType:
		v.Set(reflect.ValueOf(resource.MustParse("1500m")))
		return
	case intOrStringType:
		v.Set(reflect.ValueOf(intstr.FromString("http")))
		return
	case rawMessageType:
		v.SetBytes([]byte(`{"a":1}`))
		return
	case reflect.TypeFor[meta.TypeMeta]():
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Name == "ManagedFields" && v.Type() == reflect.TypeFor[meta.ObjectMeta]() {
				v.Field(i).Set(reflect.ValueOf([]json.RawMessage{json.RawMessage(
					`{"manager":"m","operation":"Update","apiVersion":"v1","time":"2026-01-02T03:04:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:metadata":{}}}`)}))
				continue
			}
			fill(v.Field(i), depth+1)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{0, 1, 255})
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth+1)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// TestEncodeListIsTheListMessage: EncodeList writes the same bytes as marshalling a typed
// list (whose generic marshaller the vectors hold to Kubernetes' bytes), for no items, one,
// and many large ones.
func TestEncodeListIsTheListMessage(t *testing.T) {
	for _, n := range []int{0, 1, 300} {
		list := &meta.List[core.ConfigMap]{ListMeta: meta.ListMeta{ResourceVersion: "9", Continue: "c"}}
		var items []meta.Object
		for i := range n {
			cm := core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: fmt.Sprintf("cm-%d", i), Namespace: "default"},
				Data: map[string]string{"big": strings.Repeat("x", 200+i)}}
			list.Items = append(list.Items, cm)
			items = append(items, &cm)
		}
		want, err := EncodeAs("v1", "ConfigMapList", list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := EncodeList("v1", "ConfigMapList", &list.ListMeta, items)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d items: EncodeList differs from the typed list's encoding\n got %x\nwant %x", n, got, want)
		}
	}
}

// A CRD schema without default or example has none after a protobuf round trip: Kubernetes'
// fields are *JSON, and an empty message decodes as a non-nil pointer, which the conformance
// CRD status spec sees as a different spec.
func TestAbsentJSONFieldsStayAbsent(t *testing.T) {
	crd := &apiextensions.CustomResourceDefinition{
		TypeMeta:   meta.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: meta.ObjectMeta{Name: "foos.example.com"},
		Spec: apiextensions.CustomResourceDefinitionSpec{Group: "example.com", Versions: []apiextensions.CustomResourceDefinitionVersion{{
			Name: "v1", Served: true, Storage: true,
			Schema: &apiextensions.CustomResourceValidation{OpenAPIV3Schema: &apiextensions.JSONSchemaProps{Type: "object",
				Properties: map[string]apiextensions.JSONSchemaProps{"n": {Type: "integer", Default: json.RawMessage(`3`)}}}},
		}}},
	}
	b, err := Encode(crd)
	if err != nil {
		t.Fatal(err)
	}
	// JSONSchemaProps.example is field 36: key 0xa2 0x02; an empty message would follow it
	// with length 0 (Kubernetes' decoder makes that a non-nil *JSON).
	if bytes.Contains(b, []byte{0xa2, 0x02, 0x00}) {
		t.Errorf("an absent example is encoded as an empty message")
	}
	j, err := ToJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	var back apiextensions.CustomResourceDefinition
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	root := back.Spec.Versions[0].Schema.OpenAPIV3Schema
	if root.Default != nil || root.Example != nil || string(root.Properties["n"].Default) != "3" {
		t.Errorf("after a round trip: default %q, example %q, n's default %q; want none, none, 3 (JSON %s)",
			root.Default, root.Example, root.Properties["n"].Default, j)
	}
}
