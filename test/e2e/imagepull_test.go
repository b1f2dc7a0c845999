package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// Image pulls as the kubelet shows them, on a containerd node: a pull that fails leaves
// the container in ErrImagePull and then ImagePullBackOff, with Pulling, Failed (naming
// the image) and BackOff events; and deleting a pod whose pull hangs ends the pull, so
// the delete completes instead of waiting for the pull's timeout.
func TestImagePullContainerd(t *testing.T) {
	needContainerd(t)
	// A registry that never answers: every request hangs until the client gives up. It
	// counts the requests it got and those whose client went away.
	var asked, abandoned atomic.Int32
	release := make(chan struct{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hang := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-r.Context().Done():
			abandoned.Add(1)
		case <-release:
		}
	})}
	go hang.Serve(l)
	t.Cleanup(func() { close(release); hang.Close() })

	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	startAgent(t, api, "e2e-pull", "10.244.41.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", "e2e-pull", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})
	// No registry at all: a loopback port nothing listens on refuses the pull at once (no
	// name to resolve, nothing leaves the machine).
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	missing := closed.Addr().String() + "/no/such-image:1"
	closed.Close()
	hanging := l.Addr().String() + "/hangs/forever:1"
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: missing}
spec:
  nodeName: e2e-pull
  containers:
  - {name: c, image: `+missing+`}
---
apiVersion: v1
kind: Pod
metadata: {name: hanging}
spec:
  nodeName: e2e-pull
  containers:
  - {name: c, image: "`+hanging+`"}
`, "apply", "-f", "-")

	// ErrImagePull is a moment between the failed pull and the back-off: a poll may miss it
	// in the status, so the events below show it; the back-off state lasts.
	waitPod(t, k, "missing", "ImagePullBackOff after ErrImagePull", func(p *podJSON) bool {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil && w.Reason == "ImagePullBackOff" &&
				strings.Contains(w.Message, `Back-off pulling image "`+missing+`": ErrImagePull: failed to pull`) {
				return true
			}
		}
		return false
	})
	harness.Eventually(t, 60*time.Second, "the pull's events", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "events", "--field-selector", "involvedObject.name=missing",
			"-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}"}, "")
		return strings.Contains(out, `Pulling: Pulling image "`+missing+`"`) &&
			strings.Contains(out, `Failed: Failed to pull image "`+missing+`"`) &&
			strings.Contains(out, "Failed: Error: ErrImagePull") &&
			strings.Contains(out, `BackOff: Back-off pulling image "`+missing+`"`) &&
			strings.Contains(out, "Failed: Error: ImagePullBackOff"), out
	})

	// The hanging pull: Pulling is recorded and the pod's status published while it runs.
	harness.Eventually(t, 60*time.Second, "the pull reaches the registry", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "events", "--field-selector", "involvedObject.name=hanging",
			"-o", "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}"}, "")
		return asked.Load() > 0 && strings.Contains(out, `Pulling: Pulling image "`+hanging+`"`), out
	})
	waitPod(t, k, "hanging", "ContainerCreating while the pull runs", func(p *podJSON) bool {
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil && w.Reason == "ContainerCreating" {
				return true
			}
		}
		return false
	})
	k.Run(t, "delete", "pod", "hanging", "--wait=false")
	harness.Eventually(t, 90*time.Second, "the pod with the hanging pull deleted", func() (bool, string) {
		out, errOut, err := k.Exec([]string{"get", "pod", "hanging", "-o", "name"}, "")
		return err != nil && strings.Contains(errOut, "NotFound"), out + errOut
	})
	harness.Eventually(t, 30*time.Second, "the registry's requests canceled (the pull ended with its pod)", func() (bool, string) {
		return abandoned.Load() > 0, fmt.Sprintf("%d requests, %d canceled", asked.Load(), abandoned.Load())
	})
}
