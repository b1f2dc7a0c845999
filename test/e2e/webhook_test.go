package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/webhook/webhooktest"
	"github.com/skiff-sh/skiff/test/harness"
)

// Admission webhooks as an operator author meets them: configurations applied with the real
// kubectl, webhooks served over TLS on loopback by this test and referenced by url, the
// answers (a patch, a warning, a refusal) seen through kubectl.
func TestAdmissionWebhooksWithKubectl(t *testing.T) {
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}

	mutate := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"add","path":"/metadata/labels","value":{"mutated-by":"webhook"}}]`))
	validate := webhooktest.NewServer(t, func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		if r.Name == "forbidden" {
			return webhooktest.Deny("the name forbidden is reserved", 0)(r)
		}
		return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"checked by validate.example.com"}}
	})
	const manifest = `apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata:
  name: label
webhooks:
- name: label.example.com
  clientConfig:
    url: %s/mutate
    caBundle: %s
  rules:
  - operations: ["CREATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  namespaceSelector:
    matchLabels:
      webhooks: "on"
  sideEffects: None
  admissionReviewVersions: ["v1"]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: names
webhooks:
- name: validate.example.com
  clientConfig:
    url: %s/validate
    caBundle: %s
  rules:
  - operations: ["CREATE", "UPDATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
    scope: Namespaced
  namespaceSelector:
    matchLabels:
      webhooks: "on"
  matchConditions:
  - name: not-system
    expression: "!request.userInfo.username.startsWith('system:node:')"
  failurePolicy: Fail
  timeoutSeconds: 5
  sideEffects: NoneOnDryRun
  admissionReviewVersions: ["v1"]
`
	out := k.RunStdin(t, fmt.Sprintf(manifest,
		mutate.URL, base64.StdEncoding.EncodeToString(mutate.CABundle),
		validate.URL, base64.StdEncoding.EncodeToString(validate.CABundle)), "apply", "-f", "-")
	if !strings.Contains(out, "mutatingwebhookconfiguration.admissionregistration.k8s.io/label created") ||
		!strings.Contains(out, "validatingwebhookconfiguration.admissionregistration.k8s.io/names created") {
		t.Fatalf("apply: %s", out)
	}
	if out := k.Run(t, "get", "validatingwebhookconfigurations"); !strings.Contains(out, "WEBHOOKS") || !strings.Contains(out, "names") {
		t.Errorf("get: %s", out)
	}
	k.Run(t, "create", "namespace", "hooked")
	k.Run(t, "label", "namespace", "hooked", "webhooks=on")

	// The plugins read configurations and namespaces from the watch caches: wait for the
	// refusal to appear.
	harness.Eventually(t, 20*time.Second, "kubectl create to be refused by the webhook", func() (bool, string) {
		_, errOut, err := k.Exec([]string{"create", "configmap", "forbidden", "-n", "hooked"}, "")
		return err != nil && strings.Contains(errOut, `admission webhook "validate.example.com" denied the request: the name forbidden is reserved`), errOut
	})

	_, errOut, err := k.Exec([]string{"create", "configmap", "allowed", "-n", "hooked", "--from-literal=a=b"}, "")
	if err != nil || !strings.Contains(errOut, "Warning: checked by validate.example.com") {
		t.Fatalf("create allowed: %v %s", err, errOut)
	}
	if got := k.Run(t, "get", "configmap", "allowed", "-n", "hooked", "-o", "jsonpath={.metadata.labels.mutated-by}"); got != "webhook" {
		t.Errorf("label from the mutating webhook: %q", got)
	}
	// A namespace without the label is not the webhooks' business.
	k.Run(t, "create", "configmap", "forbidden", "-n", "default")
	if got := k.Run(t, "get", "configmap", "forbidden", "-n", "default", "-o", "jsonpath={.metadata.labels}"); got != "" {
		t.Errorf("unlabelled namespace got labels %q", got)
	}
	// A server-side dry run reaches a webhook that has no side effects on dry runs.
	n := len(validate.Requests())
	k.Run(t, "create", "configmap", "dry", "-n", "hooked", "--dry-run=server")
	reqs := validate.Requests()
	if len(reqs) != n+1 || reqs[n].DryRun == nil || !*reqs[n].DryRun {
		t.Errorf("dry run: %d new requests", len(reqs)-n)
	}
	// Deleting the configuration turns the check off.
	k.Run(t, "delete", "validatingwebhookconfiguration", "names")
	harness.Eventually(t, 20*time.Second, "the refusal to stop after the configuration is deleted", func() (bool, string) {
		_, errOut, err := k.Exec([]string{"create", "configmap", "forbidden", "-n", "hooked"}, "")
		return err == nil, errOut
	})
}
