package join

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/client"
)

// ErrTokenRefused is returned when the API server does not accept the bootstrap token.
var ErrTokenRefused = errors.New("the API server refused the bootstrap token")

// CheckToken asks the API server at server (verified with caPEM) whether it accepts token,
// before anything is started with it: a wrong, expired or deleted token then stops the join
// with a message saying so, instead of a node agent failing its certificate request over
// and over. Any authenticated user may read /version's neighbour /api; a bad token is a 401
// wherever it is sent.
func CheckToken(ctx context.Context, server string, caPEM []byte, token string) error {
	if !validTokenFormat(token) {
		return fmt.Errorf("%w: %q is not a bootstrap token (want ID.SECRET: 6 and 16 characters of [a-z0-9])", ErrTokenRefused, token)
	}
	cfg := &client.Config{Host: ServerURL(server), BearerToken: token, TLS: client.TLSConfig{CAData: caPEM}}
	hc, err := cfg.HTTPClient()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ServerURL(server)+"/api", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("check the bootstrap token with %s: %w", server, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w (401 Unauthorized): it is wrong, expired or deleted; make a new one on the control plane with `skiff token create --print-join-command`", ErrTokenRefused)
	}
	return nil
}

// validTokenFormat: ID.SECRET, [a-z0-9]{6}.[a-z0-9]{16}, as kubeadm's tokens.
func validTokenFormat(t string) bool {
	id, secret, ok := strings.Cut(t, ".")
	return ok && len(id) == 6 && len(secret) == 16 && strings.Trim(id+secret, tokenLetter) == ""
}
