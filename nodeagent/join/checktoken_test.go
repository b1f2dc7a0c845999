package join

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/test/harness"
)

func TestCheckToken(t *testing.T) {
	s := harness.StartServer(t, harness.ServerOptions{})
	ctx := context.Background()
	server := strings.TrimPrefix(s.URL, "https://")
	good, err := CreateToken(ctx, s.Client(t), time.Hour, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckToken(ctx, server, s.PKI.CA.CertPEM, good); err != nil {
		t.Fatalf("a token just made: %v", err)
	}
	for _, bad := range []string{"abcdef.0123456789abcdef", "nonsense", strings.ToUpper(good)} {
		err := CheckToken(ctx, server, s.PKI.CA.CertPEM, bad)
		if !errors.Is(err, ErrTokenRefused) || !strings.Contains(err.Error(), "skiff token create") && !strings.Contains(err.Error(), "ID.SECRET") {
			t.Errorf("token %q: %v, want ErrTokenRefused saying what to do", bad, err)
		}
	}
}
