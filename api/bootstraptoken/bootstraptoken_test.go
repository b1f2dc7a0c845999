package bootstraptoken

import (
	"reflect"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in         string
		id, secret string
	}{
		{"abcdef.0123456789abcdef", "abcdef", "0123456789abcdef"},
		{"ABCDEF.0123456789abcdef", "", ""},
		{"abcdef.0123456789abcde", "", ""},
		{"abcdefg.0123456789abcdef", "", ""},
		{"abcdef0123456789abcdef", "", ""},
		{"abcdef.0123456789abcdef.x", "", ""},
		{"", "", ""},
	}
	for _, c := range cases {
		id, secret, ok := Parse(c.in)
		if ok != (c.id != "") || id != c.id || secret != c.secret {
			t.Errorf("Parse(%q) = %q %q %v", c.in, id, secret, ok)
		}
	}
}

func secret(data map[string]string) *core.Secret {
	s := &core.Secret{Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		exp  string
		want bool
	}{
		{"", false},
		{"2026-01-01T13:00:00Z", false},
		{"2026-01-01T11:59:59Z", true},
		{"2026-01-01T12:00:00Z", true},
		{"2026-01-01T13:00:00+02:00", true}, // 11:00 UTC
		{"tomorrow", true},
	}
	for _, c := range cases {
		s := secret(map[string]string{})
		if c.exp != "" {
			s.Data[KeyExpiration] = []byte(c.exp)
		}
		if got := Expired(s, now); got != c.want {
			t.Errorf("Expired(%q) = %v, want %v", c.exp, got, c.want)
		}
	}
}

func TestGroups(t *testing.T) {
	cases := []struct {
		extra   string
		want    []string
		wantErr bool
	}{
		{"", []string{"system:bootstrappers"}, false},
		{"system:bootstrappers:kubeadm:default-node-token", []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}, false},
		{"system:bootstrappers:b, system:bootstrappers:a,system:bootstrappers:b", []string{"system:bootstrappers", "system:bootstrappers:a", "system:bootstrappers:b"}, false},
		{"system:masters", nil, true},
		{"system:bootstrappers:", nil, true},
	}
	for _, c := range cases {
		got, err := Groups(secret(map[string]string{KeyExtraGroups: c.extra}))
		if (err != nil) != c.wantErr || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Groups(%q) = %v, %v; want %v (error %v)", c.extra, got, err, c.want, c.wantErr)
		}
	}
}
