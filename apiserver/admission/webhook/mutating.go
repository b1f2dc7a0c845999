package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/patch"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Mutating is the MutatingAdmissionWebhook plugin. Webhooks run one after another, in order of
// configuration name then webhook order, each seeing the object as the ones before left it.
type Mutating struct{ d *dispatcher }

// NewMutating makes the plugin.
func NewMutating(cfg Config) *Mutating { return &Mutating{newDispatcher(cfg)} }

func (*Mutating) Name() string { return MutatingPluginName }

func (p *Mutating) hooks() []*hook {
	configs := p.d.objs.List(ar.GroupName, "mutatingwebhookconfigurations", "")
	return p.d.index.get(configs, func(o meta.Object) []*hook {
		c, ok := o.(*ar.MutatingWebhookConfiguration)
		if !ok {
			return nil
		}
		out := make([]*hook, 0, len(c.Webhooks))
		for i, w := range c.Webhooks {
			h := p.d.newHook(c.Name, i, w.Name, w.ClientConfig, w.Rules, w.FailurePolicy, w.MatchPolicy, w.SideEffects,
				w.TimeoutSeconds, w.NamespaceSelector, w.ObjectSelector, w.MatchConditions)
			h.reinvoke = deref(w.ReinvocationPolicy, ar.NeverReinvocationPolicy) == ar.IfNeededReinvocationPolicy
			out = append(out, h)
		}
		return out
	})
}

// Admit calls the matching mutating webhooks. A webhook with reinvocationPolicy IfNeeded is
// called once more, after the others, when a webhook after it changed the object (Kubernetes
// reinvokes the in-tree mutating plugins too; skiff's run before the webhooks and do not).
func (p *Mutating) Admit(ctx context.Context, a *admission.Attributes) error {
	if exempt(a) {
		return nil
	}
	hooks := p.hooks()
	if len(hooks) == 0 {
		return nil
	}
	var invokedReinvocable, reinvoke []string
	for i, h := range hooks {
		changed, called, err := p.run(ctx, h, a, 0, i)
		if err != nil {
			return err
		}
		if changed {
			reinvoke = append(reinvoke, invokedReinvocable...)
			invokedReinvocable = nil
		}
		if called && h.reinvoke {
			invokedReinvocable = append(invokedReinvocable, h.id)
		}
	}
	for i, h := range hooks {
		if contains(reinvoke, h.id) {
			if _, _, err := p.run(ctx, h, a, 1, i); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// run calls one webhook if it takes the write and applies its answer.
func (p *Mutating) run(ctx context.Context, h *hook, a *admission.Attributes, round, idx int) (changed, called bool, err error) {
	var rr *reviewRequest
	build := func() (*reviewRequest, error) {
		if rr == nil {
			var err error
			rr, err = newReview(a)
			return rr, err
		}
		return rr, nil
	}
	ok, err := p.d.shouldCall(ctx, h, a, build)
	if err != nil || !ok {
		return false, false, err
	}
	if err := checkDryRun(h, a); err != nil {
		return false, false, err
	}
	if _, err := build(); err != nil {
		return false, false, failClosed(a, err)
	}
	resp, err := p.d.call(ctx, h, rr, true)
	if err != nil {
		var ce *callError
		if errors.As(err, &ce) && h.ignoreFailures() {
			p.d.log.Warn("failed calling webhook, failing open", "webhook", h.name, "err", err)
			a.AddAnnotation(fmt.Sprintf("failed-open.mutation.webhook.admission.k8s.io/round_%d_index_%d", round, idx), h.name)
			return false, true, nil
		}
		return false, true, failClosed(a, err)
	}
	answerAnnotations(a, h, resp.AuditAnnotations, resp.Warnings)
	if !resp.Allowed {
		return false, true, denied(h.name, resp.Result)
	}
	changed, err = applyPatch(a, h, resp)
	if err != nil {
		return false, true, err
	}
	mutated, _ := json.Marshal(map[string]any{"configuration": h.configuration, "webhook": h.name, "mutated": changed})
	a.AddAnnotation(fmt.Sprintf("mutation.webhook.admission.k8s.io/round_%d_index_%d", round, idx), string(mutated))
	return changed, true, nil
}

// applyPatch applies a JSONPatch answer to a.Object in place (the handler holds that object),
// defaulting the result as the server defaults what it decodes. It reports whether the object
// changed.
func applyPatch(a *admission.Attributes, h *hook, resp *admissionv1.AdmissionResponse) (bool, error) {
	if len(resp.Patch) == 0 {
		return false, nil
	}
	if pt := deref(resp.PatchType, ""); pt != admissionv1.PatchTypeJSONPatch {
		return false, failClosed(a, &callError{hook: h.name, reason: fmt.Errorf("unsupported patch type %q", pt)})
	}
	var ops []json.RawMessage
	if err := json.Unmarshal(resp.Patch, &ops); err != nil {
		return false, internal(a, err)
	}
	if len(ops) == 0 {
		return false, nil
	}
	if !present(a.Object) {
		return false, internal(a, fmt.Errorf("admission webhook %q attempted to modify the object, which is not supported for this operation", h.name))
	}
	orig, err := json.Marshal(a.Object)
	if err != nil {
		return false, internal(a, err)
	}
	patched, err := patch.JSONPatch(orig, resp.Patch)
	if err != nil {
		return false, internal(a, err)
	}
	cur := reflect.ValueOf(a.Object).Elem()
	next := reflect.New(cur.Type())
	if err := json.Unmarshal(patched, next.Interface()); err != nil {
		return false, internal(a, err)
	}
	defaults.Object(next.Interface().(meta.Object))
	if reflect.DeepEqual(cur.Interface(), next.Elem().Interface()) {
		return false, nil
	}
	cur.Set(next.Elem())
	return true, nil
}
