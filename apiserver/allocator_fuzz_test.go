package apiserver

import (
	"testing"
)

// FuzzServiceCIDR: --service-cluster-ip-range is input. No value may panic; an accepted
// range hands out only its own addresses.
func FuzzServiceCIDR(f *testing.F) {
	for _, s := range []string{"10.96.0.0/12", "10.0.0.0/28", "10.0.0.0/29", "0.0.0.0/0", "10.96.0.1/12", "fd00::/108", "10.96.0.0", "", "10.96.0.0/33"} {
		f.Add(s, int64(1))
	}
	f.Fuzz(func(t *testing.T, cidr string, n int64) {
		a, err := newAllocator(nil, cidr, 30000, 32767)
		if err != nil {
			return
		}
		if n < 0 || n >= a.size() {
			return
		}
		if ip := a.nth(n); !a.cidr.Contains(ip) {
			t.Fatalf("%s: address %d is %s, outside the range", cidr, n, ip)
		}
		if !a.cidr.Contains(a.nth(a.size() - 1)) {
			t.Fatalf("%s: the last address is outside the range", cidr)
		}
	})
}
