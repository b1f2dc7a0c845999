package patch

import (
	"errors"
	"strings"
	"testing"
)

func TestJSONPatch(t *testing.T) {
	tests := []struct{ name, doc, patch, want string }{
		// RFC 6902 appendix A.
		{"A.1 add member", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"baz":"qux","foo":"bar"}`},
		{"A.2 add array element", `{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`},
		{"A.3 remove member", `{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`},
		{"A.4 remove array element", `{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`},
		{"A.5 replace", `{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`},
		{"A.6 move member",
			`{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`,
			`[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`,
			`{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{"A.7 move array element", `{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, `{"foo":["all","cows","eat","grass"]}`},
		{"A.8 test succeeds", `{"baz":"qux","foo":["a",2,"c"]}`,
			`[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`,
			`{"baz":"qux","foo":["a",2,"c"]}`},
		{"A.10 add nested member", `{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, `{"foo":"bar","child":{"grandchild":{}}}`},
		{"A.11 ignore unrecognized members", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux","xyz":123}]`, `{"foo":"bar","baz":"qux"}`},
		{"A.14 escapes", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`, `{"/":9,"~1":10}`},
		{"A.16 add array value", `{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, `{"foo":["bar",["abc","def"]]}`},

		{"test compares numbers by value", `{"a":1}`, `[{"op":"test","path":"/a","value":1.0}]`, `{"a":1}`},
		{"test whole document", `{"a":[1,{"b":null}]}`, `[{"op":"test","path":"","value":{"a":[1,{"b":null}]}}]`, `{"a":[1,{"b":null}]}`},
		{"add null value", `{}`, `[{"op":"add","path":"/a","value":null}]`, `{"a":null}`},
		{"add replaces existing member", `{"a":1}`, `[{"op":"add","path":"/a","value":2}]`, `{"a":2}`},
		{"add at array end by index", `{"a":[1]}`, `[{"op":"add","path":"/a/1","value":2}]`, `{"a":[1,2]}`},
		{"add whole document", `{"a":1}`, `[{"op":"add","path":"","value":[1]}]`, `[1]`},
		{"replace whole document", `{"a":1}`, `[{"op":"replace","path":"","value":{"b":2}}]`, `{"b":2}`},
		{"escaped slash key", `{"metadata":{"labels":{"app.kubernetes.io/name":"x"}}}`,
			`[{"op":"replace","path":"/metadata/labels/app.kubernetes.io~1name","value":"y"}]`,
			`{"metadata":{"labels":{"app.kubernetes.io/name":"y"}}}`},
		{"copy is deep", `{"a":{"b":1}}`,
			`[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]`,
			`{"a":{"b":1},"c":{"b":2}}`},
		{"move to itself", `{"a":1}`, `[{"op":"move","from":"/a","path":"/a"}]`, `{"a":1}`},
		{"ops apply in order", `{"spec":{"containers":[{"name":"a"}]}}`,
			`[{"op":"add","path":"/spec/containers/-","value":{"name":"b"}},{"op":"remove","path":"/spec/containers/0"},{"op":"replace","path":"/spec/containers/0/name","value":"c"}]`,
			`{"spec":{"containers":[{"name":"c"}]}}`},
		{"empty patch", `{"a":1}`, `[]`, `{"a":1}`},
	}
	for _, tt := range tests {
		got, err := JSONPatch([]byte(tt.doc), []byte(tt.patch))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != canonical(t, tt.want) {
			t.Errorf("%s: got %s, want %s", tt.name, got, canonical(t, tt.want))
		}
	}
}

func TestJSONPatchErrors(t *testing.T) {
	tests := []struct {
		name, doc, patch string
		cannotApply      bool   // a well-formed patch that does not fit (422), else malformed (400)
		msg              string // part of the message
	}{
		{"A.9 test fails", `{"baz":"qux"}`, `[{"op":"test","path":"/baz","value":"bar"}]`, true, "test failed"},
		{"A.12 add to nonexistent target", `{"foo":"bar"}`, `[{"op":"add","path":"/baz/bat","value":"qux"}]`, true, `no member "baz"`},
		{"A.15 test string vs number", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":"10"}]`, true, "test failed"},
		{"remove missing", `{"a":1}`, `[{"op":"remove","path":"/b"}]`, true, `no member "b"`},
		{"replace missing", `{"a":1}`, `[{"op":"replace","path":"/b","value":1}]`, true, `no member "b"`},
		{"index out of range", `{"a":[1]}`, `[{"op":"add","path":"/a/2","value":1}]`, true, "out of range"},
		{"remove dash", `{"a":[1]}`, `[{"op":"remove","path":"/a/-"}]`, true, `"-"`},
		{"leading zero index", `{"a":[1,2]}`, `[{"op":"remove","path":"/a/01"}]`, true, "not an array index"},
		{"descend into scalar", `{"a":1}`, `[{"op":"add","path":"/a/b","value":1}]`, true, "not an object or array"},
		{"remove whole document", `{"a":1}`, `[{"op":"remove","path":""}]`, true, "whole document"},
		{"copies that double the document are bounded", `[1]`, `[` + strings.Repeat(`{"op":"copy","from":"","path":"/-"},`, 40) + `{"op":"test","path":"","value":0}]`, true, "copies more than"},
		{"copy from missing", `{"a":1}`, `[{"op":"copy","from":"/x","path":"/b"}]`, true, `no member "x"`},
		{"later op fails, nothing applied", `{"a":1}`, `[{"op":"add","path":"/b","value":1},{"op":"test","path":"/b","value":2}]`, true, "operation 1"},

		{"A.13 invalid: not an array", `{}`, `{"op":"add","path":"/a","value":1}`, false, "array"},
		{"missing op", `{}`, `[{"path":"/a"}]`, false, `missing "op"`},
		{"unknown op", `{}`, `[{"op":"frobnicate","path":"/a"}]`, false, "unknown op"},
		{"missing value", `{}`, `[{"op":"add","path":"/a"}]`, false, `missing "value"`},
		{"missing from", `{}`, `[{"op":"move","path":"/a"}]`, false, `missing "from"`},
		{"path not a string", `{}`, `[{"op":"remove","path":1}]`, false, "must be a string"},
		{"pointer without slash", `{"a":1}`, `[{"op":"remove","path":"a"}]`, false, "start with /"},
		{"bad escape", `{"a":1}`, `[{"op":"remove","path":"/a~2"}]`, false, "~ must be followed"},
		{"move into own child", `{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`, false, "own child"},
		{"element not an object", `{}`, `[1]`, false, "not an object"},
		{"not JSON", `{}`, `[{"op":`, false, "not valid JSON"},
	}
	for _, tt := range tests {
		_, err := JSONPatch([]byte(tt.doc), []byte(tt.patch))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !errors.Is(err, ErrBadPatch) {
			t.Errorf("%s: %v does not wrap ErrBadPatch", tt.name, err)
		}
		if errors.Is(err, ErrCannotApply) != tt.cannotApply {
			t.Errorf("%s: errors.Is(%v, ErrCannotApply) != %v", tt.name, err, tt.cannotApply)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.msg)
		}
	}
}

func TestParsePointer(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"/", []string{""}},
		{"/a/b", []string{"a", "b"}},
		{"/a~1b/~0", []string{"a/b", "~"}},
		{"/~01", []string{"~1"}}, // not "/": ~1 is unescaped before ~0
		{"/ /%25", []string{" ", "%25"}},
	}
	for _, tt := range tests {
		got, err := parsePointer(tt.in)
		if err != nil {
			t.Errorf("parsePointer(%q): %v", tt.in, err)
			continue
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("parsePointer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
