package patch

import (
	"encoding/json"
	"testing"
)

// The patch body is untrusted input: whatever it holds, applying it must not panic and
// a success must be valid JSON.

func FuzzStrategicMergePatch(f *testing.F) {
	f.Add(`{"spec":{"containers":[{"name":"a","ports":[{"containerPort":1}]}]},"metadata":{"finalizers":["x"]}}`,
		`{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"a"}],"containers":[{"name":"b"},{"name":"a","ports":[{"containerPort":1,"$patch":"delete"}]},{"$patch":"replace"}]},"metadata":{"$deleteFromPrimitiveList/finalizers":["x"],"$retainKeys":["finalizers"]}}`)
	f.Add(`{"a":[1,2,{"b":null}]}`, `{"a":{"$patch":"delete"},"b":[{"$patch":"merge"}]}`)
	f.Fuzz(func(t *testing.T, original, patch string) {
		out, err := StrategicMergePatch([]byte(original), []byte(patch), deploymentType)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON result %q", out)
		}
	})
}

func FuzzJSONPatch(f *testing.F) {
	f.Add(`{"a":[1,{"b":2}]}`, `[{"op":"move","from":"/a/1","path":"/a/0"},{"op":"copy","from":"/a","path":"/c"},{"op":"test","path":"/c/0/b","value":2}]`)
	f.Add(`[]`, `[{"op":"add","path":"/-","value":1},{"op":"remove","path":"/0"}]`)
	f.Fuzz(func(t *testing.T, original, patch string) {
		out, err := JSONPatch([]byte(original), []byte(patch))
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON result %q", out)
		}
	})
}

func FuzzMergePatch(f *testing.F) {
	f.Add(`{"a":{"b":1,"c":[1,2]},"d":"x"}`, `{"a":{"b":null,"c":[3]},"e":{"f":null}}`)
	f.Add(`[1,2]`, `{"a":1}`)
	f.Add(`{}`, `null`)
	f.Fuzz(func(t *testing.T, original, patch string) {
		out, err := MergePatch([]byte(original), []byte(patch))
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON result %q", out)
		}
	})
}
