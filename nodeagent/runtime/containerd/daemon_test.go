package containerd

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestDaemonSocket(t *testing.T) {
	short := "/var/lib/skiff/node/agent/containerd"
	if got := daemonSocket(short); got != short+"/containerd.sock" {
		t.Errorf("short data dir: socket %s, want it in the data dir", got)
	}
	// A test's temporary directory: containerd would refuse ADDRESS.ttrpc as too long.
	long := "/tmp/TestVMClusterFromSystemdUnits834719206/001/w1/var/lib/skiff/node/agent/containerd"
	got := daemonSocket(long)
	if strings.HasPrefix(got, long) || !strings.HasPrefix(got, socketRoot+"/containerd-") {
		t.Errorf("long data dir: socket %s, want one under %s", got, socketRoot)
	}
	if n := len(got + ".ttrpc"); n > maxSocketPath {
		t.Errorf("long data dir: %s.ttrpc is %d bytes, containerd takes at most %d", got, n, maxSocketPath)
	}
	if again := daemonSocket(long); again != got {
		t.Errorf("the same data dir gave %s, then %s: a restarted agent would not find its daemon", got, again)
	}
	if other := daemonSocket(strings.Replace(long, "/w1/", "/w2/", 1)); other == got {
		t.Errorf("two data dirs share the socket %s", got)
	}
	if filepath.Base(got) != "containerd.sock" {
		t.Errorf("socket %s", got)
	}
}
