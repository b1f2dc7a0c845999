package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// kubectl debug against a containerd node, with the real kubectl:
//   - an ephemeral container added through pods/ephemeralcontainers runs in the pod, in
//     the target container's process namespace (it sees the target's sleep), and
//     `kubectl logs POD -c NAME` shows its output;
//   - `kubectl debug -i` attaches to the new container's stdin (no terminal here: the
//     test has none) and prints what the shell answers;
//   - the subresource refuses removing or changing a debug container with Kubernetes'
//     message;
//   - `kubectl debug --copy-to` makes a copy of the pod with the debug container in it.
func TestDebugContainersContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	const node = "e2e-debug"
	startAgent(t, api, node, "10.244.32.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", node, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: target}
spec:
  nodeName: `+node+`
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sleep", "3600"]}
`, "apply", "-f", "-")
	waitPod(t, k, "target", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	jp := func(name, path string) string {
		out, _, _ := k.Exec([]string{"get", "pod", name, "-o", "jsonpath=" + path}, "")
		return out
	}

	// Non-interactive: the container runs its command and exits; its output is in its log.
	k.Run(t, "debug", "target", "--image="+busyboxImage, "-c", "dbg", "--target=c", "--", "sh", "-c", "ps -o pid,args; echo debug-done")
	harness.Eventually(t, 60*time.Second, "dbg terminated", func() (bool, string) {
		out := jp("target", `{.status.ephemeralContainerStatuses[?(@.name=="dbg")].state.terminated.exitCode}`)
		return out == "0", jp("target", "{.status.ephemeralContainerStatuses}")
	})
	logs := k.Run(t, "logs", "target", "-c", "dbg")
	if !strings.Contains(logs, "sleep 3600") || !strings.Contains(logs, "debug-done") {
		t.Errorf("kubectl logs target -c dbg = %q: want the target's sleep (shared process namespace) and debug-done", logs)
	}
	if got := jp("target", `{.status.phase} {.status.conditions[?(@.type=="Ready")].status}`); got != "Running True" {
		t.Errorf("target after debugging: %q", got)
	}

	// Interactive: stdin reaches the shell of a new debug container (in a terminal; this
	// kubectl has none itself, so it attaches without one), kubectl prints its answers.
	out, errOut, err := k.Exec([]string{"debug", "target", "-it", "--image=" + busyboxImage, "-c", "shell", "--target=c", "--", "sh"},
		"echo from-stdin-$((40+2))\nexit 0\n")
	if err != nil || !strings.Contains(out, "from-stdin-42") {
		t.Errorf("kubectl debug -i: %v\nstdout %q\nstderr %q", err, out, errOut)
	}

	// Debug containers are only ever added.
	_, errOut, err = k.Exec([]string{"patch", "pod", "target", "--subresource=ephemeralcontainers", "--type=json",
		"-p", `[{"op":"remove","path":"/spec/ephemeralContainers/0"}]`}, "")
	if err == nil || !strings.Contains(errOut, `existing ephemeral containers "dbg" may not be removed`) {
		t.Errorf("removing a debug container: %v %s", err, errOut)
	}
	_, errOut, err = k.Exec([]string{"patch", "pod", "target", "--subresource=ephemeralcontainers", "--type=json",
		"-p", `[{"op":"replace","path":"/spec/ephemeralContainers/0/image","value":"other"}]`}, "")
	if err == nil || !strings.Contains(errOut, `existing ephemeral containers "dbg" may not be changed`) {
		t.Errorf("changing a debug container: %v %s", err, errOut)
	}
	// A plain pod update may not add one either.
	_, errOut, err = k.Exec([]string{"patch", "pod", "target", "--type=json",
		"-p", `[{"op":"add","path":"/spec/ephemeralContainers/-","value":{"name":"sneaky","image":"busybox"}}]`}, "")
	if err == nil || !strings.Contains(errOut, "Forbidden") {
		t.Errorf("adding a debug container through the pod: %v %s", err, errOut)
	}

	// A copy of the pod with a debug container, on the same node.
	k.Run(t, "debug", "target", "--copy-to=target-copy", "--same-node", "--image="+busyboxImage, "-c", "copydbg",
		"--", "sh", "-c", "echo in-the-copy; exec sleep 3600")
	waitPod(t, k, "target-copy", "Running", func(p *podJSON) bool { return p.Status.Phase == "Running" })
	harness.Eventually(t, 30*time.Second, "copy's debug output", func() (bool, string) {
		out, errOut, _ := k.Exec([]string{"logs", "target-copy", "-c", "copydbg"}, "")
		return out == "in-the-copy\n", out + errOut
	})
	if got := jp("target-copy", `{.spec.containers[*].name}`); got != "c copydbg" {
		t.Errorf("copy's containers %q", got)
	}
}
