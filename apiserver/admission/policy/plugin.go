// Package policy is the ValidatingAdmissionPolicy admission plugin: it evaluates the CEL
// validations of every admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy whose
// matchConstraints take the write, once per binding whose matchResources take it too (and
// once per parameter object the binding's paramRef selects), and denies, warns or records an
// audit annotation as the binding's validationActions say, as Kubernetes'
// k8s.io/apiserver/pkg/admission/plugin/policy/validating does.
//
// Policies, bindings and parameters are read from the API server's watch caches on each
// write, never from etcd (a parameter named by paramRef.name that the cache does not hold yet
// is looked up in storage, as every admission.Objects Get is); the compiled form is kept until
// a policy or a binding changes. A policy takes effect as soon as the watch cache has seen it
// and its binding: the etcd watch event's delay, milliseconds.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/skiff-sh/skiff/api/admissioncel"
	"github.com/skiff-sh/skiff/api/admissionpolicy"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/match"
	"github.com/skiff-sh/skiff/apiserver/admission/review"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/storage"
)

// PluginName is the name kube-apiserver's --disable-admission-plugins takes.
const PluginName = "ValidatingAdmissionPolicy"

// Config is what the plugin needs.
type Config struct {
	// Objects reads policies, bindings, namespaces and parameter objects.
	Objects admission.Objects
	// KindFor resolves a policy's paramKind to the kind serving it.
	KindFor func(group, version, kind string) (*registry.Kind, bool)
	// Authorizer answers the expressions' `authorizer` checks; it is called at evaluation (the
	// server sets its authorizer up after the admission chain). Nil, or returning nil: every
	// check is an error.
	Authorizer func() authz.Authorizer
	// Log records configuration errors ignored under failurePolicy Ignore; nil discards.
	Log *slog.Logger
}

// Plugin is the ValidatingAdmissionPolicy admission plugin (a Validator).
type Plugin struct {
	cfg   Config
	index index
}

// New makes the plugin.
func New(cfg Config) *Plugin {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Plugin{cfg: cfg}
}

func (*Plugin) Name() string { return PluginName }

// AdmitsConnect: policies see exec, attach, port-forward and proxy requests (operation
// CONNECT, the options as the object), as in Kubernetes.
func (*Plugin) AdmitsConnect() {}

// decision is a failed validation (or an error under failurePolicy Fail) of one binding.
type decision struct {
	policy, binding string
	message         string
	reason          string // "" means Invalid
}

// Validate evaluates the policies that take the write.
func (p *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	if a.Kind == nil {
		return nil
	}
	policies := p.cfg.Objects.List(ar.GroupName, "validatingadmissionpolicies", "")
	if len(policies) == 0 {
		return nil
	}
	entries := p.index.get(policies, p.cfg.Objects.List(ar.GroupName, "validatingadmissionpolicybindings", ""))
	var (
		denied []decision
		in     *input
	)
	configError := func(e *entry, b *binding, err error) {
		if e.ignore {
			p.cfg.Log.Warn("ValidatingAdmissionPolicy failed, ignored (failurePolicy Ignore)", "policy", e.policy.Name, "err", err)
			return
		}
		d := decision{policy: e.policy.Name, message: "failed to configure policy: " + err.Error()}
		if b != nil {
			d.binding, d.message = b.b.Name, "failed to configure binding: "+err.Error()
		}
		denied = append(denied, d)
	}
	for _, e := range entries {
		if e.constraints != nil {
			ok, err := e.constraints.matches(ctx, a, p.cfg.Objects)
			if err != nil {
				configError(e, nil, err)
				continue
			}
			if !ok {
				continue
			}
		}
		if e.configErr != nil {
			configError(e, nil, e.configErr)
			continue
		}
		audit := map[string][]string{}
		for _, b := range e.bindings {
			if b.match != nil {
				ok, err := b.match.matches(ctx, a, p.cfg.Objects)
				if err != nil {
					configError(e, b, err)
					continue
				}
				if !ok {
					continue
				}
			}
			params, err := p.params(ctx, e, b, a)
			if err != nil {
				configError(e, b, err)
				continue
			}
			if len(params) == 0 {
				continue // parameterNotFoundAction Allow
			}
			if in == nil {
				if in, err = newInput(ctx, a, p.cfg.Objects); err != nil {
					return err
				}
				in.authorizer, in.requestResource = admissioncel.AuthorizerValues(p.authorize(ctx, a.User), admissioncel.AuthzCheck{
					Group: a.Kind.Group, Resource: a.Kind.Resource, Subresource: a.Subresource, Namespace: a.Namespace, Name: a.Name})
			}
			for _, param := range params {
				r := evaluate(e, in, param)
				for i, d := range r.denied {
					d.policy, d.binding = e.policy.Name, b.b.Name
					p.act(a, b, i, d, &denied)
				}
				for k, v := range r.annotations {
					audit[k] = appendUnique(audit[k], v)
				}
			}
		}
		for k, vs := range audit {
			a.AddAnnotation(e.policy.Name+"/"+k, strings.Join(vs, ", "))
		}
	}
	if len(denied) == 0 {
		return nil
	}
	return deny(a, denied[0])
}

// act applies one failed validation as the binding's validationActions say.
func (p *Plugin) act(a *admission.Attributes, b *binding, index int, d decision, denied *[]decision) {
	for _, action := range b.actions {
		switch action {
		case ar.Deny:
			*denied = append(*denied, d)
		case ar.Warn:
			a.AddWarning(fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", d.policy, d.binding, d.message))
		case ar.Audit:
			const key = "validation.policy.admission.k8s.io/validation_failure"
			var failures []validationFailure
			if prev := a.Annotations()[key]; prev != "" {
				_ = json.Unmarshal([]byte(prev), &failures)
			}
			failures = append(failures, validationFailure{Message: d.message, Policy: d.policy, Binding: d.binding,
				ExpressionIndex: index, ValidationActions: b.actions})
			v, _ := json.Marshal(failures)
			a.AddAnnotation(key, string(v))
		}
	}
}

// validationFailure is one entry of the validation_failure audit annotation, as Kubernetes
// writes it.
type validationFailure struct {
	Message           string                `json:"message"`
	Policy            string                `json:"policy"`
	Binding           string                `json:"binding"`
	ExpressionIndex   int                   `json:"expressionIndex"`
	ValidationActions []ar.ValidationAction `json:"validationActions"`
}

func appendUnique(list []string, v string) []string {
	for _, s := range list {
		if s == v {
			return list
		}
	}
	return append(list, v)
}

// deny is Kubernetes' refusal: admission.NewForbidden's message with the reason (and its
// HTTP code) of the failed validation, Invalid (422) unless the validation names another.
func deny(a *admission.Attributes, d decision) error {
	msg := fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", d.policy, d.binding, d.message)
	if d.binding == "" {
		msg = fmt.Sprintf("ValidatingAdmissionPolicy '%s' denied request: %s", d.policy, d.message)
	}
	err := admission.Forbidden(a, msg)
	reason := d.reason
	if reason == "" {
		reason = meta.ReasonInvalid
	}
	err.Status.Reason, err.Status.Code = reason, reasonCode(reason)
	if err.Status.Details != nil {
		err.Status.Details.Causes = append(err.Status.Details.Causes, meta.StatusCause{Message: msg})
	}
	return err
}

func reasonCode(reason string) int32 {
	switch reason {
	case meta.ReasonForbidden:
		return http.StatusForbidden
	case meta.ReasonUnauthorized:
		return http.StatusUnauthorized
	case meta.ReasonRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusUnprocessableEntity
}

// matches is Kubernetes' policy matcher: namespaceSelector, objectSelector, then
// excludeResourceRules, then resourceRules (none means every resource), each with its
// resourceNames.
func (m *matcher) matches(ctx context.Context, a *admission.Attributes, objs admission.Objects) (bool, error) {
	if m.err != nil {
		return false, m.err
	}
	ok, err := match.Namespace(ctx, m.nsSel, a, objs)
	if err != nil || !ok {
		return false, err
	}
	if !match.Object(m.objSel, a) {
		return false, nil
	}
	if namedRulesMatch(m.excludes, m.policy, a) {
		return false, nil
	}
	return len(m.rules) == 0 || namedRulesMatch(m.rules, m.policy, a), nil
}

func namedRulesMatch(rules []ar.NamedRuleWithOperations, policy ar.MatchPolicyType, a *admission.Attributes) bool {
	for _, exact := range []bool{true, false} {
		if !exact && policy != ar.Equivalent {
			break
		}
		for _, r := range rules {
			if !match.Rule(r.RuleWithOperations, a, exact) {
				continue
			}
			if len(r.ResourceNames) == 0 {
				return true
			}
			for _, n := range r.ResourceNames {
				if n == a.Name {
					return true
				}
			}
		}
	}
	return false
}

// params are the parameter objects of a binding, as JSON values: [nil] for a policy without
// paramKind (or a binding without paramRef), none when none is found and the binding allows
// that. An error is a configuration error, under the policy's failurePolicy.
func (p *Plugin) params(ctx context.Context, e *entry, b *binding, a *admission.Attributes) ([]any, error) {
	pk, ref := e.policy.Spec.ParamKind, b.b.Spec.ParamRef
	if pk == nil || ref == nil {
		return []any{nil}, nil
	}
	group, version, found := strings.Cut(pk.APIVersion, "/")
	if !found {
		group, version = "", pk.APIVersion
	}
	var k *registry.Kind
	ok := false
	if p.cfg.KindFor != nil {
		k, ok = p.cfg.KindFor(group, version, pk.Kind)
	}
	if !ok {
		return nil, fmt.Errorf("paramKind kind `%s, Kind=%s` not known", pk.APIVersion, pk.Kind)
	}
	ns := ""
	switch {
	case k.Namespaced && ref.Namespace != "":
		ns = ref.Namespace
	case k.Namespaced && a.Namespace == "":
		return nil, errors.New("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources")
	case k.Namespaced:
		ns = a.Namespace
	case ref.Namespace != "":
		return nil, errors.New("paramRef.namespace must not be provided for a cluster-scoped `paramKind`")
	}
	var objs []meta.Object
	switch {
	case ref.Name != "":
		o, err := p.cfg.Objects.Get(ctx, k.Group, k.Resource, ns, ref.Name)
		switch {
		case err == nil:
			objs = []meta.Object{o}
		case !errors.Is(err, storage.ErrNotFound):
			return nil, err
		}
	case ref.Selector != nil:
		sel, err := labels.SelectorFromLabelSelector(ref.Selector)
		if err != nil {
			return nil, err
		}
		for _, o := range p.cfg.Objects.List(k.Group, k.Resource, ns) {
			if sel.Matches(labels.Set(o.GetObjectMeta().Labels)) {
				objs = append(objs, o)
			}
		}
	default:
		return nil, errors.New("one of name or selector must be provided")
	}
	if len(objs) == 0 {
		if ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == ar.DenyAction {
			return nil, errors.New("no params found for policy binding with `Deny` parameterNotFoundAction")
		}
		return nil, nil
	}
	out := make([]any, 0, len(objs))
	for _, o := range objs {
		v, err := jsonValue(o, k)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// input is what every expression of one write sees, built once per write.
type input struct {
	object, oldObject, request, namespace any
	authorizer, requestResource           any
}

func newInput(ctx context.Context, a *admission.Attributes, objs admission.Objects) (*input, error) {
	in := &input{}
	var err error
	if in.object, err = jsonValue(a.Object, a.Kind); err != nil {
		return nil, err
	}
	if in.oldObject, err = jsonValue(a.OldObject, a.Kind); err != nil {
		return nil, err
	}
	req, err := review.Request(a, false)
	if err != nil {
		return nil, err
	}
	if in.request, err = toJSONValue(req); err != nil {
		return nil, err
	}
	// namespaceObject: the request's namespace (null for cluster-scoped objects and for
	// Namespaces themselves, as in Kubernetes).
	if a.Namespace != "" && !(a.Kind.Group == "" && a.Kind.Resource == "namespaces") {
		if ns, err := objs.Get(ctx, "", "namespaces", "", a.Namespace); err == nil {
			if in.namespace, err = toJSONValue(ns); err != nil {
				return nil, err
			}
		}
	}
	return in, nil
}

// jsonValue is the object as expressions see it: what encoding/json makes of it, with
// apiVersion and kind set; nil for no object.
func jsonValue(o meta.Object, k *registry.Kind) (any, error) {
	if !match.Present(o) {
		return nil, nil
	}
	v, err := toJSONValue(o)
	if m, ok := v.(map[string]any); ok && k != nil && m["kind"] == nil {
		if tm := o.GetTypeMeta(); tm.Kind == "" {
			m["kind"], m["apiVersion"] = k.Kind, k.APIVersion()
		}
	}
	return v, err
}

func toJSONValue(o any) (any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return admissioncel.DecodeJSON(b)
}

// result is what one (policy, binding, param) evaluation found.
type result struct {
	denied      []decision
	annotations map[string]string
}

// evaluate runs a policy's expressions over one write and one parameter: matchConditions
// (all true, or nothing is checked), then validations, then auditAnnotations. Evaluation
// errors deny under failurePolicy Fail and are ignored under Ignore.
func evaluate(e *entry, in *input, param any) result {
	c := e.compiled
	act := admissioncel.Activation{
		admissioncel.Object: in.object, admissioncel.OldObject: in.oldObject, admissioncel.Request: in.request,
		admissioncel.NamespaceObject: in.namespace,
		admissioncel.Authorizer:      in.authorizer, admissioncel.AuthorizerRequestResource: in.requestResource,
	}
	if c.HasParams {
		act[admissioncel.Params] = param
	}
	for _, v := range c.Variables {
		act.SetLazy(admissioncel.VariablesPrefix+v.Name, func() ref.Val {
			out, err := v.Program.Eval(act)
			if err != nil {
				return types.NewErr("composited variable %q fails to evaluate: %v", v.Name, err)
			}
			return out
		})
	}
	var r result
	fail := func(msg string) {
		if !e.ignore {
			r.denied = append(r.denied, decision{message: msg})
		}
	}
	for _, m := range c.MatchConditions {
		ok, err := m.Program.EvalBool(act)
		if err != nil {
			fail(fmt.Sprintf("expression '%s' resulted in error: %v", m.Name, err))
			return r
		}
		if !ok {
			return r
		}
	}
	for _, v := range c.Validations {
		ok, err := v.Expression.EvalBool(act)
		if err != nil {
			fail(fmt.Sprintf("expression '%s' resulted in error: %v", v.Expression.Expression, err))
			continue
		}
		if ok {
			continue
		}
		r.denied = append(r.denied, decision{message: message(v, act), reason: v.Reason})
	}
	for _, an := range c.AuditAnnotations {
		out, err := an.Value.Eval(act)
		if err != nil {
			fail(fmt.Sprintf("expression '%s' resulted in error: %v", an.Value.Expression, err))
			continue
		}
		switch v := out.Value().(type) {
		case string:
			if v = strings.TrimSpace(v); v != "" {
				if r.annotations == nil {
					r.annotations = map[string]string{}
				}
				if len(v) > maxAuditAnnotationValueLength {
					v = v[:maxAuditAnnotationValueLength]
				}
				r.annotations[an.Key] = v
			}
		default:
			if out.Type() != types.NullType {
				fail(fmt.Sprintf("valueExpression '%v' resulted in unsupported return type: %v. Return type must be either string or null.", an.Value.Expression, out.Type()))
			}
		}
	}
	return r
}

const (
	maxAuditAnnotationValueLength = 10 * 1024
	maxMessageLength              = 5 * 1024
)

// message is the failed validation's message: messageExpression's result if it evaluates to
// a usable string (one line, not too long), else message, else "failed expression: EXPR".
func message(v admissionpolicy.Validation, act admissioncel.Activation) string {
	if v.MessageExpression != nil {
		if out, err := v.MessageExpression.Eval(act); err == nil {
			if s, ok := out.Value().(string); ok {
				s = strings.TrimSpace(s)
				if s != "" && len(s) <= maxMessageLength && !strings.Contains(s, "\n") {
					return s
				}
			}
		}
	}
	if m := strings.TrimSpace(v.Message); m != "" {
		return m
	}
	return "failed expression: " + strings.TrimSpace(v.Expression.Expression)
}

// authorize answers the authorizer library's checks for the request's user (or the service
// account an expression names) with the server's authorizer, as a SubjectAccessReview would.
func (p *Plugin) authorize(ctx context.Context, user *authn.User) admissioncel.AuthorizeFunc {
	return func(c admissioncel.AuthzCheck) (bool, string, error) {
		var z authz.Authorizer
		if p.cfg.Authorizer != nil {
			z = p.cfg.Authorizer()
		}
		if z == nil {
			return false, "", errors.New("no authorizer")
		}
		u := user
		if c.ServiceAccountName != "" {
			u = &authn.User{Name: authn.ServiceAccountUserPrefix + c.ServiceAccountNamespace + ":" + c.ServiceAccountName,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + c.ServiceAccountNamespace, "system:authenticated"}}
		}
		if u == nil {
			u = &authn.User{}
		}
		d, reason, err := z.Authorize(ctx, authz.Attributes{User: u, Verb: c.Verb, ResourceRequest: c.ResourceRequest,
			Namespace: c.Namespace, APIGroup: c.Group, Resource: c.Resource, Subresource: c.Subresource, Name: c.Name, Path: c.Path})
		return d == authz.Allow, reason, err
	}
}
