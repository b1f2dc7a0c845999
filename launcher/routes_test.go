package launcher

import "testing"

func TestForeignRoute(t *testing.T) {
	out := `default via 10.0.0.1 dev eth0
10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.5
10.96.0.0/12 via 10.250.123.11 dev skiff7035
10.244.1.0/24 via 10.250.123.12 dev skiff7035
10.250.123.0/24 dev skiff7035 proto kernel scope link src 10.250.123.1
192.168.5.7 dev wg0 scope link
`
	routes := parseRoutes(out)
	if len(routes) != 5 {
		t.Fatalf("parsed %d routes, want 5 (no default): %+v", len(routes), routes)
	}
	cases := []struct {
		cidr, ours string
		wantDev    string // "" = none
	}{
		{"10.96.0.0/12", "skiff6443", "skiff7035"},  // another cluster's Service route
		{"10.96.0.0/12", "skiff7035", ""},           // our own: replace is fine
		{"10.244.0.0/16", "skiff6443", "skiff7035"}, // a pod CIDR of another cluster inside our range
		{"10.244.2.0/24", "skiff6443", ""},          // a /24 nobody routes
		{"192.168.5.0/24", "skiff6443", "wg0"},      // a host route inside the range
		{"10.0.0.0/8", "skiff6443", "eth0"},         // a wider range covers the machine's LAN
		{"172.16.0.0/12", "skiff6443", ""},
	}
	for _, c := range cases {
		r, ok := foreignRoute(routes, c.cidr, c.ours)
		if got := map[bool]string{true: r.dev}[ok]; got != c.wantDev {
			t.Errorf("foreignRoute(%s, ours %s) = %q, want %q", c.cidr, c.ours, got, c.wantDev)
		}
	}
}
