package validation

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/validation/field"
)

func TestNameRules(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		rule  string
		fn    func(string) []string
		value string
		valid bool
	}{
		{"label", IsDNS1123Label, "my-name", true},
		{"label", IsDNS1123Label, "123-abc", true},
		{"label", IsDNS1123Label, "My-Name", false},
		{"label", IsDNS1123Label, "a.b", false},
		{"label", IsDNS1123Label, "-a", false},
		{"label", IsDNS1123Label, long, false},
		{"subdomain", IsDNS1123Subdomain, "example.com", true},
		{"subdomain", IsDNS1123Subdomain, "Example.com", false},
		{"subdomain", IsDNS1123Subdomain, "a..b", false},
		{"subdomain", IsDNS1123Subdomain, strings.Repeat("a.", 127), false},
		{"1035", IsDNS1035Label, "abc-123", true},
		{"1035", IsDNS1035Label, "1abc", false},
		{"qualified", IsQualifiedName, "app", true},
		{"qualified", IsQualifiedName, "example.com/My_Name.1", true},
		{"qualified", IsQualifiedName, "/name", false},
		{"qualified", IsQualifiedName, "a/b/c", false},
		{"qualified", IsQualifiedName, "Example.com/name", false},
		{"qualified", IsQualifiedName, "example.com/", false},
		{"qualified", IsQualifiedName, "-name", false},
		{"qualified", IsQualifiedName, long, false},
		{"label value", IsValidLabelValue, "", true},
		{"label value", IsValidLabelValue, "My_value.1", true},
		{"label value", IsValidLabelValue, "bad value", false},
		{"label value", IsValidLabelValue, long, false},
		{"port name", IsValidPortName, "http", true},
		{"port name", IsValidPortName, "http-2", true},
		{"port name", IsValidPortName, "8080", false},
		{"port name", IsValidPortName, "a--b", false},
		{"port name", IsValidPortName, "-http", false},
		{"port name", IsValidPortName, "HTTP", false},
		{"port name", IsValidPortName, "abcdefghijklmnop", false},
		{"percent", IsValidPercent, "25%", true},
		{"percent", IsValidPercent, "25", false},
		{"percent", IsValidPercent, "-1%", false},
		{"env", IsEnvVarName, "MY_ENV.NAME-1", true},
		{"env", IsEnvVarName, "1ABC", false},
		{"env", IsEnvVarName, "..", false},
		{"relaxed env", IsRelaxedEnvVarName, "1 odd:name", true},
		{"relaxed env", IsRelaxedEnvVarName, "A=B", false},
		{"relaxed env", IsRelaxedEnvVarName, "", false},
		{"c identifier", IsCIdentifier, "_my_name1", true},
		{"c identifier", IsCIdentifier, "my-name", false},
		{"config key", IsConfigMapKey, "key.name_1-x", true},
		{"config key", IsConfigMapKey, "a/b", false},
		{"config key", IsConfigMapKey, "..data", false},
		{"config key", IsConfigMapKey, ".", false},
	}
	for _, tt := range tests {
		if got := len(tt.fn(tt.value)) == 0; got != tt.valid {
			t.Errorf("%s %q: valid=%v, want %v (%v)", tt.rule, tt.value, got, tt.valid, tt.fn(tt.value))
		}
	}
}

// The messages are Kubernetes' own, word for word.
func TestNameRuleMessages(t *testing.T) {
	tests := []struct {
		got  []string
		want []string
	}{
		{IsDNS1123Subdomain("Foo"), []string{`a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`}},
		{IsDNS1123Label("a.b"), []string{"must not contain dots"}},
		{IsDNS1123Label("A"), []string{`a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`}},
		{IsDNS1035Label("1a"), []string{`a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`}},
		{IsValidPortNum(0), []string{"must be between 1 and 65535, inclusive"}},
		{IsQualifiedName("/x"), []string{"prefix part must be non-empty"}},
		{IsValidPortName("1"), []string{"must contain at least one letter (a-z)"}},
	}
	for _, tt := range tests {
		if strings.Join(tt.got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}

func TestIPAndCIDR(t *testing.T) {
	p := field.NewPath("x")
	tests := []struct {
		fn    func(*field.Path, string) field.ErrorList
		value string
		valid bool
	}{
		{IsValidIP, "10.0.0.1", true},
		{IsValidIP, "2001:db8::1", true},
		{IsValidIP, "010.000.000.001", true}, // leading zeros tolerated, as in Kubernetes
		{IsValidIP, "10.0.0", false},
		{IsValidIP, "256.0.0.1", false},
		{IsValidIP, "", false},
		{IsValidIPv4Address, "10.0.0.1", true},
		{IsValidIPv4Address, "::1", false},
		{IsValidIPv6Address, "::1", true},
		{IsValidIPv6Address, "10.0.0.1", false},
		{IsValidCIDR, "10.244.0.0/24", true},
		{IsValidCIDR, "2001:db8::/64", true},
		{IsValidCIDR, "010.244.0.0/24", true},
		{IsValidCIDR, "10.244.0.0", false},
		{IsValidCIDR, "10.244.0.0/33", false},
	}
	for _, tt := range tests {
		if got := len(tt.fn(p, tt.value)) == 0; got != tt.valid {
			t.Errorf("%q: valid=%v, want %v", tt.value, got, tt.valid)
		}
	}
	if got := IsValidIP(p, "nope").ToAggregate().Error(); got != `x: Invalid value: "nope": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)` {
		t.Errorf("got %s", got)
	}
}
