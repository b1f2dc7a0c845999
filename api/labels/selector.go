package labels

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// Operator is how a requirement compares a label; the values are Kubernetes' selection.Operator.
type Operator string

const (
	DoesNotExist Operator = "!"
	Equals       Operator = "="
	DoubleEquals Operator = "=="
	In           Operator = "in"
	NotEquals    Operator = "!="
	NotIn        Operator = "notin"
	Exists       Operator = "exists"
	GreaterThan  Operator = "gt"
	LessThan     Operator = "lt"
)

var (
	binaryOperators = []Operator{In, NotIn, Equals, DoubleEquals, NotEquals, GreaterThan, LessThan}
	validOperators  = append(slices.Clone(binaryOperators), Exists, DoesNotExist)
)

// Requirement is one term of a selector: key, operator and values.
type Requirement struct {
	key      string
	operator Operator
	values   []string
}

// NewRequirement validates and builds a requirement. In/NotIn need values, the equality
// operators exactly one, Exists/DoesNotExist none, and Gt/Lt one integer.
func NewRequirement(key string, op Operator, vals []string) (*Requirement, error) {
	var errs []error
	if msgs := ValidateKey(key); len(msgs) != 0 {
		errs = append(errs, invalid("key", key, strings.Join(msgs, "; ")))
	}
	switch op {
	case In, NotIn:
		if len(vals) == 0 {
			errs = append(errs, invalid("values", vals, "for 'in', 'notin' operators, values set can't be empty"))
		}
	case Equals, DoubleEquals, NotEquals:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "exact-match compatibility requires one single value"))
		}
	case Exists, DoesNotExist:
		if len(vals) != 0 {
			errs = append(errs, invalid("values", vals, "values set must be empty for exists and does not exist"))
		}
	case GreaterThan, LessThan:
		if len(vals) != 1 {
			errs = append(errs, invalid("values", vals, "for 'Gt', 'Lt' operators, exactly one value is required"))
		}
		for i, v := range vals {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				errs = append(errs, invalid(fmt.Sprintf("values[%d]", i), v, "for 'Gt', 'Lt' operators, the value must be an integer"))
			}
		}
	default:
		quoted := make([]string, len(validOperators))
		for i, o := range validOperators {
			quoted[i] = strconv.Quote(string(o))
		}
		errs = append(errs, fmt.Errorf("operator: Unsupported value: %q: supported values: %s", op, strings.Join(quoted, ", ")))
	}
	for i, v := range vals {
		if msgs := ValidateValue(v); len(msgs) != 0 {
			errs = append(errs, invalid(fmt.Sprintf("values[%d][%s]", i, key), v, strings.Join(msgs, "; ")))
		}
	}
	return &Requirement{key: key, operator: op, values: vals}, newAggregate(errs)
}

// Key returns the label key.
func (r *Requirement) Key() string { return r.key }

// Operator returns the operator.
func (r *Requirement) Operator() Operator { return r.operator }

// Values returns the values, sorted and without duplicates.
func (r *Requirement) Values() []string {
	return slices.Compact(slices.Sorted(slices.Values(r.values)))
}

// Matches reports whether labels satisfy the requirement. A missing label fails In,
// Equals, Gt and Lt but passes NotIn and NotEquals, as in Kubernetes.
func (r *Requirement) Matches(ls Labels) bool {
	switch r.operator {
	case In, Equals, DoubleEquals:
		return ls.Has(r.key) && slices.Contains(r.values, ls.Get(r.key))
	case NotIn, NotEquals:
		return !ls.Has(r.key) || !slices.Contains(r.values, ls.Get(r.key))
	case Exists:
		return ls.Has(r.key)
	case DoesNotExist:
		return !ls.Has(r.key)
	case GreaterThan, LessThan:
		if !ls.Has(r.key) || len(r.values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(ls.Get(r.key), 10, 64)
		want, err2 := strconv.ParseInt(r.values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		return (r.operator == GreaterThan && have > want) || (r.operator == LessThan && have < want)
	}
	return false
}

// String prints the requirement in selector syntax: "a=b", "a in (x,y)", "!a", "a>1".
func (r *Requirement) String() string {
	values := strings.Join(slices.Sorted(slices.Values(r.values)), ",")
	switch r.operator {
	case Exists:
		return r.key
	case DoesNotExist:
		return "!" + r.key
	case In, NotIn:
		return r.key + " " + string(r.operator) + " (" + values + ")"
	}
	return r.key + symbols[r.operator] + values
}

var symbols = map[Operator]string{Equals: "=", DoubleEquals: "==", NotEquals: "!=", GreaterThan: ">", LessThan: "<"}

// Requirements is a list of requirements, all of which must match.
type Requirements []Requirement

// String joins the requirements with ", ".
func (rs Requirements) String() string {
	s := make([]string, len(rs))
	for i := range rs {
		s[i] = rs[i].String()
	}
	return strings.Join(s, ", ")
}

// Selector matches labels.
type Selector interface {
	// Matches reports whether the labels satisfy every requirement.
	Matches(Labels) bool
	// Empty reports whether the selector has no requirements (and so matches everything).
	Empty() bool
	// String returns the selector in the syntax Parse reads.
	String() string
	// Add returns a new selector with the requirements added.
	Add(r ...Requirement) Selector
	// Requirements returns the requirements; selectable is false for Nothing().
	Requirements() (requirements Requirements, selectable bool)
	// RequiresExactMatch returns the single value label must have, if the selector pins it.
	RequiresExactMatch(label string) (value string, found bool)
}

// internalSelector is a list of requirements sorted by key, so String is deterministic.
type internalSelector []Requirement

// Everything returns a selector that matches all labels.
func Everything() Selector { return internalSelector{} }

// NewSelector returns an empty selector, to Add requirements to.
func NewSelector() Selector { return internalSelector(nil) }

func (s internalSelector) Empty() bool { return len(s) == 0 }

func (s internalSelector) Matches(l Labels) bool {
	for i := range s {
		if !s[i].Matches(l) {
			return false
		}
	}
	return true
}

func (s internalSelector) Add(reqs ...Requirement) Selector {
	out := append(slices.Clone(s), reqs...)
	sortByKey(out)
	return out
}

func (s internalSelector) Requirements() (Requirements, bool) { return Requirements(s), true }

func (s internalSelector) String() string {
	terms := make([]string, len(s))
	for i := range s {
		terms[i] = s[i].String()
	}
	return strings.Join(terms, ",")
}

func (s internalSelector) RequiresExactMatch(label string) (string, bool) {
	for i := range s {
		if s[i].key != label {
			continue
		}
		switch s[i].operator {
		case Equals, DoubleEquals, In:
			if len(s[i].values) == 1 {
				return s[i].values[0], true
			}
		}
		return "", false
	}
	return "", false
}

func sortByKey(reqs []Requirement) {
	slices.SortStableFunc(reqs, func(a, b Requirement) int { return cmp.Compare(a.key, b.key) })
}

// nothingSelector is what a nil *meta.LabelSelector means: it matches nothing.
type nothingSelector struct{}

// Nothing returns a selector that matches no labels.
func Nothing() Selector { return nothingSelector{} }

func (nothingSelector) Matches(Labels) bool                      { return false }
func (nothingSelector) Empty() bool                              { return false }
func (nothingSelector) String() string                           { return "" }
func (n nothingSelector) Add(...Requirement) Selector            { return n }
func (nothingSelector) Requirements() (Requirements, bool)       { return nil, false }
func (nothingSelector) RequiresExactMatch(string) (string, bool) { return "", false }

// SelectorFromSet returns a selector requiring every label of ls, without validating
// them (as Kubernetes). An empty set selects everything.
func SelectorFromSet(ls Set) Selector {
	reqs := make(internalSelector, 0, len(ls))
	for k, v := range ls {
		reqs = append(reqs, Requirement{key: k, operator: Equals, values: []string{v}})
	}
	sortByKey(reqs)
	return reqs
}

// ValidatedSelectorFromSet is SelectorFromSet, rejecting invalid keys and values.
func ValidatedSelectorFromSet(ls Set) (Selector, error) {
	reqs := make(internalSelector, 0, len(ls))
	for _, k := range slices.Sorted(maps.Keys(ls)) { // sorted: the first error is deterministic
		r, err := NewRequirement(k, Equals, []string{ls[k]})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, *r)
	}
	sortByKey(reqs)
	return reqs, nil
}

// SelectorFromLabelSelector converts a spec's label selector, as Kubernetes'
// metav1.LabelSelectorAsSelector: nil selects nothing, an empty one everything.
func SelectorFromLabelSelector(ps *meta.LabelSelector) (Selector, error) {
	if ps == nil {
		return Nothing(), nil
	}
	if len(ps.MatchLabels)+len(ps.MatchExpressions) == 0 {
		return Everything(), nil
	}
	reqs := make([]Requirement, 0, len(ps.MatchLabels)+len(ps.MatchExpressions))
	for _, k := range slices.Sorted(maps.Keys(ps.MatchLabels)) {
		r, err := NewRequirement(k, Equals, []string{ps.MatchLabels[k]})
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, *r)
	}
	for _, expr := range ps.MatchExpressions {
		op, ok := labelSelectorOps[expr.Operator]
		if !ok {
			return nil, fmt.Errorf("%q is not a valid label selector operator", expr.Operator)
		}
		r, err := NewRequirement(expr.Key, op, slices.Clone(expr.Values))
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, *r)
	}
	return NewSelector().Add(reqs...), nil
}

var labelSelectorOps = map[string]Operator{
	meta.LabelSelectorOpIn:           In,
	meta.LabelSelectorOpNotIn:        NotIn,
	meta.LabelSelectorOpExists:       Exists,
	meta.LabelSelectorOpDoesNotExist: DoesNotExist,
}

// FormatLabelSelector prints a spec's selector as kubectl shows it ("app=web,tier in (a,b)"),
// "<none>" when it is empty or nil and "<error>" when it is invalid.
func FormatLabelSelector(ps *meta.LabelSelector) string {
	sel, err := SelectorFromLabelSelector(ps)
	if err != nil {
		return "<error>"
	}
	if s := sel.String(); s != "" {
		return s
	}
	return "<none>"
}

// ParseToLabelSelector parses selector syntax into a spec's selector, the reverse of
// FormatLabelSelector (as Kubernetes' metav1.ParseToLabelSelector).
func ParseToLabelSelector(selector string) (*meta.LabelSelector, error) {
	reqs, err := parse(selector)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse the selector string \"%s\": %v", selector, err)
	}
	ls := &meta.LabelSelector{MatchLabels: map[string]string{}, MatchExpressions: []meta.LabelSelectorRequirement{}}
	for _, r := range reqs {
		var op string
		switch r.operator {
		case Equals, DoubleEquals:
			ls.MatchLabels[r.key] = r.values[0]
			continue
		case In:
			op = meta.LabelSelectorOpIn
		case NotIn:
			op = meta.LabelSelectorOpNotIn
		case Exists:
			op = meta.LabelSelectorOpExists
		case DoesNotExist:
			op = meta.LabelSelectorOpDoesNotExist
		case GreaterThan, LessThan:
			return nil, fmt.Errorf("%q isn't supported in label selectors", r.operator)
		default:
			return nil, fmt.Errorf("%q is not a valid label selector operator", r.operator)
		}
		ls.MatchExpressions = append(ls.MatchExpressions, meta.LabelSelectorRequirement{Key: r.key, Operator: op, Values: r.Values()})
	}
	return ls, nil
}
