package resource

import "testing"

// FuzzParseQuantity: quantities come from every manifest (resources, sizeLimit). No input
// may panic, and what parses prints in canonical form that parses to an equal quantity
// printing the same.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "1", "100m", "1.5Gi", "1e3", "1E-3", "-2Ki", "0.1", "12345678901234567890", "1.0000000001",
		"9223372036854775807", "1e400", "", "Gi", "1.", ".5", "+1", "1 Gi", "1Ei", "0.000000001", "1n", "1u"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		q, err := ParseQuantity(in)
		if err != nil {
			return
		}
		out := q.String()
		again, err := ParseQuantity(out)
		if err != nil {
			t.Fatalf("ParseQuantity(%q) printed %q, which does not parse: %v", in, out, err)
		}
		if again.Cmp(q) != 0 || again.String() != out {
			t.Fatalf("ParseQuantity(%q) = %q, reparsed %q (cmp %d)", in, out, again.String(), again.Cmp(q))
		}
		_ = q.Value()
		_ = q.MilliValue()
	})
}
