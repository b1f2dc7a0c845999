package apiserver_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// The real kubectl on the versions a built-in kind is served at besides its storage one: an
// events.k8s.io/v1 Event it creates shows in `kubectl events` and `kubectl get` of either
// API, and `kubectl explain` describes autoscaling/v1's own fields.
func TestServedVersionsWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	s := harness.StartServer(t, harness.ServerOptions{})
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	run := func(stdin string, args ...string) string {
		t.Helper()
		return k.RunStdin(t, stdin, append([]string{cache}, args...)...)
	}
	run(`apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: hello, namespace: default}
eventTime: "2026-01-02T03:04:05.000000Z"
type: Warning
reason: Probed
action: Probe
note: the new API speaks
reportingController: example.com/prober
reportingInstance: prober-1
regarding: {kind: Pod, namespace: default, name: web, apiVersion: v1}
`, "create", "-f", "-")

	if out := run("", "events", "-n", "default"); !strings.Contains(out, "the new API speaks") || !strings.Contains(out, "Probed") || !strings.Contains(out, "Pod/web") {
		t.Errorf("kubectl events:\n%s", out)
	}
	if out := run("", "get", "events.v1.events.k8s.io", "hello", "-o", "jsonpath={.apiVersion} {.note} {.regarding.name}"); out != "events.k8s.io/v1 the new API speaks web" {
		t.Errorf("kubectl get events.v1.events.k8s.io: %q", out)
	}
	if out := run("", "get", "events.v1.", "hello", "-o", "jsonpath={.apiVersion} {.message} {.involvedObject.name}"); out != "v1 the new API speaks web" {
		t.Errorf("kubectl get events.v1.: %q", out)
	}
	if out := run("", "get", "events.v1.events.k8s.io"); !strings.Contains(out, "the new API speaks") {
		t.Errorf("kubectl get events.v1.events.k8s.io table:\n%s", out)
	}
	if out := run("", "explain", "hpa.spec", "--api-version=autoscaling/v1"); !strings.Contains(out, "targetCPUUtilizationPercentage") || !strings.Contains(out, "VERSION:    v1") {
		t.Errorf("kubectl explain hpa.spec --api-version=autoscaling/v1:\n%s", out)
	}
	if out := run("", "explain", "hpa.spec"); !strings.Contains(out, "behavior") || !strings.Contains(out, "VERSION:    v2") {
		t.Errorf("kubectl explain hpa.spec:\n%s", out)
	}
}
