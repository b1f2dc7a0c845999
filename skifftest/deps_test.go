package skifftest

import (
	"os/exec"
	"strings"
	"testing"
)

// skifftest may import k8s.io/client-go (it is a test library: RESTConfig); skiff's own
// programs never do. A component that started to would fail here.
func TestComponentsDoNotImportClientGo(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/...")
	cmd.Dir = ".." // a test runs in its package's directory, here one below the module root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/...: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "k8s.io/client-go") || strings.HasPrefix(pkg, "sigs.k8s.io/controller-runtime") ||
			pkg == "github.com/skiff-sh/skiff/skifftest" {
			t.Errorf("a skiff program depends on %s", pkg)
		}
	}
}
