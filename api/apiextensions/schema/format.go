package schema

import (
	"encoding/base64"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The string formats Kubernetes checks in CRD schemas (apiextensions' supported formats);
// any other format, and the numeric ones, are documentation only.
var (
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$`)
	uuidRE     = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)
	uuid3RE    = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$`)
	uuid4RE    = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$`)
	uuid5RE    = regexp.MustCompile(`^(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$`)
	durationRE = regexp.MustCompile(`^((\d+)\s*(ns|us|µs|ms|s|m|h|d|w)\s*)+$`)
)

// KnownFormats are the formats checkFormat judges.
var KnownFormats = []string{"bsonobjectid", "uri", "email", "hostname", "ipv4", "ipv6", "cidr", "mac",
	"uuid", "uuid3", "uuid4", "uuid5", "date", "date-time", "duration", "byte", "password",
	"int32", "int64", "float", "double", "datetime"}

// checkFormat reports whether s is a valid string of the format.
func checkFormat(format, s string) bool {
	switch format {
	case "uri":
		u, err := url.Parse(s)
		return err == nil && u.Scheme != ""
	case "email":
		_, err := mail.ParseAddress(s)
		return err == nil
	case "hostname":
		return len(s) <= 255 && hostnameRE.MatchString(s)
	case "ipv4":
		ip := net.ParseIP(s)
		return ip != nil && ip.To4() != nil && strings.Contains(s, ".")
	case "ipv6":
		ip := net.ParseIP(s)
		return ip != nil && strings.Contains(s, ":")
	case "cidr":
		_, _, err := net.ParseCIDR(s)
		return err == nil
	case "mac":
		_, err := net.ParseMAC(s)
		return err == nil
	case "uuid":
		return uuidRE.MatchString(s)
	case "uuid3":
		return uuid3RE.MatchString(s)
	case "uuid4":
		return uuid4RE.MatchString(s)
	case "uuid5":
		return uuid5RE.MatchString(s)
	case "date":
		_, err := time.Parse("2006-01-02", s)
		return err == nil
	case "date-time", "datetime":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "duration":
		return durationRE.MatchString(s)
	case "byte":
		_, err := base64.StdEncoding.DecodeString(s)
		return err == nil
	case "bsonobjectid":
		return len(s) == 24 && regexp.MustCompile(`^[0-9a-fA-F]+$`).MatchString(s)
	}
	return true
}
