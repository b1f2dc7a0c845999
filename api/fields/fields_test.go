package fields

import (
	"reflect"
	"testing"
)

// Expected strings and errors were checked against k8s.io/apimachinery v0.33.0.
func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
		reqs     Requirements
	}{
		{"", "", Requirements{}},
		{",", "", Requirements{}},
		{"=", "", Requirements{}}, // an empty field and value is dropped
		{"spec.nodeName=n1", "spec.nodeName=n1", Requirements{{"spec.nodeName", Equals, "n1"}}},
		{"a==b", "a=b", Requirements{{"a", Equals, "b"}}},
		{"a!=b", "a!=b", Requirements{{"a", NotEquals, "b"}}},
		{"status.phase!=Running,metadata.name=x", "metadata.name=x,status.phase!=Running",
			Requirements{{"metadata.name", Equals, "x"}, {"status.phase", NotEquals, "Running"}}},
		{"a=", "a=", Requirements{{"a", Equals, ""}}},
		{"a = b", "a = b", Requirements{{"a ", Equals, " b"}}}, // whitespace is kept
		{`a=x\,y\=z\\`, `a=x\,y\=z\\`, Requirements{{"a", Equals, `x,y=z\`}}},
		{"a=b,,c=d", "a=b,c=d", Requirements{{"a", Equals, "b"}, {"c", Equals, "d"}}},
	}
	for _, tt := range tests {
		sel, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		if got := sel.Requirements(); !reflect.DeepEqual(got, tt.reqs) {
			t.Errorf("Parse(%q).Requirements() = %v, want %v", tt.in, got, tt.reqs)
		}
		if got := sel.Empty(); got != (len(tt.reqs) == 0) {
			t.Errorf("Parse(%q).Empty() = %v", tt.in, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a", "invalid selector: 'a'; can't understand 'a'"},
		{"a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"},
		{`a=b\`, `invalid field selector: invalid escape sequence: \`},
		{`a=\x`, `invalid field selector: invalid escape sequence: \x`},
		{`a=b=c`, "invalid field selector: unescaped character in value: 61"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v, want %s", tt.in, err, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		sel    string
		fields Set
		want   bool
	}{
		{"", Set{"a": "b"}, true},
		{"a=b", Set{"a": "b"}, true},
		{"a=b", Set{"a": "c"}, false},
		{"a=", Set{}, true}, // a missing field is ""
		{"a!=b", Set{}, true},
		{"a!=b", Set{"a": "b"}, false},
		{"a=b,c!=d", Set{"a": "b", "c": "e"}, true},
		{"a=b,c!=d", Set{"a": "b", "c": "d"}, false},
		{`a=x\,y`, Set{"a": "x,y"}, true},
	}
	for _, tt := range tests {
		sel, err := Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := sel.Matches(tt.fields); got != tt.want {
			t.Errorf("%q matches %v = %v, want %v", tt.sel, tt.fields, got, tt.want)
		}
	}
	if Nothing().Matches(Set{}) || !Everything().Matches(Set{"a": "b"}) {
		t.Error("Everything/Nothing")
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel        Selector
		field, val string
		found      bool
	}{
		{ParseSelectorOrDie("spec.nodeName=n1,status.phase!=Failed"), "spec.nodeName", "n1", true},
		{ParseSelectorOrDie("status.phase!=Failed"), "status.phase", "", false},
		{ParseSelectorOrDie("spec.nodeName="), "spec.nodeName", "", true}, // unscheduled pods
		{OneTermEqualSelector("metadata.name", "x"), "metadata.name", "x", true},
		{OneTermNotEqualSelector("metadata.name", "x"), "metadata.name", "", false},
		{Everything(), "a", "", false},
		{Nothing(), "a", "", false},
		{AndSelectors(OneTermEqualSelector("a", "1"), OneTermEqualSelector("b", "2")), "b", "2", true},
		{Set{"a": "1"}.AsSelector(), "a", "1", true},
	}
	for _, tt := range tests {
		if v, ok := tt.sel.RequiresExactMatch(tt.field); v != tt.val || ok != tt.found {
			t.Errorf("%q.RequiresExactMatch(%q) = %q, %v", tt.sel.String(), tt.field, v, ok)
		}
	}
}

func TestValidateFields(t *testing.T) {
	podFields := map[string]bool{"metadata.name": true, "metadata.namespace": true, "spec.nodeName": true, "status.phase": true}
	supported := func(f string) bool { return podFields[f] }
	tests := []struct {
		sel, err string
	}{
		{"", ""},
		{"spec.nodeName=n1,status.phase!=Running", ""},
		{"status.hostIP=10.0.0.1", "field label not supported: status.hostIP"},
		{"metadata.name=x,spec.foo=y", "field label not supported: spec.foo"},
	}
	for _, tt := range tests {
		got := ""
		if err := ValidateFields(ParseSelectorOrDie(tt.sel), supported); err != nil {
			got = err.Error()
		}
		if got != tt.err {
			t.Errorf("ValidateFields(%q) = %q, want %q", tt.sel, got, tt.err)
		}
	}
}

func TestSelectors(t *testing.T) {
	if s := SelectorFromSet(Set{"b": "2", "a": "1"}); s.String() != "a=1,b=2" {
		t.Errorf("SelectorFromSet = %q", s.String())
	}
	if s := SelectorFromSet(nil); !s.Empty() {
		t.Error("SelectorFromSet(nil) is not empty")
	}
	if s := AndSelectors(OneTermEqualSelector("a", "1"), Nothing()); s.Matches(Set{"a": "1"}) {
		t.Error("AndSelectors with Nothing matched")
	}
	if s := OneTermEqualSelector("a", "x,y"); s.String() != `a=x\,y` {
		t.Errorf("escaped String = %q", s.String())
	}
	if got := (Set{"b": "2", "a": "1"}).String(); got != "a=1,b=2" {
		t.Errorf("Set.String = %q", got)
	}
	if !(Set{"a": ""}).Has("a") || (Set{}).Has("a") {
		t.Error("Set.Has")
	}
}

func TestEscape(t *testing.T) {
	for _, v := range []string{"", "plain", `a\b`, "a,b", "a=b", `\,=`} {
		got, err := UnescapeValue(EscapeValue(v))
		if err != nil || got != v {
			t.Errorf("UnescapeValue(EscapeValue(%q)) = %q, %v", v, got, err)
		}
	}
}

func TestParseSelectorOrDiePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	ParseSelectorOrDie("nonsense")
}
