package kerneltest

import (
	"fmt"
	"testing"
	"time"
)

// RefusedTenInARow dials a Service address without endpoints ten times in a row from the
// client namespace, as a new user tries again and again, with the node's ICMP redirects
// left on as a node's defaults have them (a Service address the node would route back out
// the interface it came from earns the client a redirect, which shares the per-host ICMP
// rate limit with port-unreachable). Every attempt must be refused (ECONNREFUSED), the
// first one included: a timeout means the refusal was lost.
func (tp *Topology) RefusedTenInARow(t *testing.T, addr string) {
	t.Helper()
	if err := run("ip", "netns", "exec", tp.Node, "sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=1", "net.ipv4.conf.vcli.send_redirects=1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = run("ip", "netns", "exec", tp.Node, "sysctl", "-q", "-w", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.vcli.send_redirects=0")
	})
	for i := range 10 {
		// The deadline only bounds a lost refusal; the assertion is on the error.
		_, err := Dial(tp.Client, addr, 3*time.Second)
		if !refused(err) {
			t.Errorf("attempt %d to %s: %v, want connection refused", i+1, addr, err)
		}
	}
	_ = fmt.Sprint
}
