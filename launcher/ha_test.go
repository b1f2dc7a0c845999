package launcher

import (
	"reflect"
	"testing"
)

func TestControlPlaneAddresses(t *testing.T) {
	cp := newControlPlane(Options{APIServers: 3, Port: 6443}, "10.88.0.1:6443,127.0.0.1:6443", "https://10.88.0.1:6443")
	if got, want := cp.listen(2), "10.88.0.1:6445,127.0.0.1:6445"; got != want {
		t.Errorf("listen(2) = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		i        int
		fromNode bool
		want     []string
	}{
		{0, false, []string{"--server", "https://127.0.0.1:6443,https://127.0.0.1:6444,https://127.0.0.1:6445"}},
		{1, false, []string{"--server", "https://127.0.0.1:6444,https://127.0.0.1:6445,https://127.0.0.1:6443"}},
		{5, true, []string{"--server", "https://10.88.0.1:6445,https://10.88.0.1:6443,https://10.88.0.1:6444"}},
	} {
		if got := cp.serverArgs(tc.i, tc.fromNode); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("serverArgs(%d, %v) = %v, want %v", tc.i, tc.fromNode, got, tc.want)
		}
	}
	names := []string{}
	for _, in := range cp.instances([]string{"skiff-scheduler"}) {
		names = append(names, in.name)
	}
	if want := []string{"skiff-scheduler", "skiff-scheduler-2", "skiff-scheduler-3"}; !reflect.DeepEqual(names, want) {
		t.Errorf("instances = %v, want %v", names, want)
	}
	one := newControlPlane(Options{APIServers: 1, Port: 6443}, "127.0.0.1:6443", "https://127.0.0.1:6443")
	if got := one.serverArgs(0, false); got != nil {
		t.Errorf("one API server: serverArgs = %v, want none (the kubeconfig's address)", got)
	}
}
