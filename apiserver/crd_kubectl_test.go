package apiserver_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

const gizmoCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gizmos, singular: gizmo, kind: Gizmo, shortNames: [gz], categories: [gadgets]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}
    additionalPrinterColumns:
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Motto, type: string, jsonPath: .spec.motto}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: what the gizmo should be
            properties:
              replicas: {type: integer, minimum: 0, description: how many gizmos to run}
              motto: {type: string, description: "the gizmo's motto, printed in tables"}
          status:
            type: object
            properties:
              replicas: {type: integer}
`

// TestCustomResourceWithKubectl: the real kubectl applies a definition and an object, lists
// it by plural, short name and category with the printer columns, explains its schema,
// scales it, and deleting the definition deletes the object.
func TestCustomResourceWithKubectl(t *testing.T) {
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
	run(gizmoCRD, "apply", "-f", "-")
	run("", "wait", "--for=condition=Established", "crd/gizmos.example.com", "--timeout=30s")
	run("apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g1}\nspec: {replicas: 2, motto: small but mighty}\n", "apply", "-f", "-")

	for _, name := range []string{"gizmos", "gz", "gadgets", "gizmo.example.com"} {
		out := run("", "get", name)
		if !strings.Contains(out, "REPLICAS") || !strings.Contains(out, "MOTTO") || !strings.Contains(out, "small but mighty") || !strings.Contains(out, "g1") {
			t.Errorf("kubectl get %s:\n%s", name, out)
		}
	}
	if out := run("", "explain", "gizmo.spec.motto"); !strings.Contains(out, "the gizmo's motto, printed in tables") {
		t.Errorf("kubectl explain gizmo.spec.motto:\n%s", out)
	}
	if out := run("", "explain", "gizmos.spec"); !strings.Contains(out, "how many gizmos to run") {
		t.Errorf("kubectl explain gizmos.spec:\n%s", out)
	}
	run("", "scale", "gizmo/g1", "--replicas=5")
	if out := run("", "get", "gizmo", "g1", "-o", "jsonpath={.spec.replicas}"); out != "5" {
		t.Errorf("replicas after kubectl scale: %q", out)
	}
	// kubectl edit-style patches: merge works, strategic merge is refused with 415.
	run("", "patch", "gizmo", "g1", "--type=merge", "-p", `{"spec":{"motto":"bigger"}}`)
	if _, stderr, err := k.Exec([]string{cache, "patch", "gizmo", "g1", "-p", `{"spec":{"motto":"x"}}`}, ""); err == nil || !strings.Contains(stderr, "UnsupportedMediaType") && !strings.Contains(stderr, "unknown format") {
		t.Errorf("strategic merge patch of a custom resource: %v %s", err, stderr)
	}

	run("", "delete", "crd", "gizmos.example.com", "--wait=true", "--timeout=60s")
	a := &api{t: t, base: s.URL, hc: s.HTTPClient(t)}
	harness.Eventually(t, 30*time.Second, "gizmos gone with their definition", func() (bool, string) {
		code, m := a.do("GET", "/apis/example.com/v1/namespaces/default/gizmos/g1", "", nil)
		return code == 404, fmt.Sprint(code, m)
	})
}

// TestCustomResourceFieldSelectorWithKubectl: the real kubectl lists custom resources by a
// selectableField of the version it asks for, on a definition converted by a webhook: the
// preferred version (v2, spec.paint) and the storage version (v1, spec.color).
func TestCustomResourceFieldSelectorWithKubectl(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	s := harness.StartServer(t, harness.ServerOptions{})
	h := startConversionWebhook(t)
	k := &harness.Kubectl{Kubeconfig: s.Kubeconfig}
	cache := "--cache-dir=" + t.TempDir()
	run := func(stdin string, args ...string) string {
		t.Helper()
		return k.RunStdin(t, stdin, append([]string{cache}, args...)...)
	}
	run(paintCRD(h), "apply", "-f", "-")
	run("", "wait", "--for=condition=Established", "crd/paints.example.com", "--timeout=30s")
	run("apiVersion: example.com/v1\nkind: Paint\nmetadata: {name: sky}\nspec: {color: blue}\n---\n"+
		"apiVersion: example.com/v2\nkind: Paint\nmetadata: {name: grass}\nspec: {paint: green}\n", "apply", "-f", "-")

	if out := run("", "get", "paints", "--field-selector", "spec.paint=blue", "-o", "name"); strings.TrimSpace(out) != "paint.example.com/sky" {
		t.Errorf("kubectl get paints --field-selector spec.paint=blue:\n%s", out)
	}
	if out := run("", "get", "paints.v1.example.com", "--field-selector", "spec.color=green", "-o", "jsonpath={.items[*].metadata.name} {.items[*].spec.color}"); out != "grass green" {
		t.Errorf("kubectl get paints.v1.example.com --field-selector spec.color=green: %q", out)
	}
	if out := run("", "get", "paints", "sky", "-o", "jsonpath={.apiVersion} {.spec.paint}"); out != "example.com/v2 blue" {
		t.Errorf("kubectl get paints sky (v2, converted): %q", out)
	}
	_, errOut, err := k.Exec([]string{cache, "get", "paints", "--field-selector", "spec.color=blue"}, "")
	if err == nil || !strings.Contains(errOut, "field label not supported: spec.color") {
		t.Errorf("kubectl get paints --field-selector spec.color=blue (a v1 field, asked of v2): err %v\n%s", err, errOut)
	}
}
