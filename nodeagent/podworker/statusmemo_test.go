package podworker

import (
	"encoding/json"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestAPIStatusIsEncodedOncePerResourceVersion(t *testing.T) {
	st := &podState{}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{ResourceVersion: "5"}, Status: core.PodStatus{Phase: core.PodPending}}
	first := st.apiStatusJSON(pod)
	want, _ := json.Marshal(pod.Status)
	if string(first) != string(want) {
		t.Fatalf("got %s, want %s", first, want)
	}
	// The same resourceVersion is the same status: not encoded again.
	pod.Status.Phase = core.PodRunning
	if got := st.apiStatusJSON(pod); &got[0] != &first[0] {
		t.Errorf("re-encoded for the same resourceVersion: %s", got)
	}
	// A new one is; what the agent sent and got back is kept once.
	st.lastSent, _ = json.Marshal(core.PodStatus{Phase: core.PodRunning})
	pod.ResourceVersion = "6"
	got := st.apiStatusJSON(pod)
	if string(got) != string(st.lastSent) || &got[0] != &st.lastSent[0] {
		t.Errorf("got %s (shared %v), want the last sent %s", got, &got[0] == &st.lastSent[0], st.lastSent)
	}
	// No resourceVersion (a pod not from the API): never cached.
	pod.ResourceVersion, pod.Status.Phase = "", core.PodFailed
	if got := st.apiStatusJSON(pod); string(got) != `{"phase":"Failed"}` {
		t.Errorf("got %s", got)
	}
}
