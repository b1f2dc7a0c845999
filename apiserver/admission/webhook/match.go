package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiff-sh/skiff/api/admissioncel"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/matchconditions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/match"
)

// exempt reports a write that no webhook sees: the webhook configurations themselves, so that
// a broken webhook can always be removed (Kubernetes' IsExemptAdmissionConfigurationResource).
func exempt(a *admission.Attributes) bool {
	return a.Kind != nil && a.Kind.Group == ar.GroupName
}

// matchesRules reports whether any rule names the write (skiff sends the served version, as
// the review's kind says, where Kubernetes would convert the object to the rule's version).
func (h *hook) matchesRules(a *admission.Attributes) bool {
	return match.Rules(h.rules, h.matchPolicy, a)
}

// matchesNamespace applies namespaceSelector.
func (h *hook) matchesNamespace(ctx context.Context, a *admission.Attributes, objs admission.Objects) (bool, error) {
	return match.Namespace(ctx, h.nsSelector, a, objs)
}

// matchesObject applies objectSelector.
func (h *hook) matchesObject(a *admission.Attributes) bool { return match.Object(h.objSelector, a) }

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
	v, err := admissioncel.DecodeJSON(r.body)
	if err != nil {
		return matchconditions.Vars{}, err
	}
	review, _ := v.(map[string]any)
	req, _ := review["request"].(map[string]any)
	return matchconditions.Vars{Object: req["object"], OldObject: req["oldObject"], Request: req}, nil
}

func present(o meta.Object) bool { return match.Present(o) }
