package labels

import "testing"

// FuzzParse: a label selector is user input (?labelSelector=, kubectl -l). No input may
// panic, and what parses prints back to a selector that parses to the same string (the
// string form is what the API server and watch cache key on).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=b", " a = b , c!=d", "x in (b,a)", "x notin (a)", "!a", "a>1", "a<-1",
		"a in ()", "x in (a,,b)", "example.com/key==v", "a=b,", ",", "a in (b", "a!", "a=b=c", "a in (b) c"} {
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
		_ = sel.Matches(Set{"a": "b", "x": "1"})
	})
}
