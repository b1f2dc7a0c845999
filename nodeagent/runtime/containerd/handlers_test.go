package containerd

import "testing"

// A RuntimeClass handler picks the containerd runtime (shim) of the pod's sandbox and
// containers; runc is always there, others only as configured, and an unknown one is
// containerd's CRI error, which the pod's FailedCreatePodSandBox event shows.
func TestRuntimeForHandler(t *testing.T) {
	o := Options{RuntimeHandlers: map[string]string{"kata": "io.containerd.kata.v2", "test-handler": runcRuntime}}
	for _, tc := range []struct{ handler, want, err string }{
		{"", runcRuntime, ""},
		{"runc", runcRuntime, ""},
		{"kata", "io.containerd.kata.v2", ""},
		{"test-handler", runcRuntime, ""},
		{"gvisor", "", `failed to get sandbox runtime: no runtime for "gvisor" is configured`},
	} {
		got, err := o.runtimeFor(tc.handler)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("runtimeFor(%q) = %q, %v; want %q, %q", tc.handler, got, err, tc.want, tc.err)
		}
	}
}
