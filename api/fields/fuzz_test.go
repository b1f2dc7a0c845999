package fields

import "testing"

// FuzzParse: a field selector is user input (?fieldSelector=). No input may panic, and what
// parses prints back to a selector that parses to the same string.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=b", "metadata.name=x,spec.nodeName!=", "a==b", `a=b\,c`, `a=\=`, "a", "=b", "a=b,", `a=\`, "a!=b!=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sel, err := Parse(in)
		if err != nil {
			return
		}
		out := sel.String()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", in, out, err)
		}
		if again.String() != out {
			t.Fatalf("Parse(%q) printed %q, which prints as %q", in, out, again.String())
		}
		_ = sel.Matches(Set{"a": "b", "metadata.name": "x"})
	})
}
