package apiserver_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// TestValidatingAdmissionPolicyWithKubectl: the example of docs/extending.md
// (examples/admission-policy) with the real kubectl: the policy, binding, namespace and
// parameter apply; `kubectl create` of the violating Deployment prints Kubernetes' denial;
// `kubectl get` shows the kinds' columns and the policy's type check.
func TestValidatingAdmissionPolicyWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	s := harness.StartServer(t, harness.ServerOptions{})
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	policy, err := os.ReadFile("../examples/admission-policy/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	deployment, err := os.ReadFile("../examples/admission-policy/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	k.RunStdin(t, string(policy), cache, "apply", "-f", "-")
	// Server-side apply takes the kinds too (the conformance spec that type-checks a CRD
	// applies an auditAnnotation to a policy).
	k.RunStdin(t, string(policy), cache, "apply", "--server-side", "--force-conflicts", "-f", "-")

	// kubectl renders a 422 by its causes: Kubernetes' denial carries one without a field,
	// hence the ": :" that kubectl prints for Kubernetes too.
	const want = `The deployments "web" is invalid: : ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit' denied request: replicas must be at most 3, got 10`
	var stderr string
	harness.Eventually(t, 10*time.Second, "kubectl create to be refused", func() (bool, string) {
		var err error
		_, stderr, err = k.Exec([]string{cache, "create", "-f", "-"}, string(deployment))
		if err == nil {
			k.Run(t, cache, "-n", "limited", "delete", "deployment", "web")
		}
		return err != nil, stderr
	})
	if !strings.Contains(stderr, want) {
		t.Errorf("kubectl create printed:\n%s\nwant %s", stderr, want)
	}
	small := strings.Replace(string(deployment), "replicas: 10", "replicas: 2", 1)
	k.RunStdin(t, small, cache, "create", "-f", "-")

	out := k.Run(t, cache, "get", "validatingadmissionpolicies")
	if !strings.Contains(out, "VALIDATIONS") || !strings.Contains(out, "PARAMKIND") || !strings.Contains(out, "v1/ConfigMap") {
		t.Errorf("kubectl get validatingadmissionpolicies:\n%s", out)
	}
	out = k.Run(t, cache, "get", "validatingadmissionpolicybindings")
	if !strings.Contains(out, "POLICYNAME") || !strings.Contains(out, "PARAMREF") || !strings.Contains(out, "*/replica-limit") {
		t.Errorf("kubectl get validatingadmissionpolicybindings:\n%s", out)
	}
	if out := k.Run(t, cache, "explain", "validatingadmissionpolicy.spec.validations"); !strings.Contains(out, "messageExpression") {
		t.Errorf("kubectl explain validatingadmissionpolicy.spec.validations:\n%s", out)
	}
	harness.Eventually(t, 10*time.Second, "the policy's type check", func() (bool, string) {
		out := k.Run(t, cache, "get", "validatingadmissionpolicy", "replica-limit", "-o", "jsonpath={.status.observedGeneration}/{.status.typeChecking}")
		return out == "1/{}", out
	})
}
