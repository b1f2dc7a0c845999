// Package validation checks API objects the way the Kubernetes API server does, with the
// same field paths, error types and messages, so that kubectl users and client tests see
// exactly the errors they would see against Kubernetes. Validate and ValidateUpdate are the
// entry points; the Is* functions below are the syntax rules everything else is built from
// and return plain messages (a nil slice means valid).
package validation

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/validation/field"
)

// Maximum lengths of the DNS-style names.
const (
	DNS1123LabelMaxLength     = 63
	DNS1123SubdomainMaxLength = 253
	DNS1035LabelMaxLength     = 63
)

const (
	dns1123LabelFmt     = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
	dns1123SubdomainFmt = dns1123LabelFmt + "(\\." + dns1123LabelFmt + ")*"
	dns1035LabelFmt     = "[a-z]([-a-z0-9]*[a-z0-9])?"
	cIdentifierFmt      = "[A-Za-z_][A-Za-z0-9_]*"
	envVarNameFmt       = "[-._a-zA-Z][-._a-zA-Z0-9]*"
	configMapKeyFmt     = "[-._a-zA-Z0-9]+"
	percentFmt          = "[0-9]+%"
)

var (
	dns1123LabelRegexp     = regexp.MustCompile("^" + dns1123LabelFmt + "$")
	dns1123SubdomainRegexp = regexp.MustCompile("^" + dns1123SubdomainFmt + "$")
	dns1035LabelRegexp     = regexp.MustCompile("^" + dns1035LabelFmt + "$")
	cIdentifierRegexp      = regexp.MustCompile("^" + cIdentifierFmt + "$")
	envVarNameRegexp       = regexp.MustCompile("^" + envVarNameFmt + "$")
	configMapKeyRegexp     = regexp.MustCompile("^" + configMapKeyFmt + "$")
	percentRegexp          = regexp.MustCompile("^" + percentFmt + "$")
	portNameCharsetRegexp  = regexp.MustCompile("^[-a-z0-9]+$")
	portNameLetterRegexp   = regexp.MustCompile("[a-z]")
)

// IsDNS1123Label checks an RFC 1123 label: namespace, container and volume names, hostnames.
func IsDNS1123Label(value string) []string {
	var errs []string
	if len(value) > DNS1123LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1123LabelMaxLength))
	}
	if !dns1123LabelRegexp.MatchString(value) {
		if dns1123SubdomainRegexp.MatchString(value) {
			// A valid subdomain that is not a valid label can only have failed on its dots.
			errs = append(errs, "must not contain dots")
		} else {
			errs = append(errs, RegexError("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", dns1123LabelFmt, "my-name", "123-abc"))
		}
	}
	return errs
}

// IsDNS1123Subdomain checks an RFC 1123 subdomain: the names of most kinds.
func IsDNS1123Subdomain(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !dns1123SubdomainRegexp.MatchString(value) {
		errs = append(errs, RegexError("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character", dns1123SubdomainFmt, "example.com"))
	}
	return errs
}

// IsDNS1035Label checks an RFC 1035 label, which must start with a letter: Service names,
// because they become DNS names and environment variable prefixes.
func IsDNS1035Label(value string) []string {
	var errs []string
	if len(value) > DNS1035LabelMaxLength {
		errs = append(errs, MaxLenError(DNS1035LabelMaxLength))
	}
	if !dns1035LabelRegexp.MatchString(value) {
		errs = append(errs, RegexError("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character", dns1035LabelFmt, "my-name", "abc-123"))
	}
	return errs
}

// IsQualifiedName checks a "qualified name": an optional DNS subdomain prefix and '/', then
// a name of up to 63 characters. Label keys, annotation keys and finalizers use it. The rule
// lives in api/labels, which selectors share; this is the same check under its Kubernetes name.
func IsQualifiedName(value string) []string { return labels.ValidateKey(value) }

// IsValidLabelValue checks a label value: empty, or up to 63 alphanumerics, '-', '_', '.'.
func IsValidLabelValue(value string) []string { return labels.ValidateValue(value) }

// IsCIdentifier checks a C identifier (the strict form of an environment variable name).
func IsCIdentifier(value string) []string {
	if !cIdentifierRegexp.MatchString(value) {
		return []string{RegexError("a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'", cIdentifierFmt, "my_name", "MY_NAME", "MyName")}
	}
	return nil
}

// IsEnvVarName checks the classic environment variable name rule (letters, digits, '_',
// '-', '.', not starting with a digit, and not '.', '..' or '..'-prefixed).
func IsEnvVarName(value string) []string {
	var errs []string
	if !envVarNameRegexp.MatchString(value) {
		errs = append(errs, RegexError("a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit", envVarNameFmt, "my.env-name", "MY_ENV.NAME", "MyEnvName1"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

// IsRelaxedEnvVarName is the rule Kubernetes applies to container env names since the
// RelaxedEnvironmentVariableValidation feature became the default: any printable ASCII
// except '='. Pods are validated with it so that manifests Kubernetes accepts are accepted.
func IsRelaxedEnvVarName(value string) []string {
	var errs []string
	if value == "" {
		errs = append(errs, "environment variable name "+EmptyError())
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' || c > '~' || c == '=' {
			errs = append(errs, "a valid environment variable name must consist only of printable ASCII characters other than '='")
			break
		}
	}
	return errs
}

// IsConfigMapKey checks a key of ConfigMap/Secret data: it becomes a file name when the
// object is mounted, hence the ban on '.' and '..'.
func IsConfigMapKey(value string) []string {
	var errs []string
	if len(value) > DNS1123SubdomainMaxLength {
		errs = append(errs, MaxLenError(DNS1123SubdomainMaxLength))
	}
	if !configMapKeyRegexp.MatchString(value) {
		errs = append(errs, RegexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", configMapKeyFmt, "key.name", "KEY_NAME", "key-name"))
	}
	return append(errs, hasChDirPrefix(value)...)
}

func hasChDirPrefix(value string) []string {
	switch {
	case value == ".":
		return []string{`must not be '.'`}
	case value == "..":
		return []string{`must not be '..'`}
	case strings.HasPrefix(value, ".."):
		return []string{`must not start with '..'`}
	}
	return nil
}

// IsValidPortNum checks a port number: 1 to 65535.
func IsValidPortNum(port int) []string {
	return IsInRange(port, 1, 65535)
}

// IsInRange checks lo <= value <= hi.
func IsInRange(value, lo, hi int) []string {
	if value >= lo && value <= hi {
		return nil
	}
	return []string{InclusiveRangeError(lo, hi)}
}

// IsValidPortName checks an IANA_SVC_NAME (RFC 6335): up to 15 lowercase alphanumerics and
// hyphens, at least one letter, no leading, trailing or doubled hyphen.
func IsValidPortName(port string) []string {
	var errs []string
	if len(port) > 15 {
		errs = append(errs, MaxLenError(15))
	}
	if !portNameCharsetRegexp.MatchString(port) {
		errs = append(errs, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
	}
	if !portNameLetterRegexp.MatchString(port) {
		errs = append(errs, "must contain at least one letter (a-z)")
	}
	if strings.Contains(port, "--") {
		errs = append(errs, "must not contain consecutive hyphens")
	}
	if port != "" && (port[0] == '-' || port[len(port)-1] == '-') {
		errs = append(errs, "must not begin or end with a hyphen")
	}
	return errs
}

// IsValidPercent checks a percentage string such as "25%".
func IsValidPercent(percent string) []string {
	if !percentRegexp.MatchString(percent) {
		return []string{RegexError("a valid percent string must be a numeric string followed by an ending '%'", percentFmt, "1%", "93%")}
	}
	return nil
}

// IsValidIP checks an IPv4 or IPv6 address. Like Kubernetes it accepts IPv4 octets with
// leading zeros, which Go's parser rejects, because older objects contain them.
func IsValidIP(path *field.Path, value string) field.ErrorList {
	if parseIPSloppy(value) == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")}
	}
	return nil
}

// IsValidIPv4Address checks an IPv4 address.
func IsValidIPv4Address(path *field.Path, value string) field.ErrorList {
	if ip := parseIPSloppy(value); ip == nil || ip.To4() == nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IPv4 address")}
	}
	return nil
}

// IsValidIPv6Address checks an IPv6 address.
func IsValidIPv6Address(path *field.Path, value string) field.ErrorList {
	if ip := parseIPSloppy(value); ip == nil || ip.To4() != nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid IPv6 address")}
	}
	return nil
}

// IsValidCIDR checks a CIDR such as "10.244.0.0/24" or "2001:db8::/64".
func IsValidCIDR(path *field.Path, value string) field.ErrorList {
	if _, err := parseCIDRSloppy(value); err != nil {
		return field.ErrorList{field.Invalid(path, value, "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)")}
	}
	return nil
}

// parseIPSloppy parses an IP, tolerating leading zeros in IPv4 octets ("010.0.0.1").
func parseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	if trimmed, ok := trimIPv4Zeros(s); ok {
		return net.ParseIP(trimmed)
	}
	return nil
}

func parseCIDRSloppy(s string) (*net.IPNet, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if trimmed, isV4 := trimIPv4Zeros(addr); ok && isV4 {
		s = trimmed + "/" + bits
	}
	_, n, err := net.ParseCIDR(s)
	return n, err
}

// trimIPv4Zeros rewrites a dotted quad without leading zeros; ok is false if s is not one.
func trimIPv4Zeros(s string) (string, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return "", false
	}
	for i, p := range parts {
		if p == "" || len(p) > 3 {
			return "", false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 || p[0] == '+' || p[0] == '-' {
			return "", false
		}
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "."), true
}

// MaxLenError is the message for a string longer than length characters.
func MaxLenError(length int) string {
	return fmt.Sprintf("must be no more than %d characters", length)
}

// RegexError is the message for a string that fails a pattern, with examples of good ones.
func RegexError(msg, format string, examples ...string) string {
	if len(examples) == 0 {
		return msg + " (regex used for validation is '" + format + "')"
	}
	msg += " (e.g. "
	for i, ex := range examples {
		if i > 0 {
			msg += " or "
		}
		msg += "'" + ex + "', "
	}
	return msg + "regex used for validation is '" + format + "')"
}

// EmptyError is the message for an empty string that must not be.
func EmptyError() string { return "must be non-empty" }

// InclusiveRangeError is the message for a number outside [lo, hi].
func InclusiveRangeError(lo, hi int) string {
	return fmt.Sprintf("must be between %d and %d, inclusive", lo, hi)
}

// NameFunc validates an object name of one kind. prefix is true when the value is a
// generateName, to which random characters will be appended (so a trailing '-' is fine).
type NameFunc func(name string, prefix bool) []string

// NameIsDNSSubdomain is the name rule of most kinds.
func NameIsDNSSubdomain(name string, prefix bool) []string {
	return IsDNS1123Subdomain(maskTrailingDash(name, prefix))
}

// NameIsDNSLabel is the name rule of Namespaces (and other names that become one DNS label).
func NameIsDNSLabel(name string, prefix bool) []string {
	return IsDNS1123Label(maskTrailingDash(name, prefix))
}

// NameIsDNS1035Label is the name rule of Services.
func NameIsDNS1035Label(name string, prefix bool) []string {
	return IsDNS1035Label(maskTrailingDash(name, prefix))
}

// maskTrailingDash lets a generateName end in '-' by checking it as if a character followed.
func maskTrailingDash(name string, prefix bool) string {
	if prefix && strings.HasSuffix(name, "-") {
		return name[:len(name)-1] + "a"
	}
	return name
}
