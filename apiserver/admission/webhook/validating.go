package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Validating is the ValidatingAdmissionWebhook plugin. The matching webhooks are called in
// parallel, as in Kubernetes; their warnings and annotations are applied in configuration
// order, and the first refusal in that order is the answer.
type Validating struct{ d *dispatcher }

// NewValidating makes the plugin.
func NewValidating(cfg Config) *Validating { return &Validating{newDispatcher(cfg)} }

func (*Validating) Name() string { return ValidatingPluginName }

// AdmitsConnect: validating webhooks see exec, attach, port-forward and proxy requests
// (operation CONNECT), as in Kubernetes.
func (*Validating) AdmitsConnect() {}

func (p *Validating) hooks() []*hook {
	configs := p.d.objs.List(ar.GroupName, "validatingwebhookconfigurations", "")
	return p.d.index.get(configs, func(o meta.Object) []*hook {
		c, ok := o.(*ar.ValidatingWebhookConfiguration)
		if !ok {
			return nil
		}
		out := make([]*hook, 0, len(c.Webhooks))
		for i, w := range c.Webhooks {
			out = append(out, p.d.newHook(c.Name, i, w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy,
				w.SideEffects, w.TimeoutSeconds, w.NamespaceSelector, w.ObjectSelector, w.MatchConditions))
		}
		return out
	})
}

// result is one webhook's outcome, applied to the attributes after all have answered (the
// attributes are not safe for concurrent use).
type result struct {
	resp       *admissionv1.AdmissionResponse
	err        error
	failedOpen bool
}

// Validate calls the matching validating webhooks.
func (p *Validating) Validate(ctx context.Context, a *admission.Attributes) error {
	if exempt(a) {
		return nil
	}
	hooks := p.hooks()
	if len(hooks) == 0 {
		return nil
	}
	// The object does not change here: one review body serves every webhook's conditions
	// (each call still gets its own uid).
	var shared *reviewRequest
	build := func() (*reviewRequest, error) {
		if shared == nil {
			var err error
			shared, err = newReview(a)
			return shared, err
		}
		return shared, nil
	}
	var calls []*hook
	for _, h := range hooks {
		ok, err := p.d.shouldCall(ctx, h, a, build)
		if err != nil {
			return err
		}
		if ok {
			if err := checkDryRun(h, a); err != nil {
				return err
			}
			calls = append(calls, h)
		}
	}
	results := make([]result, len(calls))
	var wg sync.WaitGroup
	for i, h := range calls {
		rr, err := newReview(a)
		if err != nil {
			return failClosed(a, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = p.callOne(ctx, a, h, rr)
		}()
	}
	wg.Wait()
	var first error
	for i, r := range results {
		h := calls[i]
		if r.failedOpen {
			a.AddAnnotation(fmt.Sprintf("failed-open.validating.webhook.admission.k8s.io/round_0_index_%d", i), h.name)
		}
		if r.resp != nil {
			answerAnnotations(a, h, r.resp.AuditAnnotations, r.resp.Warnings)
		}
		if r.err != nil && first == nil {
			first = r.err
		}
	}
	return first
}

func (p *Validating) callOne(ctx context.Context, a *admission.Attributes, h *hook, rr *reviewRequest) result {
	resp, err := p.d.call(ctx, h, rr, false)
	if err != nil {
		var ce *callError
		if errors.As(err, &ce) && h.ignoreFailures() {
			p.d.log.Warn("failed calling webhook, failing open", "webhook", h.name, "err", err)
			return result{failedOpen: true}
		}
		return result{err: failClosed(a, err)}
	}
	if !resp.Allowed {
		return result{resp: resp, err: denied(h.name, resp.Result)}
	}
	return result{resp: resp}
}
