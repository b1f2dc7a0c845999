package sim

import "testing"

func TestExitCode(t *testing.T) {
	tests := []struct {
		cmd  []string
		want int
	}{
		{[]string{"sh", "-c", "exit 1"}, 1},
		{[]string{"/bin/sh", "-c", "echo hi; exit 0"}, 0},
		{[]string{"sh", "-c", "echo done && exit 42"}, 42},
		{[]string{"sleep", "3600"}, -1},
		{[]string{"sh", "-c", "exit 1; sleep 5"}, -1},
		{[]string{"true"}, -1},
		{nil, -1},
	}
	for _, tc := range tests {
		if got := ExitCode(tc.cmd); got != tc.want {
			t.Errorf("ExitCode(%q) = %d, want %d", tc.cmd, got, tc.want)
		}
	}
}

func TestIPAMSkipsNetworkGatewayAndBroadcast(t *testing.T) {
	r := New(Options{})
	if err := r.SetPodCIDR("10.1.2.0/30"); err != nil {
		t.Fatal(err)
	}
	// A /30 has .0 (network), .1 (gateway), .2, .3 (broadcast): one pod address.
	ip, err := r.ipam.allocate("a")
	if err != nil || ip != "10.1.2.2" {
		t.Fatalf("first address %q (%v), want 10.1.2.2", ip, err)
	}
	if ip, err := r.ipam.allocate("b"); err == nil {
		t.Fatalf("second address %q, want the range to be full", ip)
	}
	r.ipam.release("a")
	if ip, err := r.ipam.allocate("c"); err != nil || ip != "10.1.2.2" {
		t.Fatalf("after release: %q (%v)", ip, err)
	}
}
