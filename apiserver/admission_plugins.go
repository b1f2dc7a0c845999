package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/defaultingressclass"
	"github.com/skiff-sh/skiff/apiserver/admission/defaultstorageclass"
	"github.com/skiff-sh/skiff/apiserver/admission/defaulttolerationseconds"
	"github.com/skiff-sh/skiff/apiserver/admission/limitranger"
	"github.com/skiff-sh/skiff/apiserver/admission/namespacelifecycle"
	"github.com/skiff-sh/skiff/apiserver/admission/noderestriction"
	"github.com/skiff-sh/skiff/apiserver/admission/podsecurity"
	"github.com/skiff-sh/skiff/apiserver/admission/policy"
	"github.com/skiff-sh/skiff/apiserver/admission/priority"
	"github.com/skiff-sh/skiff/apiserver/admission/pvcresize"
	"github.com/skiff-sh/skiff/apiserver/admission/resourcequota"
	"github.com/skiff-sh/skiff/apiserver/admission/runtimeclass"
	"github.com/skiff-sh/skiff/apiserver/admission/storageprotection"
	"github.com/skiff-sh/skiff/apiserver/admission/webhook"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// admissionPlugins are every admission plugin skiff has, in the order they run: Kubernetes'
// recommended order (kube-apiserver's AllOrderedPlugins) of the ones skiff implements. Each
// plugin is a Mutator, a Validator or both; mutators all run before validators.
func (s *Server) admissionPlugins() []admission.Plugin {
	objs := admissionObjects{s}
	return []admission.Plugin{
		namespacelifecycle.New(objs),
		limitranger.New(objs),
		serviceAccountPlugin{s},
		noderestriction.NewPlugin(s.getPod),
		podsecurity.New(objs),
		priority.New(objs),
		defaulttolerationseconds.Plugin{},
		defaultstorageclass.New(objs),
		storageprotection.Plugin{},
		pvcresize.New(objs),
		runtimeclass.New(objs),
		defaultingressclass.New(objs),
		// The webhooks run after the built-in plugins of their kind (mutating, then
		// validating), as kube-apiserver orders them.
		webhook.NewMutating(webhook.Config{Objects: objs, Log: s.log.With("component", "admission-webhook")}),
		// ValidatingAdmissionPolicy runs between them, as in kube-apiserver.
		policy.New(policy.Config{Objects: objs, KindFor: s.reg.LookupKind,
			Authorizer: func() authz.Authorizer { return s.authorizer }, Log: s.log.With("component", "admission-policy")}),
		webhook.NewValidating(webhook.Config{Objects: objs, Log: s.log.With("component", "admission-webhook")}),
		resourcequota.New(quotaStore{s}), // last, as in Kubernetes: it charges what the others let through
	}
}

// buildAdmission makes the server's chain of the plugins not turned off by
// --disable-admission-plugins; a name that is no plugin is an error, as in kube-apiserver,
// so that a typo does not leave a plugin silently on.
func (s *Server) buildAdmission() error {
	all := s.admissionPlugins()
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name()
	}
	for _, n := range s.cfg.DisableAdmissionPlugins {
		if !slices.Contains(names, n) {
			return fmt.Errorf("--disable-admission-plugins: unknown plugin %q (known: %s)", n, strings.Join(names, ", "))
		}
	}
	var on []admission.Plugin
	for _, p := range all {
		if !slices.Contains(s.cfg.DisableAdmissionPlugins, p.Name()) {
			on = append(on, p)
		}
	}
	s.admission = admission.NewChain(on...)
	return nil
}

// admissionAttributes describes a write for the chain; the user comes from ctx.
func admissionAttributes(ctx context.Context, op admission.Operation, k *registry.Kind, sub, ns, name string, obj, old meta.Object, dry bool) *admission.Attributes {
	u, _ := authn.UserFrom(ctx)
	return &admission.Attributes{Operation: op, Kind: k, Subresource: sub, Namespace: ns, Name: name,
		Object: obj, OldObject: old, User: u, DryRun: dry}
}

// admitMutating runs the chain's mutating plugins; their warnings go to the client.
// A custom resource is pruned and defaulted again afterwards, as kube-apiserver's schema
// coercion does: a webhook cannot add fields its schema does not know.
func (s *Server) admitMutating(ctx context.Context, a *admission.Attributes) *apiError {
	err := s.admission.Admit(ctx, a)
	addWarnings(ctx, a.Warnings()...)
	auditAdmission(ctx, a)
	if err == nil && a.Kind != nil && a.Kind.Custom != nil && a.Kind.Custom.Schema != nil {
		if u, ok := a.Object.(*unstructured.Unstructured); ok && u != nil {
			a.Kind.Custom.Schema.PruneFields(u)
			a.Kind.Custom.Schema.DefaultFields(u)
		}
	}
	return admissionError(a, err)
}

// admitValidating runs the chain's validating plugins; their warnings go to the client.
func (s *Server) admitValidating(ctx context.Context, a *admission.Attributes) *apiError {
	n := len(a.Warnings())
	err := s.admission.Validate(ctx, a)
	addWarnings(ctx, a.Warnings()[n:]...)
	auditAdmission(ctx, a)
	return admissionError(a, err)
}

// auditAdmission copies the plugins' audit annotations (webhooks' auditAnnotations, their
// mutation and failed-open records) into the request's audit events.
func auditAdmission(ctx context.Context, a *admission.Attributes) {
	for k, v := range a.Annotations() {
		addAuditAnnotation(ctx, k, v)
	}
}

// admit runs the whole chain around validate (the server's own validation of the object):
// mutating plugins, then validate, then validating plugins, as Kubernetes orders them.
func (s *Server) admit(ctx context.Context, a *admission.Attributes, validate func() *apiError) *apiError {
	if aerr := s.admitMutating(ctx, a); aerr != nil {
		return aerr
	}
	if validate != nil {
		if aerr := validate(); aerr != nil {
			return aerr
		}
	}
	return s.admitValidating(ctx, a)
}

// admissionError turns a plugin's refusal into the client's Status; any other error is a 500
// naming the plugin's failure.
func admissionError(a *admission.Attributes, err error) *apiError {
	if err == nil {
		return nil
	}
	var re *admission.Error
	if errors.As(err, &re) {
		return &apiError{status: re.Status}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return newStatus(http.StatusInternalServerError, meta.ReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err), &meta.StatusDetails{Name: a.Name, Causes: []meta.StatusCause{{Message: err.Error()}}})
}

// serviceAccountPlugin is Kubernetes' ServiceAccount admission plugin on the chain (its logic
// is in admission_serviceaccount.go: it shares the token volume's shape with the server).
type serviceAccountPlugin struct{ s *Server }

func (serviceAccountPlugin) Name() string { return ServiceAccountAdmissionPlugin }

func (p serviceAccountPlugin) Admit(ctx context.Context, a *admission.Attributes) error {
	pod, ok := a.Object.(*core.Pod)
	if !ok || a.Operation != admission.Create || a.Subresource != "" {
		return nil
	}
	if err := admitServiceAccount(ctx, pod, p.s.lookupServiceAccount); err != nil {
		return admission.Forbidden(a, err.Error())
	}
	return nil
}
