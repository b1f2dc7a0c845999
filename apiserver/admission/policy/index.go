package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/skiff-sh/skiff/api/admissionpolicy"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission/match"
)

// entry is one policy with its bindings, compiled.
type entry struct {
	policy      *ar.ValidatingAdmissionPolicy
	ignore      bool // failurePolicy Ignore
	constraints *matcher
	compiled    *admissionpolicy.Compiled
	// configErr: the policy cannot be evaluated (expressions that no longer compile, a
	// selector that does not parse); every request it matches fails under failurePolicy.
	configErr error
	bindings  []*binding
}

type binding struct {
	b       *ar.ValidatingAdmissionPolicyBinding
	match   *matcher // nil: every request the policy matches
	actions []ar.ValidationAction
}

// matcher is a compiled MatchResources.
type matcher struct {
	nsSel, objSel   labels.Selector
	rules, excludes []ar.NamedRuleWithOperations
	policy          ar.MatchPolicyType
	err             error // a selector that does not parse
}

func newMatcher(m *ar.MatchResources) *matcher {
	mt := &matcher{rules: m.ResourceRules, excludes: m.ExcludeResourceRules, policy: ar.Equivalent}
	if m.MatchPolicy != nil {
		mt.policy = *m.MatchPolicy
	}
	var err error
	if mt.nsSel, err = match.Selector(m.NamespaceSelector); err != nil {
		mt.err = fmt.Errorf("namespaceSelector: %w", err)
	}
	if mt.objSel, err = match.Selector(m.ObjectSelector); err != nil {
		mt.err = fmt.Errorf("objectSelector: %w", err)
	}
	return mt
}

// index holds the compiled policies, rebuilt only when the set of policies or bindings
// (names and resourceVersions) in the watch caches changes: a write with nothing changed pays
// for two cache lists.
type index struct {
	mu      sync.Mutex
	key     string
	entries []*entry
}

func cacheKey(objs []meta.Object, b *strings.Builder) {
	for _, o := range objs {
		m := o.GetObjectMeta()
		b.WriteString(m.Name + "@" + m.ResourceVersion + "\x00")
	}
}

func byName(a, b meta.Object) int {
	return strings.Compare(a.GetObjectMeta().Name, b.GetObjectMeta().Name)
}

// get returns the policies that have at least one binding, in name order, each with its
// bindings in name order.
func (ix *index) get(policies, bindings []meta.Object) []*entry {
	slices.SortFunc(policies, byName)
	slices.SortFunc(bindings, byName)
	var kb strings.Builder
	cacheKey(policies, &kb)
	kb.WriteString("\x01")
	cacheKey(bindings, &kb)
	key := kb.String()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key == ix.key && ix.entries != nil {
		return ix.entries
	}
	byPolicy := map[string][]*binding{}
	for _, o := range bindings {
		b, ok := o.(*ar.ValidatingAdmissionPolicyBinding)
		if !ok {
			continue
		}
		nb := &binding{b: b, actions: b.Spec.ValidationActions}
		if b.Spec.MatchResources != nil {
			nb.match = newMatcher(b.Spec.MatchResources)
		}
		byPolicy[b.Spec.PolicyName] = append(byPolicy[b.Spec.PolicyName], nb)
	}
	entries := []*entry{}
	for _, o := range policies {
		p, ok := o.(*ar.ValidatingAdmissionPolicy)
		if !ok || len(byPolicy[p.Name]) == 0 {
			continue // a policy without a binding does nothing
		}
		e := &entry{policy: p, bindings: byPolicy[p.Name], ignore: p.Spec.FailurePolicy != nil && *p.Spec.FailurePolicy == ar.Ignore}
		if p.Spec.MatchConstraints == nil {
			e.configErr = fmt.Errorf("policy contained no match constraints, a required field")
		} else {
			e.constraints = newMatcher(p.Spec.MatchConstraints)
		}
		var errs []string
		e.compiled, _ = compile(p, &errs)
		if len(errs) > 0 && e.configErr == nil {
			e.configErr = fmt.Errorf("%s", strings.Join(errs, "; "))
		}
		entries = append(entries, e)
	}
	ix.key, ix.entries = key, entries
	return entries
}

func compile(p *ar.ValidatingAdmissionPolicy, errs *[]string) (*admissionpolicy.Compiled, bool) {
	c, ferrs := admissionpolicy.Compile(&p.Spec, nil)
	for _, e := range ferrs {
		*errs = append(*errs, e.Error())
	}
	return c, len(ferrs) == 0
}
