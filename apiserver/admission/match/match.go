// Package match decides whether an admission configuration takes a write: Kubernetes' rules
// matcher (operations, groups, versions, resources with subresources, scope) and its
// namespace and object selectors. Admission webhooks (apiserver/admission/webhook) and
// ValidatingAdmissionPolicies (apiserver/admission/policy) match with the same code, as they
// do in Kubernetes (k8s.io/apiserver/pkg/admission/plugin/webhook/predicates).
package match

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Rules reports whether any rule names the write. Under matchPolicy Equivalent a rule that
// names the resource's group in another version matches too: skiff serves one version of each
// resource, which is then the equivalent one.
func Rules(rules []ar.RuleWithOperations, policy ar.MatchPolicyType, a *admission.Attributes) bool {
	for _, r := range rules {
		if Rule(r, a, true) {
			return true
		}
	}
	if policy != ar.Equivalent {
		return false
	}
	for _, r := range rules {
		if Rule(r, a, false) {
			return true
		}
	}
	return false
}

// Rule is Kubernetes' rules.Matcher: operation, group, version (when exactVersion), resource
// with subresource, and scope.
func Rule(r ar.RuleWithOperations, a *admission.Attributes, exactVersion bool) bool {
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
	scope := ar.AllScopes
	if r.Scope != nil {
		scope = *r.Scope
	}
	switch scope {
	case ar.ClusterScope:
		return !k.Namespaced
	case ar.NamespacedScope:
		// A Namespace is cluster-scoped, yet Kubernetes counts it as namespaced here (its
		// requests carry a namespace: the namespace itself).
		return k.Namespaced || isNamespace(a)
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

func isNamespace(a *admission.Attributes) bool {
	return a.Kind != nil && a.Kind.Group == "" && a.Kind.Resource == "namespaces"
}

// NamespaceLabels are the labels namespaceSelector is matched against: the object's
// namespace's, or a Namespace's own. ok is false for other cluster-scoped objects, which
// namespaceSelector does not apply to. The error wraps storage.ErrNotFound for a namespace
// that does not exist.
func NamespaceLabels(ctx context.Context, a *admission.Attributes, objs admission.Objects) (lbls map[string]string, ok bool, err error) {
	switch {
	case isNamespace(a):
		obj := a.Object
		if _, isNS := obj.(*core.Namespace); !isNS || !Present(obj) {
			obj = a.OldObject
		}
		if Present(obj) {
			lbls = obj.GetObjectMeta().Labels
		}
		return lbls, true, nil
	case a.Namespace == "":
		return nil, false, nil
	}
	ns, err := objs.Get(ctx, "", "namespaces", "", a.Namespace)
	if err != nil {
		return nil, false, fmt.Errorf("namespace %q: %w", a.Namespace, err)
	}
	return ns.GetObjectMeta().Labels, true, nil
}

// Namespace applies a namespaceSelector (see NamespaceLabels).
func Namespace(ctx context.Context, sel labels.Selector, a *admission.Attributes, objs admission.Objects) (bool, error) {
	if sel.Empty() || (a.Namespace == "" && !isNamespace(a)) {
		return true, nil
	}
	lbls, ok, err := NamespaceLabels(ctx, a, objs)
	if err != nil || !ok {
		return !ok && err == nil, err
	}
	return sel.Matches(labels.Set(lbls)), nil
}

// Object applies an objectSelector to the new and the old object: either matching is enough,
// as in Kubernetes.
func Object(sel labels.Selector, a *admission.Attributes) bool {
	if sel.Empty() {
		return true
	}
	for _, o := range []meta.Object{a.Object, a.OldObject} {
		if Present(o) && sel.Matches(labels.Set(o.GetObjectMeta().Labels)) {
			return true
		}
	}
	return false
}

// Selector compiles a label selector; nil selects everything.
func Selector(s *meta.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return labels.SelectorFromLabelSelector(s)
}

// Present reports a non-nil object (an interface holding a nil pointer is absent too).
func Present(o meta.Object) bool {
	return o != nil && !reflect.ValueOf(o).IsNil()
}
