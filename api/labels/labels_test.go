package labels

import (
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
)

// Expected strings and errors were checked against k8s.io/apimachinery v0.33.0.
func TestParse(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"a=b", "a=b"},
		{" a = b , c!=d", "a=b,c!=d"},
		{"a==b", "a==b"},
		{"x in (b,a)", "x in (a,b)"},
		{"x notin (a)", "x notin (a)"},
		{"x in (a,a)", "x in (a)"},
		{"a", "a"},
		{"!a", "!a"},
		{"b,!a", "!a,b"}, // sorted by key
		{"a=", "a="},
		{"a in ()", "a in ()"},
		{"a in (,)", "a in ()"},
		{"x in (a,,b)", "x in (,a,b)"},
		{"a>1", "a>1"},
		{"a<10", "a<10"},
		{"in=in", "in=in"},
		{"a in (in,notin)", "a in (in,notin)"},
		{"a=b,b=c,a=d", "a=b,a=d,b=c"},
		{"example.com/x=y", "example.com/x=y"},
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
		if again, err := Parse(sel.String()); err != nil || again.String() != tt.want {
			t.Errorf("reparse of %q = %v, %v", tt.want, again, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"a=b c", "found 'c', expected: ',' or 'end of string'"},
		{"a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"},
		{"a in a", "unable to parse requirement: found 'a' expected: '('"},
		{"=a", "found '=', expected: !, identifier, or 'end of string'"},
		{"a=b=c", "found '=', expected: ',' or 'end of string'"},
		{"a=(b)", "unable to parse requirement: found '(', expected: identifier"},
		{",a", "found ',', expected: !, identifier, or 'end of string'"},
		{"a,", "found '', expected: identifier after ','"},
		{"a in (b", "unable to parse requirement: found '', expected: ',' or ')'"},
		{"!a=b", "found '=', expected: ',' or 'end of string'"},
		{"a<x", `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`},
		{"/x", `unable to parse requirement: <nil>: Invalid value: "/x": prefix part must be non-empty`},
		{"a=-b", `unable to parse requirement: values[0][a]: Invalid value: "-b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		// Gt/Lt values are label values too, so negative numbers are rejected (as in Kubernetes).
		{"a<-1", `unable to parse requirement: values[0][a]: Invalid value: "-1": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"a/b/c", `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error =\n  %v\nwant\n  %s", tt.in, err, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		sel    string
		labels Set
		want   bool
	}{
		{"", Set{"a": "b"}, true},
		{"a=b", Set{"a": "b"}, true},
		{"a=b", Set{"a": "c"}, false},
		{"a=b", Set{}, false},
		{"a!=b", Set{}, true}, // a missing label is "not b"
		{"a!=b", Set{"a": "b"}, false},
		{"a in (x,y)", Set{"a": "y"}, true},
		{"a in (x,y)", Set{"a": "z"}, false},
		{"a notin (x)", Set{}, true},
		{"a notin (x)", Set{"a": "x"}, false},
		{"a", Set{"a": ""}, true},
		{"a", Set{"b": ""}, false},
		{"!a", Set{"b": ""}, true},
		{"!a", Set{"a": ""}, false},
		{"a=", Set{"a": ""}, true},
		{"a>5", Set{"a": "6"}, true},
		{"a>5", Set{"a": "5"}, false},
		{"a>5", Set{"a": "x"}, false},
		{"a>5", Set{}, false},
		{"a<5", Set{"a": "-1"}, true},
		{"a=b,c", Set{"a": "b", "c": "d"}, true},
		{"a=b,c", Set{"a": "b"}, false},
	}
	for _, tt := range tests {
		sel, err := Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if got := sel.Matches(tt.labels); got != tt.want {
			t.Errorf("%q matches %v = %v, want %v", tt.sel, tt.labels, got, tt.want)
		}
	}
}

func TestEverythingNothing(t *testing.T) {
	e, n := Everything(), Nothing()
	if !e.Matches(Set{"a": "b"}) || !e.Empty() || e.String() != "" {
		t.Error("Everything")
	}
	if n.Matches(Set{}) || n.Empty() || n.String() != "" {
		t.Error("Nothing")
	}
	if _, ok := n.Requirements(); ok {
		t.Error("Nothing is selectable")
	}
	r, _ := NewRequirement("a", Exists, nil)
	if s := NewSelector().Add(*r); s.String() != "a" || s.Empty() {
		t.Errorf("NewSelector().Add = %q", s.String())
	}
}

func TestRequiresExactMatch(t *testing.T) {
	tests := []struct {
		sel, label, value string
		found             bool
	}{
		{"a=b", "a", "b", true},
		{"a==b,c=d", "c", "d", true},
		{"a in (b)", "a", "b", true},
		{"a in (b,c)", "a", "", false},
		{"a!=b", "a", "", false},
		{"a=b", "c", "", false},
	}
	for _, tt := range tests {
		sel, _ := Parse(tt.sel)
		if v, ok := sel.RequiresExactMatch(tt.label); v != tt.value || ok != tt.found {
			t.Errorf("%q.RequiresExactMatch(%q) = %q, %v", tt.sel, tt.label, v, ok)
		}
	}
	if v, ok := SelectorFromSet(Set{"spec": "x"}).RequiresExactMatch("spec"); v != "x" || !ok {
		t.Error("SelectorFromSet")
	}
}

func TestNewRequirement(t *testing.T) {
	tests := []struct {
		key  string
		op   Operator
		vals []string
		err  string // "" for valid
		str  string
	}{
		{"a", In, []string{"y", "x"}, "", "a in (x,y)"},
		{"a", GreaterThan, []string{"3"}, "", "a>3"},
		{"a", LessThan, []string{"3"}, "", "a<3"},
		{"a", DoesNotExist, nil, "", "!a"},
		{"a", In, nil, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty", ""},
		{"a", Equals, []string{"x", "y"}, `values: Invalid value: []string{"x", "y"}: exact-match compatibility requires one single value`, ""},
		{"a", Exists, []string{"x"}, `values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist`, ""},
		{"a", GreaterThan, []string{"x"}, `values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`, ""},
		{"a", "~", nil, `operator: Unsupported value: "~": supported values: "in", "notin", "=", "==", "!=", "gt", "lt", "exists", "!"`, ""},
		{"", Exists, nil, `key: Invalid value: "": name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`, ""},
		// Several problems are listed together, as a Kubernetes aggregate.
		{"/x", Equals, []string{"-v"}, `[key: Invalid value: "/x": prefix part must be non-empty, values[0][/x]: Invalid value: "-v": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]`, ""},
	}
	for _, tt := range tests {
		r, err := NewRequirement(tt.key, tt.op, tt.vals)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("NewRequirement(%q, %q, %q) error =\n  %v\nwant\n  %s", tt.key, tt.op, tt.vals, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("NewRequirement(%q, %q, %q): %v", tt.key, tt.op, tt.vals, err)
			continue
		}
		if r.String() != tt.str || r.Key() != tt.key || r.Operator() != tt.op {
			t.Errorf("requirement = %q", r.String())
		}
	}
}

func TestValidate(t *testing.T) {
	keys := []struct {
		key  string
		want []string
	}{
		{"app", nil},
		{"app.kubernetes.io/name", nil},
		{"A_b-c.D", nil},
		{strings.Repeat("a", 63), nil},
		{strings.Repeat("a", 64), []string{"name part must be no more than 63 characters"}},
		{"x/", []string{"name part must be non-empty", "name part " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc")}},
		{"Ex.com/k", []string{"prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"}},
		{strings.Repeat("a", 254) + "/b", []string{"prefix part must be no more than 253 characters"}},
	}
	for _, tt := range keys {
		if got := ValidateKey(tt.key); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ValidateKey(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	values := []struct {
		value string
		valid bool
	}{
		{"", true}, {"v", true}, {"a.b_c-d", true}, {"-v", false}, {"v-", false}, {"x y", false},
		{strings.Repeat("v", 63), true}, {strings.Repeat("v", 64), false},
	}
	for _, tt := range values {
		if got := ValidateValue(tt.value); (len(got) == 0) != tt.valid {
			t.Errorf("ValidateValue(%q) = %q", tt.value, got)
		}
	}
}

func TestLabelSelector(t *testing.T) {
	tests := []struct {
		name string
		ls   *meta.LabelSelector
		want string // FormatLabelSelector
		err  string
	}{
		{"nil", nil, "<none>", ""},
		{"empty", &meta.LabelSelector{}, "<none>", ""},
		{"labels", &meta.LabelSelector{MatchLabels: map[string]string{"tier": "web", "app": "x"}}, "app=x,tier=web", ""},
		{"expressions", &meta.LabelSelector{
			MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []meta.LabelSelectorRequirement{
				{Key: "tier", Operator: meta.LabelSelectorOpIn, Values: []string{"b", "a"}},
				{Key: "canary", Operator: meta.LabelSelectorOpDoesNotExist},
				{Key: "zone", Operator: meta.LabelSelectorOpNotIn, Values: []string{"z"}},
				{Key: "env", Operator: meta.LabelSelectorOpExists},
			},
		}, "app=web,!canary,env,tier in (a,b),zone notin (z)", ""},
		{"bad operator", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "a", Operator: "Gt"}}},
			"<error>", `"Gt" is not a valid label selector operator`},
		{"no values", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "a", Operator: "In"}}},
			"<error>", "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatLabelSelector(tt.ls); got != tt.want {
				t.Errorf("FormatLabelSelector = %q, want %q", got, tt.want)
			}
			sel, err := SelectorFromLabelSelector(tt.ls)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// nil selects nothing, empty selects everything.
			if got := sel.Matches(Set{}); got != (tt.ls != nil && tt.want == "<none>") {
				t.Errorf("Matches({}) = %v", got)
			}
		})
	}

	sel, _ := SelectorFromLabelSelector(&meta.LabelSelector{
		MatchLabels:      map[string]string{"app": "web"},
		MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"fe", "be"}}},
	})
	if !sel.Matches(Set{"app": "web", "tier": "be"}) || sel.Matches(Set{"app": "web", "tier": "db"}) {
		t.Error("structured selector does not match as expected")
	}
}

func TestParseToLabelSelector(t *testing.T) {
	got, err := ParseToLabelSelector("app=web,tier in (b,a),!canary,env,zone notin (z)")
	if err != nil {
		t.Fatal(err)
	}
	want := &meta.LabelSelector{
		MatchLabels: map[string]string{"app": "web"},
		MatchExpressions: []meta.LabelSelectorRequirement{
			{Key: "canary", Operator: "DoesNotExist"},
			{Key: "env", Operator: "Exists"},
			{Key: "tier", Operator: "In", Values: []string{"a", "b"}},
			{Key: "zone", Operator: "NotIn", Values: []string{"z"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseToLabelSelector = %+v", got)
	}
	for in, msg := range map[string]string{
		"a!=b": `"!=" is not a valid label selector operator`,
		"a>1":  `"gt" isn't supported in label selectors`,
		"a b":  `couldn't parse the selector string "a b": unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt`,
	} {
		if _, err := ParseToLabelSelector(in); err == nil || err.Error() != msg {
			t.Errorf("ParseToLabelSelector(%q) error = %v, want %s", in, err, msg)
		}
	}
}

func TestSet(t *testing.T) {
	s := Set{"b": "2", "a": "1"}
	if s.String() != "a=1,b=2" || !s.Has("a") || s.Has("c") || s.Get("b") != "2" {
		t.Errorf("Set = %q", s.String())
	}
	if !s.AsSelector().Matches(Set{"a": "1", "b": "2", "c": "3"}) || s.AsSelector().Matches(Set{"a": "1"}) {
		t.Error("AsSelector")
	}
	if FormatLabels(nil) != "<none>" || FormatLabels(s) != "a=1,b=2" {
		t.Error("FormatLabels")
	}
	if _, err := ValidatedSelectorFromSet(Set{"a": "-"}); err == nil {
		t.Error("ValidatedSelectorFromSet accepted an invalid value")
	}
	if sel, err := ValidatedSelectorFromSet(s); err != nil || sel.String() != "a=1,b=2" {
		t.Errorf("ValidatedSelectorFromSet = %v, %v", sel, err)
	}
}
