package apiserver_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

// TestAPIAggregationExplainWithKubectl: the real kubectl explains a kind that only the
// extension server knows, from the OpenAPI the API server merged (v3, and v2 when asked for
// it), and lists it through the proxy.
func TestAPIAggregationExplainWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	env := setUpAggregation(t)
	harness.Eventually(t, 15*time.Second, "the extension's OpenAPI merged", func() (bool, string) {
		v2, v2pb, v3, seen := openAPIState(t, env)
		return v2 && v2pb && v3, seen
	})
	k := &harness.Kubectl{Kubeconfig: env.s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	if out := k.Run(t, cache, "explain", "flunders"); !strings.Contains(out, "A Flunder is what the wardle server serves.") ||
		!strings.Contains(out, "wardle.example.com") {
		t.Errorf("kubectl explain flunders:\n%s", out)
	}
	if out := k.Run(t, cache, "explain", "flunder.spec.reference"); !strings.Contains(out, "the name of another flunder") {
		t.Errorf("kubectl explain flunder.spec.reference:\n%s", out)
	}
	if out := k.Run(t, cache, "explain", "flunders.spec", "--output=plaintext-openapiv2"); !strings.Contains(out, "the name of another flunder") {
		t.Errorf("kubectl explain flunders.spec --output=plaintext-openapiv2:\n%s", out)
	}
	if out := k.Run(t, cache, "get", "flunders", "-n", "default"); !strings.Contains(out, "seen-by-") {
		t.Errorf("kubectl get flunders:\n%s", out)
	}
}
