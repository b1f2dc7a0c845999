package webhook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
	"github.com/skiff-sh/skiff/apiserver/admission/webhook/webhooktest"
	"github.com/skiff-sh/skiff/pki"
)

func ptr[T any](v T) *T { return &v }

// configMapRule takes every write of a ConfigMap.
var configMapRule = []ar.RuleWithOperations{{Operations: []ar.OperationType{ar.OperationAll},
	Rule: ar.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}

func validating(name string, hooks ...ar.ValidatingWebhook) *ar.ValidatingWebhookConfiguration {
	c := &ar.ValidatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: name, ResourceVersion: "1"}, Webhooks: hooks}
	defaults.ValidatingWebhookConfiguration(c)
	return c
}

func mutating(name string, hooks ...ar.MutatingWebhook) *ar.MutatingWebhookConfiguration {
	c := &ar.MutatingWebhookConfiguration{ObjectMeta: meta.ObjectMeta{Name: name, ResourceVersion: "1"}, Webhooks: hooks}
	defaults.MutatingWebhookConfiguration(c)
	return c
}

func vhook(name string, s *webhooktest.Server, mod ...func(*ar.ValidatingWebhook)) ar.ValidatingWebhook {
	h := ar.ValidatingWebhook{Name: name, ClientConfig: ar.WebhookClientConfig{URL: ptr(s.URL + "/validate"), CABundle: s.CABundle},
		Rules: configMapRule, SideEffects: ptr(ar.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}
	for _, m := range mod {
		m(&h)
	}
	return h
}

func mhook(name string, s *webhooktest.Server, mod ...func(*ar.MutatingWebhook)) ar.MutatingWebhook {
	h := ar.MutatingWebhook{Name: name, ClientConfig: ar.WebhookClientConfig{URL: ptr(s.URL + "/mutate"), CABundle: s.CABundle},
		Rules: configMapRule, SideEffects: ptr(ar.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"}}
	for _, m := range mod {
		m(&h)
	}
	return h
}

func createConfigMap(labels map[string]string) *admission.Attributes {
	return &admission.Attributes{Operation: admission.Create, Kind: kind("", "configmaps"), Namespace: "default", Name: "c",
		Object: &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "c", Namespace: "default", Labels: labels}, Data: map[string]string{"k": "v"}}}
}

func status(err error) meta.Status {
	var ae *admission.Error
	if errors.As(err, &ae) {
		return ae.Status
	}
	return meta.Status{Message: "not an admission.Error: " + err.Error()}
}

func TestValidatingAnswers(t *testing.T) {
	allow := webhooktest.NewServer(t, webhooktest.Allow)
	deny := webhooktest.NewServer(t, webhooktest.Deny("no ConfigMaps today", 0))
	deny403 := webhooktest.NewServer(t, webhooktest.Deny("forbidden by policy", http.StatusForbidden))
	garbage := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse { return nil })
	warn := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		return &admissionv1.AdmissionResponse{Allowed: true, Warnings: []string{"deprecated key"}, AuditAnnotations: map[string]string{"checked": "yes"}}
	})
	release := make(chan struct{})
	slow := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		<-release
		return &admissionv1.AdmissionResponse{Allowed: true}
	})
	t.Cleanup(func() { close(release) }) // before the servers close (cleanups run last first)
	other := webhooktest.NewServer(t, webhooktest.Allow)
	wrongCA := func(h *ar.ValidatingWebhook) { h.ClientConfig.CABundle = other.CABundle }
	ignore := func(h *ar.ValidatingWebhook) { h.FailurePolicy = ptr(ar.Ignore) }
	oneSecond := func(h *ar.ValidatingWebhook) { h.TimeoutSeconds = ptr(int32(1)) }

	tests := []struct {
		name        string
		hooks       []ar.ValidatingWebhook
		wantCode    int32
		wantMessage string // a substring; "" for allowed
		wantWarn    []string
		wantAnnot   string
	}{
		{name: "allowed", hooks: []ar.ValidatingWebhook{vhook("allow.example.com", allow)}},
		{name: "denied", hooks: []ar.ValidatingWebhook{vhook("deny.example.com", deny)}, wantCode: 400,
			wantMessage: `admission webhook "deny.example.com" denied the request: no ConfigMaps today`},
		{name: "denied with the webhook's code", hooks: []ar.ValidatingWebhook{vhook("deny.example.com", deny403)}, wantCode: 403,
			wantMessage: `admission webhook "deny.example.com" denied the request: forbidden by policy`},
		{name: "first refusal in order", hooks: []ar.ValidatingWebhook{vhook("a.example.com", allow), vhook("b.example.com", deny), vhook("c.example.com", deny403)},
			wantCode: 400, wantMessage: `"b.example.com" denied`},
		{name: "warnings and annotations", hooks: []ar.ValidatingWebhook{vhook("warn.example.com", warn)}, wantWarn: []string{"deprecated key"},
			wantAnnot: "warn.example.com/checked"},
		{name: "garbage, Fail", hooks: []ar.ValidatingWebhook{vhook("garbage.example.com", garbage)}, wantCode: 500,
			wantMessage: `Internal error occurred: failed calling webhook "garbage.example.com": received invalid webhook response`},
		{name: "garbage, Ignore", hooks: []ar.ValidatingWebhook{vhook("garbage.example.com", garbage, ignore)},
			wantAnnot: "failed-open.validating.webhook.admission.k8s.io/round_0_index_0"},
		{name: "bad certificate, Fail", hooks: []ar.ValidatingWebhook{vhook("tls.example.com", allow, wrongCA)}, wantCode: 500,
			wantMessage: "certificate signed by unknown authority"},
		{name: "bad certificate, Ignore", hooks: []ar.ValidatingWebhook{vhook("tls.example.com", allow, wrongCA, ignore)}},
		{name: "unparsable CA bundle", hooks: []ar.ValidatingWebhook{vhook("tls.example.com", allow, func(h *ar.ValidatingWebhook) { h.ClientConfig.CABundle = []byte("junk") })},
			wantCode: 500, wantMessage: "unable to load root certificates"},
		{name: "timeout, Fail", hooks: []ar.ValidatingWebhook{vhook("slow.example.com", slow, oneSecond)}, wantCode: 500,
			wantMessage: `failed calling webhook "slow.example.com": failed to call webhook: Post "` + slow.URL + `/validate?timeout=1s": context deadline exceeded`},
		{name: "timeout, Ignore", hooks: []ar.ValidatingWebhook{vhook("slow.example.com", slow, oneSecond, ignore)}},
		{name: "not matching", hooks: []ar.ValidatingWebhook{vhook("deny.example.com", deny, func(h *ar.ValidatingWebhook) {
			h.ObjectSelector = &meta.LabelSelector{MatchLabels: map[string]string{"checked": "true"}}
		})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewValidating(Config{Objects: admissiontest.NewObjects(validating("config", tc.hooks...))})
			a := createConfigMap(nil)
			err := p.Validate(context.Background(), a)
			if tc.wantMessage == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
			} else {
				s := status(err)
				if s.Code != tc.wantCode || !strings.Contains(s.Message, tc.wantMessage) {
					t.Fatalf("got %d %q, want %d containing %q", s.Code, s.Message, tc.wantCode, tc.wantMessage)
				}
			}
			if strings.Join(a.Warnings(), "|") != strings.Join(tc.wantWarn, "|") {
				t.Errorf("warnings %q, want %q", a.Warnings(), tc.wantWarn)
			}
			if _, ok := a.Annotations()[tc.wantAnnot]; tc.wantAnnot != "" && !ok {
				t.Errorf("annotations %v lack %q", a.Annotations(), tc.wantAnnot)
			}
		})
	}
}

func TestReviewRequest(t *testing.T) {
	s := webhooktest.NewServer(t, webhooktest.Allow)
	p := NewValidating(Config{Objects: admissiontest.NewObjects(validating("config", vhook("allow.example.com", s)))})
	a := createConfigMap(map[string]string{"app": "web"})
	a.DryRun = true
	if err := p.Validate(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Kind != (admissionv1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}) || r.Resource.Resource != "configmaps" ||
		r.Operation != "CREATE" || r.Name != "c" || r.Namespace != "default" || r.DryRun == nil || !*r.DryRun || r.UID == "" {
		t.Errorf("request %+v", r)
	}
	if !strings.Contains(string(r.Object), `"kind":"ConfigMap"`) || !strings.Contains(string(r.Object), `"app":"web"`) || r.OldObject != nil {
		t.Errorf("object %s, old %s", r.Object, r.OldObject)
	}
	if !strings.Contains(string(r.Options), `"kind":"CreateOptions"`) || !strings.Contains(string(r.Options), `"dryRun":["All"]`) {
		t.Errorf("options %s", r.Options)
	}
	if got := s.Paths(); got[0] != "/validate" {
		t.Errorf("path %q", got[0])
	}
}

func TestDryRun(t *testing.T) {
	s := webhooktest.NewServer(t, webhooktest.Allow)
	for _, tc := range []struct {
		effects ar.SideEffectClass
		refused bool
	}{{ar.SideEffectClassNone, false}, {ar.SideEffectClassNoneOnDryRun, false}, {ar.SideEffectClassSome, true}, {ar.SideEffectClassUnknown, true}} {
		// A stored configuration could carry Some or Unknown (written before validation
		// required None or NoneOnDryRun); Objects holds it as is.
		p := NewValidating(Config{Objects: admissiontest.NewObjects(validating("config", vhook("fx.example.com", s, func(h *ar.ValidatingWebhook) {
			h.SideEffects = ptr(tc.effects)
		})))})
		a := createConfigMap(nil)
		a.DryRun = true
		err := p.Validate(context.Background(), a)
		if !tc.refused {
			if err != nil {
				t.Errorf("%s: %v", tc.effects, err)
			}
			continue
		}
		if st := status(err); st.Code != 400 || st.Message != `admission webhook "fx.example.com" does not support dry run` {
			t.Errorf("%s: got %d %q", tc.effects, st.Code, st.Message)
		}
	}
}

func TestMatchConditions(t *testing.T) {
	s := webhooktest.NewServer(t, webhooktest.Deny("denied", 0))
	cond := func(expr string, fp ar.FailurePolicyType) func(*ar.ValidatingWebhook) {
		return func(h *ar.ValidatingWebhook) {
			h.MatchConditions = []ar.MatchCondition{{Name: "c", Expression: expr}}
			h.FailurePolicy = ptr(fp)
		}
	}
	tests := []struct {
		name string
		mod  func(*ar.ValidatingWebhook)
		want string // "" allowed
	}{
		{"true: called", cond("object.metadata.name == 'c'", ar.Fail), "denied the request"},
		{"false: skipped", cond("object.metadata.name == 'other'", ar.Fail), ""},
		{"request fields", cond("request.operation == 'CREATE' && !has(request.userInfo.username)", ar.Fail), "denied the request"},
		{"error, Fail", cond("object.spec.replicas > 1", ar.Fail), `configmaps "c" is forbidden: match condition failed`},
		{"error, Ignore", cond("object.spec.replicas > 1", ar.Ignore), ""},
	}
	for _, tc := range tests {
		p := NewValidating(Config{Objects: admissiontest.NewObjects(validating("config", vhook("cond.example.com", s, tc.mod)))})
		err := p.Validate(context.Background(), createConfigMap(nil))
		if got := ""; err != nil {
			got = status(err).Message
			if tc.want == "" || !strings.Contains(got, tc.want) {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
		} else if tc.want != "" {
			t.Errorf("%s: allowed, want %q", tc.name, tc.want)
		}
	}
}

func TestMutating(t *testing.T) {
	addLabel := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"add","path":"/metadata/labels","value":{"mutated":"yes"}}]`))
	noop := webhooktest.NewServer(t, webhooktest.Patch(`[]`))
	bad := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"remove","path":"/nothing/here"}]`))
	p := NewMutating(Config{Objects: admissiontest.NewObjects(mutating("b-second", mhook("noop.example.com", noop)), mutating("a-first", mhook("label.example.com", addLabel)))})
	a := createConfigMap(nil)
	if err := p.Admit(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if got := a.Object.GetObjectMeta().Labels["mutated"]; got != "yes" {
		t.Errorf("label after the patch: %q", got)
	}
	if a.Annotations()["mutation.webhook.admission.k8s.io/round_0_index_0"] != `{"configuration":"a-first","mutated":true,"webhook":"label.example.com"}` {
		t.Errorf("annotations %v", a.Annotations())
	}
	// The configuration named second saw the first one's change.
	if r := noop.Requests(); len(r) != 1 || !strings.Contains(string(r[0].Object), `"mutated":"yes"`) {
		t.Errorf("second webhook saw %v", r)
	}

	p = NewMutating(Config{Objects: admissiontest.NewObjects(mutating("m", mhook("bad.example.com", bad)))})
	err := p.Admit(context.Background(), createConfigMap(nil))
	if st := status(err); st.Code != 500 || !strings.Contains(st.Message, "Internal error occurred") {
		t.Errorf("a patch that does not apply: %d %q", st.Code, st.Message)
	}

	// On delete there is no object to patch.
	p = NewMutating(Config{Objects: admissiontest.NewObjects(mutating("m", mhook("label.example.com", addLabel)))})
	del := &admission.Attributes{Operation: admission.Delete, Kind: kind("", "configmaps"), Namespace: "default", Name: "c",
		OldObject: &core.ConfigMap{ObjectMeta: meta.ObjectMeta{Name: "c", Namespace: "default"}}}
	if st := status(p.Admit(context.Background(), del)); !strings.Contains(st.Message, "attempted to modify the object, which is not supported for this operation") {
		t.Errorf("patch on delete: %q", st.Message)
	}
}

func TestReinvocation(t *testing.T) {
	var calls atomic.Int32
	// first adds a label of its own each time it is called (so a reinvocation is visible);
	// second, after it, changes the object.
	first := webhooktest.NewServer(t, func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
		n := calls.Add(1)
		return webhooktest.Patch(`[{"op":"add","path":"/metadata/annotations","value":{"first-call":"` + strconv.Itoa(int(n)) + `"}}]`)(nil)
	})
	second := webhooktest.NewServer(t, webhooktest.Patch(`[{"op":"add","path":"/metadata/labels","value":{"second":"yes"}}]`))
	for _, tc := range []struct {
		policy    ar.ReinvocationPolicyType
		wantCalls int32
	}{{ar.NeverReinvocationPolicy, 1}, {ar.IfNeededReinvocationPolicy, 2}} {
		calls.Store(0)
		p := NewMutating(Config{Objects: admissiontest.NewObjects(mutating("m",
			mhook("first.example.com", first, func(h *ar.MutatingWebhook) { h.ReinvocationPolicy = ptr(tc.policy) }),
			mhook("second.example.com", second)))})
		a := createConfigMap(nil)
		if err := p.Admit(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if got := calls.Load(); got != tc.wantCalls {
			t.Errorf("%s: first called %d times, want %d", tc.policy, got, tc.wantCalls)
		}
	}
}

func TestServiceReference(t *testing.T) {
	s := webhooktest.NewServerFor(t, webhooktest.Deny("via service", 0), pki.CertRequest{DNSNames: []string{"hooks.system.svc"}})
	host, port, _ := net.SplitHostPort(s.Addr())
	p32 := func(v int) *int32 { x := int32(v); return &x }
	portNum, _ := strconv.Atoi(port)
	objs := admissiontest.NewObjects(
		&core.Service{ObjectMeta: meta.ObjectMeta{Name: "hooks", Namespace: "system"},
			Spec: core.ServiceSpec{Ports: []core.ServicePort{{Name: "https", Port: 443}}}},
		&discovery.EndpointSlice{ObjectMeta: meta.ObjectMeta{Name: "hooks-x", Namespace: "system", Labels: map[string]string{"kubernetes.io/service-name": "hooks"}},
			Endpoints: []discovery.Endpoint{
				{Addresses: []string{"10.0.0.9"}, Conditions: discovery.EndpointConditions{Ready: ptr(false)}},
				{Addresses: []string{host}},
			},
			Ports: []discovery.EndpointPort{{Name: ptr("https"), Port: p32(portNum)}}},
		validating("config", vhook("svc.example.com", s, func(h *ar.ValidatingWebhook) {
			h.ClientConfig.URL = nil
			h.ClientConfig.Service = &ar.ServiceReference{Namespace: "system", Name: "hooks", Path: ptr("/check"), Port: ptr(int32(443))}
		})),
	)
	err := NewValidating(Config{Objects: objs}).Validate(context.Background(), createConfigMap(nil))
	if st := status(err); !strings.Contains(st.Message, `denied the request: via service`) {
		t.Fatalf("got %q", st.Message)
	}
	if got := s.Paths(); len(got) != 1 || got[0] != "/check" {
		t.Errorf("paths %q", got)
	}
}
