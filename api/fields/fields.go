// Package fields is Kubernetes' field selectors (?fieldSelector=, kubectl --field-selector):
// "spec.nodeName=n1,status.phase!=Running". Each kind supports a few fields; the API
// server rejects the others with ValidateFields and narrows watches with RequiresExactMatch.
package fields

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Fields is what a selector matches against: an object's selectable fields.
type Fields interface {
	Has(field string) (exists bool)
	Get(field string) (value string)
}

// Set is a map of field values; it implements Fields.
type Set map[string]string

// String returns "f1=v1,f2=v2" sorted.
func (s Set) String() string {
	pairs := make([]string, 0, len(s))
	for k, v := range s {
		pairs = append(pairs, k+"="+v)
	}
	slices.Sort(pairs)
	return strings.Join(pairs, ",")
}

// Has reports whether the field exists.
func (s Set) Has(field string) bool {
	_, ok := s[field]
	return ok
}

// Get returns the field's value, or "".
func (s Set) Get(field string) string { return s[field] }

// AsSelector returns a selector requiring exactly these values.
func (s Set) AsSelector() Selector { return SelectorFromSet(s) }

// Operator compares a field with a value; the values are Kubernetes' selection.Operator
// (and labels.Equals / labels.NotEquals).
type Operator string

const (
	Equals    Operator = "="
	NotEquals Operator = "!="
)

// Requirement is one term: Field Operator Value. "==" is reported as Equals.
type Requirement struct {
	Field    string
	Operator Operator
	Value    string
}

// Requirements is a list of requirements, all of which must match.
type Requirements []Requirement

func (r Requirement) matches(f Fields) bool {
	if r.Operator == NotEquals {
		return f.Get(r.Field) != r.Value
	}
	return f.Get(r.Field) == r.Value
}

func (r Requirement) String() string {
	return r.Field + string(r.Operator) + EscapeValue(r.Value)
}

// Selector matches fields.
type Selector interface {
	// Matches reports whether the fields satisfy every requirement. A missing field
	// has the value "".
	Matches(Fields) bool
	// Empty reports whether the selector has no requirements (and so matches everything).
	Empty() bool
	// RequiresExactMatch returns the value field must equal, if the selector pins it.
	RequiresExactMatch(field string) (value string, found bool)
	// Requirements lists the terms, so callers can check which fields are used.
	Requirements() Requirements
	// String returns the selector in the syntax Parse reads.
	String() string
}

// andTerm is a conjunction of requirements.
type andTerm []Requirement

// Everything returns a selector that matches all fields.
func Everything() Selector { return andTerm{} }

func (t andTerm) Matches(f Fields) bool {
	for _, r := range t {
		if !r.matches(f) {
			return false
		}
	}
	return true
}

func (t andTerm) Empty() bool { return len(t) == 0 }

func (t andTerm) RequiresExactMatch(field string) (string, bool) {
	for _, r := range t {
		if r.Field == field && r.Operator == Equals {
			return r.Value, true
		}
	}
	return "", false
}

func (t andTerm) Requirements() Requirements { return slices.Clone(Requirements(t)) }

func (t andTerm) String() string {
	terms := make([]string, len(t))
	for i, r := range t {
		terms[i] = r.String()
	}
	return strings.Join(terms, ",")
}

type nothingSelector struct{}

// Nothing returns a selector that matches no fields.
func Nothing() Selector { return nothingSelector{} }

func (nothingSelector) Matches(Fields) bool                      { return false }
func (nothingSelector) Empty() bool                              { return false }
func (nothingSelector) RequiresExactMatch(string) (string, bool) { return "", false }
func (nothingSelector) Requirements() Requirements               { return nil }
func (nothingSelector) String() string                           { return "" }

// OneTermEqualSelector returns the selector field=value.
func OneTermEqualSelector(field, value string) Selector {
	return andTerm{{Field: field, Operator: Equals, Value: value}}
}

// OneTermNotEqualSelector returns the selector field!=value.
func OneTermNotEqualSelector(field, value string) Selector {
	return andTerm{{Field: field, Operator: NotEquals, Value: value}}
}

// AndSelectors returns a selector matching what all of the selectors match.
func AndSelectors(selectors ...Selector) Selector {
	var all andTerm
	for _, s := range selectors {
		if _, ok := s.(nothingSelector); ok {
			return Nothing()
		}
		all = append(all, s.Requirements()...)
	}
	return all
}

// SelectorFromSet returns a selector requiring every field of s; nil selects everything.
func SelectorFromSet(s Set) Selector {
	t := make(andTerm, 0, len(s))
	for _, k := range slices.Sorted(maps.Keys(s)) {
		t = append(t, Requirement{Field: k, Operator: Equals, Value: s[k]})
	}
	return t
}

// ValidateFields returns the API server's error for the first field the selector uses
// that supported does not accept, or nil.
func ValidateFields(sel Selector, supported func(field string) bool) error {
	for _, r := range sel.Requirements() {
		if !supported(r.Field) {
			return fmt.Errorf("field label not supported: %s", r.Field)
		}
	}
	return nil
}

// Parse reads a field selector: terms "field=value", "field==value" or "field!=value"
// joined by commas. In values, "\", "," and "=" are escaped with a backslash. Whitespace
// is not trimmed, and terms are sorted as they print (Kubernetes sorts them as written, so
// "==" and "=" terms could print in another order than they reparse; the printed form is
// canonical here).
func Parse(selector string) (Selector, error) {
	parts := splitTerms(selector)
	t := andTerm{}
	for _, part := range parts {
		if part == "" {
			continue
		}
		field, op, value, ok := splitTerm(part)
		if !ok {
			return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", selector, part)
		}
		value, err := UnescapeValue(value)
		if err != nil {
			return nil, err
		}
		if field == "" && value == "" {
			continue // Kubernetes drops such a term ("=", "!=") rather than reject it
		}
		t = append(t, Requirement{Field: field, Operator: op, Value: value})
	}
	slices.SortFunc(t, func(a, b Requirement) int { return strings.Compare(a.String(), b.String()) })
	return t, nil
}

// ParseSelectorOrDie is Parse for constants; it panics on error.
func ParseSelectorOrDie(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return sel
}

// splitTerms splits on commas that are not escaped.
func splitTerms(s string) []string {
	if s == "" {
		return nil
	}
	var terms []string
	start, escaped := 0, false
	for i, c := range s {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == ',':
			terms = append(terms, s[start:i])
			start = i + 1
		}
	}
	return append(terms, s[start:])
}

// splitTerm splits at the first operator; "!=" and "==" are tried before "=".
func splitTerm(term string) (field string, op Operator, value string, ok bool) {
	for i := range term {
		rest := term[i:]
		switch {
		case strings.HasPrefix(rest, "!="):
			return term[:i], NotEquals, rest[2:], true
		case strings.HasPrefix(rest, "=="):
			return term[:i], Equals, rest[2:], true
		case strings.HasPrefix(rest, "="):
			return term[:i], Equals, rest[1:], true
		}
	}
	return "", "", "", false
}

var valueEscaper = strings.NewReplacer(`\`, `\\`, `,`, `\,`, `=`, `\=`)

// EscapeValue escapes "\", "," and "=" so a value survives Parse.
func EscapeValue(s string) string { return valueEscaper.Replace(s) }

// UnescapeValue undoes EscapeValue, rejecting bad escapes and bare "," or "=" with
// Kubernetes' messages.
func UnescapeValue(s string) (string, error) {
	if !strings.ContainsAny(s, `\,=`) {
		return s, nil
	}
	var b strings.Builder
	escaped := false
	for _, c := range s {
		switch {
		case escaped && (c == '\\' || c == ',' || c == '='):
			b.WriteRune(c)
			escaped = false
		case escaped:
			return "", fmt.Errorf("invalid field selector: invalid escape sequence: %s", string([]rune{'\\', c}))
		case c == '\\':
			escaped = true
		case c == ',' || c == '=':
			// %v of a rune prints its number; Kubernetes' message does the same.
			return "", fmt.Errorf("invalid field selector: unescaped character in value: %v", c)
		default:
			b.WriteRune(c)
		}
	}
	if escaped {
		return "", fmt.Errorf("invalid field selector: invalid escape sequence: %s", `\`)
	}
	return b.String(), nil
}
