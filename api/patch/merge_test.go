package patch

import (
	"bytes"
	"errors"
	"testing"
)

// canonical re-encodes a JSON text so that documents compare regardless of key order
// and spacing.
func canonical(t *testing.T, s string) string {
	t.Helper()
	v, err := decode([]byte(s))
	if err != nil {
		t.Fatalf("bad JSON in test %q: %v", s, err)
	}
	b, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMergePatchRFC7386(t *testing.T) {
	// RFC 7386 appendix A, plus the cases the API server meets.
	tests := []struct{ original, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// Arrays are replaced verbatim, nulls inside included.
		{`{"a":[1]}`, `{"a":[null,{"x":null}]}`, `{"a":[null,{"x":null}]}`},
		// kubectl patch --type merge on labels.
		{`{"metadata":{"name":"p","labels":{"app":"web","tier":"fe"}}}`,
			`{"metadata":{"labels":{"tier":null,"env":"prod"}}}`,
			`{"metadata":{"name":"p","labels":{"app":"web","env":"prod"}}}`},
		// Large integers survive untouched.
		{`{"n":9007199254740993}`, `{"m":12345678901234567890}`, `{"m":12345678901234567890,"n":9007199254740993}`},
	}
	for _, tt := range tests {
		got, err := MergePatch([]byte(tt.original), []byte(tt.patch))
		if err != nil {
			t.Errorf("MergePatch(%s, %s): %v", tt.original, tt.patch, err)
			continue
		}
		if string(got) != canonical(t, tt.want) {
			t.Errorf("MergePatch(%s, %s) = %s, want %s", tt.original, tt.patch, got, tt.want)
		}
	}
}

func TestMergePatchKeepsHTML(t *testing.T) {
	got, err := MergePatch([]byte(`{}`), []byte(`{"a":"<b>&"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(`{"a":"<b>&"}`)) {
		t.Errorf("got %s", got)
	}
}

func TestMergePatchErrors(t *testing.T) {
	tests := []struct {
		name, original, patch string
		badPatch              bool
	}{
		{"patch not JSON", `{}`, `{"a":`, true},
		{"empty patch", `{}`, ``, true},
		{"trailing data", `{}`, `{} {}`, true},
		{"original not JSON", `{`, `{}`, false},
	}
	for _, tt := range tests {
		_, err := MergePatch([]byte(tt.original), []byte(tt.patch))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if errors.Is(err, ErrBadPatch) != tt.badPatch {
			t.Errorf("%s: errors.Is(%v, ErrBadPatch) = %v, want %v", tt.name, err, !tt.badPatch, tt.badPatch)
		}
	}
}
