package main

import (
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// TestExample runs docs/extending.md's conversion example with the real kubectl: the
// definition from crd.yaml pointed at this webhook, a Paint written in each version, read and
// selected by field in both.
func TestExample(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	hook := httptest.NewTLSServer(http.HandlerFunc(Handle))
	defer hook.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw})

	s := harness.StartServer(t, harness.ServerOptions{})
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	run := func(stdin string, args ...string) string {
		t.Helper()
		return strings.TrimSpace(k.RunStdin(t, stdin, append([]string{cache}, args...)...))
	}
	crd, err := os.ReadFile("crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	manifest := strings.NewReplacer("WEBHOOK_URL", hook.URL+"/convert", "CA_BUNDLE", base64.StdEncoding.EncodeToString(ca)).Replace(string(crd))
	run(manifest, "apply", "-f", "-")
	run("", "wait", "--for=condition=Established", "crd/paints.example.com")
	run("apiVersion: example.com/v1\nkind: Paint\nmetadata: {name: sky}\nspec: {color: blue}\n", "apply", "-f", "-")
	run("apiVersion: example.com/v2\nkind: Paint\nmetadata: {name: grass}\nspec: {paint: green}\n", "apply", "-f", "-")

	if got := run("", "get", "paints.v2.example.com", "sky", "-o", "jsonpath={.spec.paint}"); got != "blue" {
		t.Errorf("sky through v2: %q", got)
	}
	if got := run("", "get", "paints.v1.example.com", "grass", "-o", "jsonpath={.spec.color}"); got != "green" {
		t.Errorf("grass through v1: %q", got)
	}
	if got := run("", "get", "paints", "--field-selector", "spec.paint=green", "-o", "name"); got != "paint.example.com/grass" {
		t.Errorf("v2 field selector: %q", got)
	}
	if got := run("", "get", "paints.v1.example.com", "--field-selector", "spec.color=blue", "-o", "name"); got != "paint.example.com/sky" {
		t.Errorf("v1 field selector: %q", got)
	}
}
