package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/matchconditions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// exempt reports a write that no webhook sees: the webhook configurations themselves, so that
// a broken webhook can always be removed (Kubernetes' IsExemptAdmissionConfigurationResource).
func exempt(a *admission.Attributes) bool {
	return a.Kind != nil && a.Kind.Group == ar.GroupName
}

// matchesRules reports whether any rule names the write. Under matchPolicy Equivalent a rule
// that names the resource's group in another version matches too: skiff serves one version
// of each resource, which is then the equivalent one (Kubernetes would convert the object to
// the rule's version; skiff sends the served version, as the review's kind says).
func (h *hook) matchesRules(a *admission.Attributes) bool {
	for _, r := range h.rules {
		if ruleMatches(r, a, true) {
			return true
		}
	}
	if h.matchPolicy != ar.Equivalent {
		return false
	}
	for _, r := range h.rules {
		if ruleMatches(r, a, false) {
			return true
		}
	}
	return false
}

// ruleMatches is Kubernetes' rules.Matcher: operation, group, version (when exactVersion),
// resource with subresource, and scope.
func ruleMatches(r ar.RuleWithOperations, a *admission.Attributes, exactVersion bool) bool {
	k := a.Kind
	if k == nil {
		return false
	}
	opOK := false
	for _, op := range r.Operations {
		opOK = opOK || op == ar.OperationAll || string(op) == string(a.Operation)
	}
	if !opOK || !oneOf(r.APIGroups, k.Group) || (exactVersion && !oneOf(r.APIVersions, k.Version)) {
		return false
	}
	if !resourceMatches(r.Resources, k.Resource, a.Subresource) {
		return false
	}
	switch deref(r.Scope, ar.AllScopes) {
	case ar.ClusterScope:
		return !k.Namespaced
	case ar.NamespacedScope:
		// A Namespace is cluster-scoped, yet Kubernetes counts it as namespaced here (its
		// requests carry a namespace: the namespace itself).
		return k.Namespaced || (k.Group == "" && k.Resource == "namespaces")
	}
	return true
}

func oneOf(list []string, v string) bool {
	for _, s := range list {
		if s == "*" || s == v {
			return true
		}
	}
	return false
}

// resourceMatches: "pods" (no subresource), "pods/status", "*" (every resource, no
// subresource), "pods/*", "*/status", "*/*".
func resourceMatches(list []string, resource, sub string) bool {
	for _, e := range list {
		res, s, hasSub := strings.Cut(e, "/")
		switch {
		case e == "*/*":
			return true
		case !hasSub:
			if sub == "" && (res == "*" || res == resource) {
				return true
			}
		default:
			if (res == "*" || res == resource) && (s == "*" || s == sub) {
				return true
			}
		}
	}
	return false
}

// matchesNamespace applies namespaceSelector: to the labels of the object's namespace, to a
// Namespace's own labels, and not at all to other cluster-scoped objects.
func (h *hook) matchesNamespace(ctx context.Context, a *admission.Attributes, objs admission.Objects) (bool, error) {
	isNamespace := a.Kind != nil && a.Kind.Group == "" && a.Kind.Resource == "namespaces"
	if (a.Namespace == "" && !isNamespace) || h.nsSelector.Empty() {
		return true, nil
	}
	var lbls map[string]string
	switch {
	case isNamespace:
		obj := a.Object
		if _, ok := obj.(*core.Namespace); !ok || !present(obj) {
			obj = a.OldObject
		}
		if present(obj) {
			lbls = obj.GetObjectMeta().Labels
		}
	default:
		ns, err := objs.Get(ctx, "", "namespaces", "", a.Namespace)
		if err != nil {
			return false, fmt.Errorf("namespace %q: %w", a.Namespace, err)
		}
		lbls = ns.GetObjectMeta().Labels
	}
	return h.nsSelector.Matches(labels.Set(lbls)), nil
}

// matchesObject applies objectSelector to the new and the old object: either matching is
// enough, as in Kubernetes.
func (h *hook) matchesObject(a *admission.Attributes) bool {
	if h.objSelector.Empty() {
		return true
	}
	for _, o := range []meta.Object{a.Object, a.OldObject} {
		if present(o) && h.objSelector.Matches(labels.Set(o.GetObjectMeta().Labels)) {
			return true
		}
	}
	return false
}

// errConditionFailed is a match condition that failed to evaluate under failurePolicy Fail.
var errConditionFailed = errors.New("match condition failed")

// matchesConditions evaluates matchConditions in order; a false one stops. An evaluation error
// skips the webhook under failurePolicy Ignore and refuses the write under Fail.
func (h *hook) matchesConditions(req *reviewRequest) (bool, error) {
	if len(h.conditions) == 0 {
		return true, nil
	}
	vars, err := req.celVars()
	if err != nil {
		return false, err
	}
	var errs []error
	for _, c := range h.conditions {
		ok, err := c.prg.Eval(vars)
		if err != nil {
			errs = append(errs, fmt.Errorf("expression %q resulted in error: %w", c.name, err))
			continue
		}
		if !ok {
			return false, nil
		}
	}
	if len(errs) == 0 {
		return true, nil
	}
	if h.ignoreFailures() {
		return false, nil
	}
	return false, fmt.Errorf("%w: %w", errConditionFailed, errors.Join(errs...))
}

// celVars is what the expressions see: the review's request, and its objects, as JSON values.
func (r *reviewRequest) celVars() (matchconditions.Vars, error) {
	var review struct {
		Request map[string]any `json:"request"`
	}
	if err := json.Unmarshal(r.body, &review); err != nil {
		return matchconditions.Vars{}, err
	}
	return matchconditions.Vars{Object: review.Request["object"], OldObject: review.Request["oldObject"], Request: review.Request}, nil
}

// present reports a non-nil object (an interface holding a nil pointer is absent too).
func present(o meta.Object) bool {
	return o != nil && !reflect.ValueOf(o).IsNil()
}
