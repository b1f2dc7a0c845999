package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// kubectl drain against a PodDisruptionBudget: with no disruption allowed the drain cordons
// the node and keeps being refused (429, retried by kubectl) until its timeout; once the
// budget allows one disruption at a time, the drain evicts the node's pods one by one as their
// replacements become ready elsewhere, and finishes.
func TestDrainRespectsDisruptionBudget(t *testing.T) {
	c := harness.Up(t, "", apiServerOnly...)
	ensureControlLoops(t, c, 2)
	k := c.Kubectl
	k.Run(t, "create", "namespace", "drain")
	k.Run(t, "-n", "drain", "create", "deployment", "web", "--image=busybox", "--replicas=3")
	rolloutStatus(t, k, "drain", "web")
	k.RunStdin(t, `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: drain}
spec:
  minAvailable: 3
  selector: {matchLabels: {app: web}}
`, "apply", "-f", "-")
	waitFor(t, "budget status", 30*time.Second, func() (bool, string) {
		got := jsonpath(k, "-n", "drain", "pdb", "web", "-o", "jsonpath={.status.currentHealthy}/{.status.desiredHealthy}/{.status.disruptionsAllowed}")
		return got == "3/3/0", got
	})
	node := jsonpath(k, "-n", "drain", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].spec.nodeName}")
	if node == "" {
		t.Fatal("no node for the first pod")
	}

	out, stderr, err := k.Exec([]string{"drain", node, "--ignore-daemonsets", "--timeout=15s"}, "")
	if err == nil {
		t.Fatalf("drain under a budget allowing no disruption succeeded:\n%s", out)
	}
	if !strings.Contains(out+stderr, "Cannot evict pod as it would violate the pod's disruption budget.") {
		t.Fatalf("drain output lacks the budget refusal:\n%s\n%s", out, stderr)
	}
	if got := jsonpath(k, "node", node, "-o", "jsonpath={.spec.unschedulable}"); got != "true" {
		t.Fatalf("node not cordoned: %q", got)
	}
	if n := podsOn(k, node); n == 0 {
		t.Fatal("a pod was evicted although the budget allowed none")
	}

	k.Run(t, "-n", "drain", "patch", "pdb", "web", "--type=merge", "-p", `{"spec":{"minAvailable":2}}`)
	out = k.Run(t, "drain", node, "--ignore-daemonsets", "--timeout=120s")
	if !strings.Contains(out, "node/"+node+" drained") {
		t.Fatalf("drain: %s", out)
	}
	if n := podsOn(k, node); n != 0 {
		t.Fatalf("%d web pods left on the drained node", n)
	}
	rolloutStatus(t, k, "drain", "web")
}

// podsOn counts the web pods on node that are not terminating.
func podsOn(k *harness.Kubectl, node string) int {
	out := jsonpath(k, "-n", "drain", "pods", "-l", "app=web", "--field-selector", "spec.nodeName="+node,
		"-o", `jsonpath={range .items[*]}{.metadata.name}{"="}{.metadata.deletionTimestamp}{" "}{end}`)
	n := 0
	for _, f := range strings.Fields(out) {
		if strings.HasSuffix(f, "=") {
			n++
		}
	}
	return n
}
