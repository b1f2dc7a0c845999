package validation

import (
	"net"
	"testing"

	"github.com/skiff-sh/skiff/api/validation/field"
)

// FuzzIsValidCIDR: CIDRs and IPs come from Service, Node and NetworkPolicy specs. No input
// may panic; whatever Go's own parser accepts is accepted (Kubernetes' checks are the
// "sloppy" legacy ones, a superset), and what is accepted yields a network.
func FuzzIsValidCIDR(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "010.000.0.0/16", "::/0", "fd00::/64", "10.0.0.1/33", "1.2.3.4", "", "/", "1.2.3.4/", "1.2.3.0/24/1", "::ffff:1.2.3.4/120", "01.02.03.04/8"} {
		f.Add(s)
	}
	p := field.NewPath("x")
	f.Fuzz(func(t *testing.T, s string) {
		errs := IsValidCIDR(p, s)
		if _, _, err := net.ParseCIDR(s); err == nil && len(errs) > 0 {
			t.Fatalf("IsValidCIDR(%q) refused what net.ParseCIDR accepts: %v", s, errs)
		}
		if len(errs) == 0 {
			if n, err := parseCIDRSloppy(s); err != nil || n == nil {
				t.Fatalf("IsValidCIDR(%q) accepted but parsing fails: %v", s, err)
			}
		}
		ipErrs := IsValidIP(p, s)
		if net.ParseIP(s) != nil && len(ipErrs) > 0 {
			t.Fatalf("IsValidIP(%q) refused what net.ParseIP accepts: %v", s, ipErrs)
		}
	})
}
