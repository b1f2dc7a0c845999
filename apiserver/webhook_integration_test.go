package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver"
	"github.com/skiff-sh/skiff/apiserver/admission/webhook/webhooktest"
	"github.com/skiff-sh/skiff/test/harness"
)

// webhookClient talks to the server and returns status, decoded body and Warning headers.
type webhookClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (c *webhookClient) do(method, path string, body any) (int, map[string]any, []string) {
	c.t.Helper()
	var b []byte
	if s, ok := body.(string); ok {
		b = []byte(s)
	} else if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header.Values("Warning")
}

func ptrTo[T any](v T) *T { return &v }

// scenarioRule takes ConfigMap creates labelled scenario=<name>, so that each scenario's
// configuration leaves the others' writes alone.
func scenarioHook(name, scenario string, s *webhooktest.Server, timeout int32, fp ar.FailurePolicyType) ar.ValidatingWebhook {
	return ar.ValidatingWebhook{Name: name, ClientConfig: ar.WebhookClientConfig{URL: ptrTo(s.URL + "/" + scenario), CABundle: s.CABundle},
		Rules: []ar.RuleWithOperations{{Operations: []ar.OperationType{ar.Create},
			Rule: ar.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}},
		ObjectSelector: &meta.LabelSelector{MatchLabels: map[string]string{"scenario": scenario}},
		FailurePolicy:  &fp, TimeoutSeconds: &timeout, SideEffects: ptrTo(ar.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}
}

func configMap(name, scenario string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"labels":{"scenario":%q}}}`, name, scenario)
}

// Admission webhooks through the REST path of a secure in-process server, with real TLS
// webhook servers in the test process registered by url.
func TestAdmissionWebhooks(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	s := harness.StartServer(t, harness.ServerOptions{Configure: func(c *apiserver.Config) { c.AuditLogPath = auditLog }})
	c := &webhookClient{t: t, base: s.URL, hc: s.HTTPClient(t)}
	const cms = "/api/v1/namespaces/default/configmaps"
	const vwc = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
	const mwc = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"

	// A configuration Kubernetes would refuse is refused, naming the fields.
	bad := ar.ValidatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: "bad"}, Webhooks: []ar.ValidatingWebhook{{
		Name: "bad", ClientConfig: ar.WebhookClientConfig{URL: ptrTo("http://x")}, SideEffects: ptrTo(ar.SideEffectClassSome)}}}
	code, st, _ := c.do("POST", vwc, bad)
	if code != 422 || !strings.Contains(st["message"].(string), "webhooks[0].sideEffects: Unsupported value: \"Some\"") ||
		!strings.Contains(st["message"].(string), "webhooks[0].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme") {
		t.Fatalf("invalid configuration: %d %v", code, st["message"])
	}

	deny := webhooktest.NewServer(t, webhooktest.Deny("configmaps named evil are not allowed", 0))
	warn := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"this ConfigMap will be watched"}}
	})
	release := make(chan struct{})
	slow := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		<-release
		return &admissionv1.AdmissionResponse{Allowed: true}
	})
	t.Cleanup(func() { close(release) })
	label := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"add","path":"/metadata/labels/mutated","value":"yes"}]`))

	c.do("POST", vwc, ar.ValidatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: "scenarios"}, Webhooks: []ar.ValidatingWebhook{
		scenarioHook("deny.example.com", "deny", deny, 10, ar.Fail),
		scenarioHook("warn.example.com", "warn", warn, 10, ar.Fail),
		scenarioHook("slow-ignore.example.com", "slow-ignore", slow, 1, ar.Ignore),
		scenarioHook("slow-fail.example.com", "slow-fail", slow, 1, ar.Fail),
	}})
	m := scenarioHook("label.example.com", "mutate", label, 10, ar.Fail)
	code, st, _ = c.do("POST", mwc, ar.MutatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: "label"}, Webhooks: []ar.MutatingWebhook{{
		Name: m.Name, ClientConfig: m.ClientConfig, Rules: m.Rules, ObjectSelector: m.ObjectSelector, SideEffects: m.SideEffects,
		AdmissionReviewVersions: m.AdmissionReviewVersions}}})
	if code != 201 {
		t.Fatalf("mutating configuration: %d %v", code, st)
	}
	if whs := st["webhooks"].([]any)[0].(map[string]any); whs["failurePolicy"] != "Fail" || whs["timeoutSeconds"] != 10.0 ||
		whs["reinvocationPolicy"] != "Never" || whs["matchPolicy"] != "Equivalent" {
		t.Errorf("defaults: %v", whs)
	}

	// The plugins see configurations through the watch cache: wait for the first refusal.
	harness.Eventually(t, 10*time.Second, "the validating webhook to refuse", func() (bool, string) {
		code, st, _ := c.do("POST", cms, configMap("evil", "deny"))
		return code == 400, fmt.Sprint(code, st["message"])
	})
	code, st, _ = c.do("POST", cms, configMap("evil", "deny"))
	if code != 400 || st["message"] != `admission webhook "deny.example.com" denied the request: configmaps named evil are not allowed` {
		t.Errorf("denied: %d %v", code, st["message"])
	}

	harness.Eventually(t, 10*time.Second, "the mutating webhook to add its label", func() (bool, string) {
		code, st, _ := c.do("POST", cms+"?dryRun=All", configMap("mutated", "mutate"))
		lbls, _ := st["metadata"].(map[string]any)["labels"].(map[string]any)
		return code == 201 && lbls["mutated"] == "yes", fmt.Sprint(code, st)
	})
	c.do("POST", cms, configMap("mutated", "mutate"))
	code, st, _ = c.do("GET", cms+"/mutated", nil)
	if lbls := st["metadata"].(map[string]any)["labels"].(map[string]any); code != 200 || lbls["mutated"] != "yes" {
		t.Errorf("stored object: %d %v", code, st["metadata"])
	}

	// The mutation is recorded in the request's audit event, as Kubernetes records it.
	harness.Eventually(t, 10*time.Second, "the mutation annotation in the audit log", func() (bool, string) {
		b, _ := os.ReadFile(auditLog)
		return strings.Contains(string(b), `"mutation.webhook.admission.k8s.io/round_0_index_0"`), "not yet"
	})

	code, _, warnings := c.do("POST", cms, configMap("warned", "warn"))
	if code != 201 || len(warnings) != 1 || warnings[0] != `299 - "this ConfigMap will be watched"` {
		t.Errorf("warnings: %d %q", code, warnings)
	}

	if code, st, _ = c.do("POST", cms, configMap("slow-ignored", "slow-ignore")); code != 201 {
		t.Errorf("timeout with Ignore: %d %v", code, st["message"])
	}
	code, st, _ = c.do("POST", cms, configMap("slow-failed", "slow-fail"))
	if msg, _ := st["message"].(string); code != 500 || !strings.HasPrefix(msg, `Internal error occurred: failed calling webhook "slow-fail.example.com": failed to call webhook: Post "`) ||
		!strings.HasSuffix(msg, "context deadline exceeded") {
		t.Errorf("timeout with Fail: %d %v", code, msg)
	}
	if code, _, _ = c.do("GET", cms+"/slow-failed", nil); code != 404 {
		t.Errorf("a refused create was stored: %d", code)
	}

	// A dry run reaches a webhook only if it says it has no side effects then. Validation
	// refuses sideEffects Some on create, so the legacy configuration goes straight to etcd,
	// as one written by an older server would be there.
	legacy := scenarioHook("legacy.example.com", "dry", warn, 10, ar.Fail)
	legacy.SideEffects = ptrTo(ar.SideEffectClassSome)
	raw, _ := json.Marshal(ar.ValidatingWebhookConfiguration{TypeMeta: meta.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: meta.ObjectMeta{Name: "legacy", UID: "legacy-uid", CreationTimestamp: meta.Now()}, Webhooks: []ar.ValidatingWebhook{legacy}})
	if _, err := s.Etcd.Put(context.Background(), "/registry/admissionregistration.k8s.io/validatingwebhookconfigurations/legacy", string(raw)); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, 10*time.Second, "a dry run to a webhook with side effects to be refused", func() (bool, string) {
		code, st, _ := c.do("POST", cms+"?dryRun=All", configMap("dry", "dry"))
		return code == 400 && st["message"] == `admission webhook "legacy.example.com" does not support dry run`, fmt.Sprint(code, st["message"])
	})
	if code, st, _ = c.do("POST", cms, configMap("dry", "dry")); code != 201 {
		t.Errorf("the same create without dry run: %d %v", code, st["message"])
	}

	// Webhook configurations themselves never go to webhooks: a configuration that would
	// refuse everything can still be deleted.
	if code, st, _ = c.do("DELETE", vwc+"/scenarios", nil); code != 200 {
		t.Errorf("delete: %d %v", code, st["message"])
	}
}

// Exec, attach, port-forward and proxy requests are admitted as CONNECT with their options as
// the object, before anything is opened (the conformance spec "should be able to deny
// attaching pod" expects the webhook's message, not the node's).
func TestAdmissionWebhookConnect(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	c := &webhookClient{t: t, base: s.URL, hc: s.HTTPClient(t)}
	deny := webhooktest.NewServer(t, func(r *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &meta.Status{Message: fmt.Sprintf("%s to pod '%s' is not allowed", r.SubResource, r.Name)}}
	})
	fp, timeout := ar.Fail, int32(10)
	hook := ar.ValidatingWebhook{Name: "deny-connect.example.com", ClientConfig: ar.WebhookClientConfig{URL: ptrTo(deny.URL), CABundle: deny.CABundle},
		Rules: []ar.RuleWithOperations{{Operations: []ar.OperationType{ar.Connect},
			Rule: ar.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods/attach", "services/proxy"}}}},
		FailurePolicy: &fp, TimeoutSeconds: &timeout, SideEffects: ptrTo(ar.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}
	if code, st, _ := c.do("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
		ar.ValidatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: "deny-connect"}, Webhooks: []ar.ValidatingWebhook{hook}}); code != 201 {
		t.Fatalf("configuration: %d %v", code, st)
	}
	pod := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`
	if code, st, _ := c.do("POST", "/api/v1/namespaces/default/pods", pod); code != 201 {
		t.Fatalf("pod: %d %v", code, st)
	}

	const attach = "/api/v1/namespaces/default/pods/p/attach?stdin=true&stdout=true&container=c"
	harness.Eventually(t, 10*time.Second, "the webhook to refuse an attach", func() (bool, string) {
		code, st, _ := c.do("POST", attach, nil)
		return code == 400 && st["message"] == `admission webhook "deny-connect.example.com" denied the request: attach to pod 'p' is not allowed`,
			fmt.Sprint(code, st["message"])
	})
	reqs := deny.Requests()
	last := reqs[len(reqs)-1]
	var opts map[string]any
	json.Unmarshal(last.Object, &opts)
	if last.Operation != "CONNECT" || last.SubResource != "attach" || last.Kind.Kind != "PodAttachOptions" || last.Kind.Version != "v1" ||
		last.Resource.Resource != "pods" || opts["kind"] != "PodAttachOptions" || opts["stdin"] != true || opts["container"] != "c" || last.OldObject != nil {
		t.Errorf("AdmissionRequest for an attach: %+v, object %s", last, last.Object)
	}
	// A service proxy request is admitted with the proxied path.
	code, st, _ := c.do("GET", "/api/v1/namespaces/default/services/web/proxy/some/path", nil)
	if code != 400 || !strings.Contains(fmt.Sprint(st["message"]), "proxy to pod 'web' is not allowed") {
		t.Errorf("service proxy: %d %v", code, st["message"])
	}
	reqs = deny.Requests()
	if last = reqs[len(reqs)-1]; last.Kind.Kind != "ServiceProxyOptions" || !strings.Contains(string(last.Object), `"path":"/some/path"`) {
		t.Errorf("AdmissionRequest for a service proxy: %+v, object %s", last, last.Object)
	}
	// What the rules do not name is not refused by it: an exec of the unscheduled pod fails
	// on the pod, and writes are not sent to a CONNECT rule.
	n := len(deny.Requests())
	if code, st, _ := c.do("POST", "/api/v1/namespaces/default/pods/p/exec?command=true&stdout=true", nil); code == 201 ||
		strings.Contains(fmt.Sprint(st["message"]), "admission webhook") {
		t.Errorf("exec: %d %v", code, st["message"])
	}
	if code, _, _ := c.do("POST", "/api/v1/namespaces/default/configmaps", configMap("plain", "none")); code != 201 {
		t.Errorf("configmap create: %d", code)
	}
	if got := len(deny.Requests()); got != n {
		t.Errorf("the webhook got %d more requests for an exec and a write it does not match", got-n)
	}
}

// A mutating webhook cannot add fields a custom resource's schema does not know: the object
// is pruned (and defaulted) again after mutation, as Kubernetes does (conformance: "should
// mutate custom resource with pruning").
func TestMutatingWebhookOutputIsPruned(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, widgetCRD)
	patch := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"add","path":"/spec/unknown","value":"yes"},{"op":"add","path":"/spec/size","value":"3cm"},{"op":"remove","path":"/spec/replicas"}]`))
	c := &webhookClient{t: t, base: s.URL, hc: s.HTTPClient(t)}
	hook := ar.MutatingWebhook{Name: "widgets.example.com", ClientConfig: ar.WebhookClientConfig{URL: ptrTo(patch.URL), CABundle: patch.CABundle},
		Rules: []ar.RuleWithOperations{{Operations: []ar.OperationType{ar.Create},
			Rule: ar.Rule{APIGroups: []string{"example.com"}, APIVersions: []string{"v1"}, Resources: []string{"widgets"}}}},
		SideEffects: ptrTo(ar.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}
	if code, st, _ := c.do("POST", "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
		ar.MutatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: "widgets"}, Webhooks: []ar.MutatingWebhook{hook}}); code != 201 {
		t.Fatalf("configuration: %d %v", code, st)
	}
	const base = "/apis/example.com/v1/namespaces/default/widgets"
	var m map[string]any
	harness.Eventually(t, 10*time.Second, "the webhook to mutate a widget", func() (bool, string) {
		m = a.must(201, "POST", base+"?dryRun=All", `{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"color":"red","replicas":3}}`)
		return get(m, "spec", "size") == "3cm", fmt.Sprint(m["spec"])
	})
	if spec := m["spec"].(map[string]any); spec["unknown"] != nil || spec["replicas"] != float64(1) {
		t.Errorf("spec after the webhook = %v, want unknown pruned and replicas defaulted to 1 again", spec)
	}
}
