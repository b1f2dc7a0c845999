// Package webhook is the MutatingAdmissionWebhook and ValidatingAdmissionWebhook admission
// plugins: they send an admission.k8s.io/v1 AdmissionReview over HTTPS to every webhook of the
// admissionregistration.k8s.io/v1 configurations whose rules, selectors and match conditions
// take the write, and apply the answers (a JSON patch, warnings, audit annotations, or a
// refusal) as Kubernetes' k8s.io/apiserver/pkg/admission/plugin/webhook does.
//
// The configurations are read from the API server's watch caches on each write; the compiled
// form (selectors, CEL programs) is kept until the set of configurations changes.
package webhook

import (
	"context"
	"errors"
	"log/slog"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/matchconditions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
	"github.com/skiff-sh/skiff/storage"
)

// Plugin names, as kube-apiserver's --disable-admission-plugins takes them.
const (
	MutatingPluginName   = "MutatingAdmissionWebhook"
	ValidatingPluginName = "ValidatingAdmissionWebhook"
)

// ServiceResolver reaches a webhook's service reference (webhookclient.ServiceResolver).
type ServiceResolver = webhookclient.ServiceResolver

// Config is what both plugins need.
type Config struct {
	// Objects reads the webhook configurations, namespaces (for namespaceSelector) and the
	// Services and EndpointSlices of service references.
	Objects admission.Objects
	// Resolver reaches service references; nil means through the Service's ready endpoints.
	Resolver ServiceResolver
	// Log records webhooks that failed open (failurePolicy Ignore); nil discards.
	Log *slog.Logger
}

// dispatcher is what both plugins share: the configuration index, the CEL compiler and the
// HTTP clients.
type dispatcher struct {
	objs     admission.Objects
	log      *slog.Logger
	compiler *matchconditions.Compiler
	// compilerErr: the CEL environment failed to build; every hook with match conditions
	// then fails under its failurePolicy.
	compilerErr error
	client      *webhookclient.Client
	index       index
}

func newDispatcher(cfg Config) *dispatcher {
	comp, err := matchconditions.NewCompiler()
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = webhookclient.EndpointResolver(cfg.Objects)
	}
	d := &dispatcher{objs: cfg.Objects, client: webhookclient.New(resolver), log: cfg.Log, compiler: comp, compilerErr: err}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d
}

// shouldCall decides whether h takes the write: rules, namespaceSelector, objectSelector,
// then matchConditions (which see the review h would get). A non-nil error refuses the write.
func (d *dispatcher) shouldCall(ctx context.Context, h *hook, a *admission.Attributes, rr func() (*reviewRequest, error)) (bool, error) {
	if !h.matchesRules(a) {
		return false, nil
	}
	if h.invalid != nil {
		if h.ignoreFailures() {
			return false, nil
		}
		return false, failClosed(a, &callError{hook: h.name, reason: h.invalid})
	}
	ok, err := h.matchesNamespace(ctx, a, d.objs)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return false, admission.NewError(404, meta.ReasonNotFound, "namespaces \""+a.Namespace+"\" not found",
				&meta.StatusDetails{Name: a.Namespace, Kind: "namespaces"})
		}
		return false, failClosed(a, err)
	}
	if !ok || !h.matchesObject(a) {
		return false, nil
	}
	if len(h.conditions) == 0 {
		return true, nil
	}
	r, err := rr()
	if err != nil {
		return false, failClosed(a, err)
	}
	ok, err = h.matchesConditions(r)
	if err != nil {
		return false, admission.Forbidden(a, err.Error())
	}
	return ok, nil
}

// checkDryRun refuses a dry run to a webhook that may have side effects.
func checkDryRun(h *hook, a *admission.Attributes) error {
	if a.DryRun && h.sideEffects != ar.SideEffectClassNone && h.sideEffects != ar.SideEffectClassNoneOnDryRun {
		return dryRunUnsupported(h.name)
	}
	return nil
}

// answer applies the parts of an answer both kinds share: audit annotations (prefixed by
// the hook's name) and warnings.
func answerAnnotations(a *admission.Attributes, h *hook, annotations map[string]string, warnings []string) {
	for k, v := range annotations {
		a.AddAnnotation(h.name+"/"+k, v)
	}
	for _, w := range warnings {
		a.AddWarning(w)
	}
}
