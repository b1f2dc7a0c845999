package webhook

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/matchconditions"
	"github.com/skiff-sh/skiff/api/meta"
)

// hook is one webhook of a configuration, with what matching needs compiled once: the two
// kinds' webhooks share every field a call needs (a validating one has no reinvocation).
type hook struct {
	configuration string // the configuration's name
	id            string // configuration/index: identifies the hook across reinvocation
	name          string
	clientConfig  ar.WebhookClientConfig
	rules         []ar.RuleWithOperations
	failurePolicy ar.FailurePolicyType
	matchPolicy   ar.MatchPolicyType
	sideEffects   ar.SideEffectClass
	timeout       time.Duration
	reinvoke      bool // reinvocationPolicy IfNeeded
	nsSelector    labels.Selector
	objSelector   labels.Selector
	conditions    []condition
	// invalid is set when a selector or condition does not compile (a configuration stored
	// before a rule tightened): every call through the hook fails under its failurePolicy.
	invalid error
}

type condition struct {
	name string
	prg  *matchconditions.Program
}

func (h *hook) ignoreFailures() bool { return h.failurePolicy == ar.Ignore }

// newHook compiles one webhook's fields. Defaults are applied again, as a configuration read
// from storage may predate them.
func (d *dispatcher) newHook(config string, i int, name string, cc ar.WebhookClientConfig, rules []ar.RuleWithOperations,
	fp *ar.FailurePolicyType, mp *ar.MatchPolicyType, se *ar.SideEffectClass, timeout *int32,
	nsSel, objSel *meta.LabelSelector, conds []ar.MatchCondition) *hook {
	h := &hook{configuration: config, id: config + "/" + strconv.Itoa(i), name: name, clientConfig: cc, rules: rules,
		failurePolicy: deref(fp, ar.Fail), matchPolicy: deref(mp, ar.Equivalent), sideEffects: deref(se, ar.SideEffectClassUnknown),
		timeout: time.Duration(deref(timeout, 10)) * time.Second}
	var err error
	if h.nsSelector, err = selector(nsSel); err != nil {
		h.invalid = fmt.Errorf("namespaceSelector: %w", err)
	}
	if h.objSelector, err = selector(objSel); err != nil {
		h.invalid = fmt.Errorf("objectSelector: %w", err)
	}
	for _, c := range conds {
		if d.compilerErr != nil {
			h.invalid = d.compilerErr
			break
		}
		prg, err := d.compiler.Compile(strings.TrimSpace(c.Expression))
		if err != nil {
			h.invalid = fmt.Errorf("matchConditions %q: %w", c.Name, err)
			continue
		}
		h.conditions = append(h.conditions, condition{c.Name, prg})
	}
	return h
}

func selector(s *meta.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Everything(), nil
	}
	return labels.SelectorFromLabelSelector(s)
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// index holds the compiled hooks of one kind of configuration, rebuilt only when the set of
// configurations (names and resourceVersions) in the watch cache changes, so a write with
// nothing changed pays for one cache list.
type index struct {
	mu    sync.Mutex
	key   string
	hooks []*hook
}

// get returns the hooks of configs, in Kubernetes' order: configurations by name, then
// webhooks in the order written.
func (ix *index) get(configs []meta.Object, build func(meta.Object) []*hook) []*hook {
	slices.SortFunc(configs, func(a, b meta.Object) int {
		return strings.Compare(a.GetObjectMeta().Name, b.GetObjectMeta().Name)
	})
	var kb strings.Builder
	for _, c := range configs {
		m := c.GetObjectMeta()
		kb.WriteString(m.Name + "@" + m.ResourceVersion + "\x00")
	}
	key := kb.String()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if key == ix.key && ix.hooks != nil {
		return ix.hooks
	}
	hooks := []*hook{}
	for _, c := range configs {
		hooks = append(hooks, build(c)...)
	}
	ix.key, ix.hooks = key, hooks
	return hooks
}
