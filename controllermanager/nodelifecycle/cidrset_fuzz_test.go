package nodelifecycle

import (
	"net/netip"
	"testing"
)

// FuzzCIDRSet: --cluster-cidr and --node-cidr-mask-size, and the podCIDRs found on nodes,
// are input. No combination may panic; the i-th node CIDR maps back to i, and any CIDR the
// set claims as its own maps to itself.
func FuzzCIDRSet(f *testing.F) {
	f.Add("10.244.0.0/16", 24, "10.244.3.0/24", 7)
	f.Add("10.0.0.0/8", 28, "10.255.255.240/28", 1<<20-1)
	f.Add("10.244.0.0/16", 16, "10.244.0.0/16", 0)
	f.Add("10.244.0.0/16", 32, "10.244.0.9/32", 9)
	f.Add("0.0.0.0/0", 20, "255.255.240.0/20", 4095)
	f.Add("fd00::/64", 80, "fd00::/80", 0)
	f.Fuzz(func(t *testing.T, cluster string, bits int, node string, i int) {
		c, err := netip.ParsePrefix(cluster)
		if err != nil {
			return
		}
		s, err := newCIDRSet(c, bits)
		if err != nil {
			return
		}
		if i >= 0 && i < s.count {
			p := s.prefix(i)
			if j, ok := s.index(p); !ok || j != i {
				t.Fatalf("cluster %s /%d: prefix(%d) = %s, index %d %v", cluster, bits, i, p, j, ok)
			}
		}
		if n, err := netip.ParsePrefix(node); err == nil {
			if j, ok := s.index(n); ok {
				if j < 0 || j >= s.count || s.prefix(j) != n.Masked() {
					t.Fatalf("cluster %s /%d: index(%s) = %d, prefix of that %s", cluster, bits, n, j, s.prefix(j))
				}
			}
		}
	})
}
