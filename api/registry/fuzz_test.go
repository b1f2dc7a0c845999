package registry_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation"
)

// FuzzDecodeObject follows an object body through what the API server does with it before
// storage — YAML to JSON, decode into the kind's type, default, validate — for a kind
// picked by the input. No body may panic, and a decoded object re-encodes to JSON that
// decodes to the same JSON (the wire form is stable).
func FuzzDecodeObject(f *testing.F) {
	seeds := []struct {
		kind uint8
		body string
	}{
		{0, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}`},
		{2, `{"metadata":{"name":"p","namespace":"d"},"spec":{"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"0"},"limits":{"memory":"1Gi"}},"ports":[{"containerPort":80,"name":"web"}]}],"tolerations":[{"operator":"Exists"}],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}]}}}}}`},
		{2, "metadata:\n  name: p\nspec:\n  containers:\n  - name: c\n    image: busybox\n    command: [sh, -c, 'exit 3']\n"},
		{5, `{"metadata":{"name":"s"},"spec":{"type":"NodePort","ports":[{"port":80,"targetPort":"web","nodePort":30001}],"clusterIP":"10.96.0.10"}}`},
		{7, `{"metadata":{"name":"d"},"spec":{"replicas":2,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}},"strategy":{"rollingUpdate":{"maxSurge":"25%"}}}}`},
		{1, `{"metadata":{"name":"n","labels":{"x":"y"}},"spec":{"podCIDR":"10.244.1.0/24","taints":[{"key":"k","effect":"NoSchedule"}]}}`},
		{3, `[]`},
		{4, `{"metadata":"x"}`},
	}
	for _, s := range seeds {
		f.Add(s.kind, []byte(s.body))
	}
	kinds := registry.Default().Kinds()
	f.Fuzz(func(t *testing.T, pick uint8, body []byte) {
		k := kinds[int(pick)%len(kinds)]
		if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			j, err := yaml.YAMLToJSON(body)
			if err != nil {
				return
			}
			body = j
		}
		obj := k.New()
		if err := json.Unmarshal(body, obj); err != nil {
			return
		}
		// The API server names the kind itself after decoding (a body may leave kind and
		// apiVersion out, or spell a key in another case: encoding/json matches keys
		// case-insensitively).
		setKind := func(o interface{ GetTypeMeta() *meta.TypeMeta }) {
			tm := o.GetTypeMeta()
			tm.Kind, tm.APIVersion = k.Kind, k.APIVersion()
		}
		setKind(obj)
		first, err := json.Marshal(obj)
		if err != nil {
			t.Fatalf("%s: a decoded object does not encode: %v", k.Kind, err)
		}
		again := k.New()
		if err := json.Unmarshal(first, again); err != nil {
			t.Fatalf("%s: the encoding of a decoded object does not decode: %v\n%s", k.Kind, err, first)
		}
		setKind(again)
		second, _ := json.Marshal(again)
		if !bytes.Equal(first, second) {
			t.Fatalf("%s: encoding is not stable\n first %s\nsecond %s", k.Kind, first, second)
		}
		defaults.Object(obj)
		_ = validation.Validate(obj, k.Namespaced)
		_ = validation.ValidateUpdate(obj, again, k.Namespaced)
	})
}
