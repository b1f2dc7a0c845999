package labels

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The formats and messages below are Kubernetes' (k8s.io/apimachinery/pkg/util/validation),
// word for word, so that clients see the errors a real API server would give.

const (
	qualifiedNameFmt    = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
	qualifiedNameErrMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	labelValueFmt       = "(" + qualifiedNameFmt + ")?"
	labelValueErrMsg    = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
	dns1123LabelFmt     = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"

	// MaxKeyNameLength and MaxValueLength bound a key's name part and a value.
	MaxKeyNameLength = 63
	MaxValueLength   = 63
	maxSubdomainLen  = 253
)

var (
	qualifiedNameRegexp    = regexp.MustCompile("^" + qualifiedNameFmt + "$")
	labelValueRegexp       = regexp.MustCompile("^" + labelValueFmt + "$")
	dns1123SubdomainRegexp = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")
)

// ValidateKey checks a label key (a qualified name: an optional DNS subdomain prefix and
// "/", then a name) and returns Kubernetes' messages for what is wrong, or nil.
func ValidateKey(key string) []string {
	var errs []string
	name := key
	switch parts := strings.Split(key, "/"); len(parts) {
	case 1:
	case 2:
		var prefix string
		prefix, name = parts[0], parts[1]
		if prefix == "" {
			errs = append(errs, "prefix part must be non-empty")
		} else {
			for _, msg := range validateSubdomain(prefix) {
				errs = append(errs, "prefix part "+msg)
			}
		}
	default:
		return []string{"a qualified name " + regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc") +
			" with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"}
	}
	if name == "" {
		errs = append(errs, "name part must be non-empty")
	} else if len(name) > MaxKeyNameLength {
		errs = append(errs, "name part "+maxLenError(MaxKeyNameLength))
	}
	if !qualifiedNameRegexp.MatchString(name) {
		errs = append(errs, "name part "+regexError(qualifiedNameErrMsg, qualifiedNameFmt, "MyName", "my.name", "123-abc"))
	}
	return errs
}

// ValidateValue checks a label value (empty, or up to 63 alphanumerics, '-', '_', '.'
// starting and ending alphanumeric) and returns Kubernetes' messages, or nil.
func ValidateValue(value string) []string {
	var errs []string
	if len(value) > MaxValueLength {
		errs = append(errs, maxLenError(MaxValueLength))
	}
	if !labelValueRegexp.MatchString(value) {
		errs = append(errs, regexError(labelValueErrMsg, labelValueFmt, "MyValue", "my_value", "12345"))
	}
	return errs
}

func validateSubdomain(value string) []string {
	var errs []string
	if len(value) > maxSubdomainLen {
		errs = append(errs, maxLenError(maxSubdomainLen))
	}
	if !dns1123SubdomainRegexp.MatchString(value) {
		errs = append(errs, regexError(dns1123SubdomainMsg, dns1123SubdomainFmt, "example.com"))
	}
	return errs
}

func maxLenError(n int) string { return fmt.Sprintf("must be no more than %d characters", n) }

// regexError reproduces Kubernetes' wording, including its doubled space before "or".
func regexError(msg, format string, examples ...string) string {
	msg += " (e.g. "
	for i, e := range examples {
		if i > 0 {
			msg += " or "
		}
		msg += "'" + e + "', "
	}
	return msg + "regex used for validation is '" + format + "')"
}

// invalid formats an error as Kubernetes' field.Invalid does: path, quoted value, detail.
func invalid(path string, value any, detail string) error {
	var v string
	switch value := value.(type) {
	case string:
		v = strconv.Quote(value)
	default:
		v = fmt.Sprintf("%#v", value)
	}
	return fmt.Errorf("%s: Invalid value: %s: %s", path, v, detail)
}

// aggregate is a list of errors printed as Kubernetes' utilerrors.Aggregate prints:
// one error alone, several as "[a, b]" without repeats.
type aggregate []error

func newAggregate(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return aggregate(errs)
}

func (a aggregate) Error() string {
	if len(a) == 1 {
		return a[0].Error()
	}
	var msgs []string
	seen := map[string]bool{}
	for _, err := range a {
		if msg := err.Error(); !seen[msg] {
			seen[msg] = true
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

func (a aggregate) Unwrap() []error { return a }
