package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
)

// The vectors in testdata were written by the real Kubernetes protobuf serializer from the
// k8s.io/api types, with the same objects' encoding/json output next to them; see
// internal/gen. Each .pb must decode into skiff's type and give the same JSON.
func TestVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pb")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("found %d vectors, want the full set (run internal/gen)", len(files))
	}
	for _, pb := range files {
		name := strings.TrimSuffix(filepath.Base(pb), ".pb")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(pb)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(strings.TrimSuffix(pb, ".pb") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			got, err := ToJSON(data)
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if diffs := diffJSON(t, want, got); len(diffs) > 0 {
				t.Errorf("decoded JSON differs from Kubernetes':\n%s\ngot: %s", strings.Join(diffs, "\n"), got)
			}
		})
	}
}

// TestDecode decodes into a typed object and sets its TypeMeta from the envelope.
func TestDecode(t *testing.T) {
	data, err := os.ReadFile("testdata/secret.pb")
	if err != nil {
		t.Fatal(err)
	}
	var s core.Secret
	if err := Decode(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Kind != "Secret" || s.APIVersion != "v1" || s.Name != "s" || s.Namespace != "default" {
		t.Fatalf("got %+v %+v", s.TypeMeta, s.ObjectMeta)
	}
	if len(s.Data["all-bytes"]) != 256 || s.Data["all-bytes"][255] != 255 || string(s.Data["p"]) != "q" {
		t.Fatalf("data = %v", s.Data)
	}
	if v, ok := s.Data["empty"]; !ok || v == nil || len(v) != 0 {
		t.Fatalf("empty value = %#v, %v", v, ok)
	}
	if s.DeletionTimestamp == nil || s.DeletionTimestamp.UTC().Format("15:04:05") != "16:00:00" {
		t.Fatalf("deletionTimestamp = %v", s.DeletionTimestamp)
	}
}

func TestIsProtobuf(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/vnd.kubernetes.protobuf":                true,
		"application/vnd.kubernetes.protobuf; charset=utf-8": true,
		"Application/VND.Kubernetes.Protobuf":                true,
		"application/vnd.kubernetes.protobuf;stream=watch":   true,
		"application/json":                                   false,
		"application/yaml":                                   false,
		"":                                                   false,
		"application/vnd.kubernetes.protobuf;;":              true,
	} {
		if got := IsProtobuf(ct); got != want {
			t.Errorf("IsProtobuf(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestTables builds the field table of every type reachable from every kind, so a broken or
// duplicate tag fails here rather than on a request; and checks that every field of those
// types except TypeMeta has a protobuf tag and a decoder.
func TestTables(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, path string) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice || rt.Kind() == reflect.Map {
			rt = rt.Elem()
		}
		if rt.Kind() != reflect.Struct || seen[rt] {
			return
		}
		switch rt {
		case timeType, microTimeType, durationType, quantityType, intOrStringType:
			return
		}
		seen[rt] = true
		tableFor(rt)
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			if sf.Type == reflect.TypeFor[meta.TypeMeta]() {
				continue
			}
			if _, ok := sf.Tag.Lookup("protobuf"); !ok {
				t.Errorf("%s.%s (%s) has no protobuf tag", rt, sf.Name, path)
			}
			walk(sf.Type, path+"."+sf.Name)
		}
	}
	for _, k := range registry.Default().Kinds() {
		walk(k.Type, k.Kind)
	}
	for key, typ := range goTypes() {
		walk(typ, key)
	}
	walk(reflect.TypeFor[meta.DeleteOptions](), "DeleteOptions")
	if len(seen) < 100 {
		t.Errorf("walked only %d types", len(seen))
	}
}

func TestMalformed(t *testing.T) {
	good, err := os.ReadFile("testdata/configmap-minimal.pb")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ToJSON(good); err != nil {
		t.Fatal(err)
	}
	// Every proper prefix of a valid body is either cut inside a field (malformed) or, when cut
	// on a field boundary, a shorter valid body; none may panic.
	for i := range good {
		_, _ = ToJSON(good[:i])
	}
	// Flipping bytes must never panic either.
	for i := len(Magic); i < len(good); i++ {
		for _, b := range []byte{0x00, 0x7f, 0x80, 0xff} {
			bad := append([]byte{}, good...)
			bad[i] = b
			_, _ = ToJSON(bad)
		}
	}
	cases := map[string]struct {
		data []byte
		want error
	}{
		"no magic":     {[]byte(`{"kind":"ConfigMap"}`), ErrMalformed},
		"empty":        {nil, ErrMalformed},
		"truncated":    {good[:len(good)-3], ErrMalformed},
		"bad wire":     {append(append([]byte{}, Magic...), 0x0f), ErrMalformed},
		"field zero":   {append(append([]byte{}, Magic...), 0x02, 0x00), ErrMalformed},
		"long length":  {append(append([]byte{}, Magic...), 0x12, 0x7f, 0x01), ErrMalformed},
		"unknown kind": {envelope("v1", "Nope", nil), ErrUnknownKind},
		// ConfigMap field 1 (metadata) as a varint.
		"wrong wire type": {envelope("v1", "ConfigMap", []byte{0x08, 0x01}), ErrMalformed},
		// Pod spec.containers[0].resources.limits["cpu"] = "bogus".
		"bad quantity":     {envelope("v1", "Pod", msg(2, msg(2, msg(8, msg(1, str(1, "cpu"), msg(2, str(1, "bogus"))))))), ErrMalformed},
		"content encoding": {append(append([]byte{}, Magic...), append(msg(1, str(1, "v1"), str(2, "ConfigMap")), str(3, "gzip")...)...), ErrMalformed},
	}
	for name, c := range cases {
		_, err := ToJSON(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
	_, err = ToJSON(envelope("v1", "Pod", msg(2, msg(2, msg(8, msg(1, str(1, "cpu"), msg(2, str(1, "bogus"))))))))
	if want := "spec.containers[0].resources.limits[\"cpu\"]"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the field %s", err, want)
	}
}

// TestUnknownFieldsSkipped: fields the type does not know, of every wire type, are skipped.
func TestUnknownFieldsSkipped(t *testing.T) {
	body := msg(1, str(1, "x"), str(3, "ns"))
	body = append(body, 0xf8, 0x3e, 0x05)                   // field 999, varint
	body = append(body, 0xf9, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8) // field 999, fixed64
	body = append(body, 0xfd, 0x3e, 1, 2, 3, 4)             // field 999, fixed32
	body = append(body, 0xfb, 0x3e, 0x08, 0x01, 0xfc, 0x3e) // field 999, group {1: 1}
	body = append(body, str(77, "ignored")...)
	body = append(body, msg(2, str(1, "k"), str(2, "v"))...)
	got, err := ToJSON(envelope("v1", "ConfigMap", body))
	if err != nil {
		t.Fatal(err)
	}
	if diffs := diffJSON(t, []byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x","namespace":"ns"},"data":{"k":"v"}}`), got); len(diffs) > 0 {
		t.Errorf("%s\n%s", strings.Join(diffs, "\n"), got)
	}
}

// Hand-built messages.

func varint(x uint64) []byte {
	var b []byte
	for x >= 0x80 {
		b = append(b, byte(x)|0x80)
		x >>= 7
	}
	return append(b, byte(x))
}

func msg(num int, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	out := varint(uint64(num)<<3 | wireBytes)
	out = append(out, varint(uint64(len(body)))...)
	return append(out, body...)
}

func str(num int, s string) []byte { return msg(num, []byte(s)) }

func envelope(apiVersion, kind string, raw []byte) []byte {
	out := append([]byte{}, Magic...)
	out = append(out, msg(1, str(1, apiVersion), str(2, kind))...)
	return append(out, msg(2, raw)...)
}

// diffJSON compares two JSON documents semantically. Nulls and empty objects and arrays
// count as absent: the protobuf encoding cannot tell them apart, and neither can the rest of
// the API server.
func diffJSON(t *testing.T, want, got []byte) []string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got: %v", err)
	}
	var diffs []string
	compare("", normalize(w), normalize(g), &diffs)
	return diffs
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if n := normalize(e); n != nil {
				out[k] = n
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(x) == 0 {
			return nil
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

func compare(path string, w, g any, diffs *[]string) {
	wm, wok := w.(map[string]any)
	gm, gok := g.(map[string]any)
	if wok && gok {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			compare(path+"."+k, wm[k], gm[k], diffs)
		}
		return
	}
	wa, wok := w.([]any)
	ga, gok := g.([]any)
	if wok && gok && len(wa) == len(ga) {
		for i := range wa {
			compare(fmt.Sprintf("%s[%d]", path, i), wa[i], ga[i], diffs)
		}
		return
	}
	if !reflect.DeepEqual(w, g) {
		wj, _ := json.Marshal(w)
		gj, _ := json.Marshal(g)
		*diffs = append(*diffs, fmt.Sprintf("%s: want %s, got %s", path, wj, gj))
	}
}

// TestEncodeVectors: decoding a vector and encoding it again gives the Kubernetes bytes
// exactly.
func TestEncodeVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/*.pb")
	if err != nil {
		t.Fatal(err)
	}
	for _, pb := range files {
		name := strings.TrimSuffix(filepath.Base(pb), ".pb")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(pb)
			if err != nil {
				t.Fatal(err)
			}
			env, err := DecodeEnvelope(data)
			if err != nil {
				t.Fatal(err)
			}
			obj, ok := NewObject(env.APIVersion, env.Kind)
			if !ok {
				t.Fatalf("no type for %s %s", env.APIVersion, env.Kind)
			}
			if err := Decode(data, obj.(meta.Object)); err != nil {
				t.Fatal(err)
			}
			got, err := Encode(obj.(meta.Object))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("re-encoded bytes differ\n got %x\nwant %x", got, data)
			}
		})
	}
}

// FuzzToJSON: no input panics, and whatever decodes re-encodes and decodes to the same JSON.
func FuzzToJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.pb")
	for _, pb := range files {
		data, err := os.ReadFile(pb)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := ToJSON(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKind) {
				t.Fatalf("error wraps neither sentinel: %v", err)
			}
			return
		}
		env, _ := DecodeEnvelope(data)
		obj, _ := NewObject(env.APIVersion, env.Kind)
		if err := json.Unmarshal(j, obj); err != nil {
			t.Fatalf("ToJSON output does not decode: %v\n%s", err, j)
		}
		mo, ok := obj.(meta.Object)
		if !ok {
			return
		}
		again, err := Encode(mo)
		if err != nil {
			return // e.g. an invalid quantity string that JSON accepted differently
		}
		j2, err := ToJSON(again)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		if d := diffJSON(t, j, j2); len(d) > 0 {
			t.Fatalf("round trip changed the object:\n%s", strings.Join(d, "\n"))
		}
	})
}

func BenchmarkDecodePod(b *testing.B) {
	data, err := os.ReadFile("testdata/pod.pb")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var p core.Pod
		if err := Decode(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
