package authn

import (
	"context"
	"slices"
)

// A token is meant for audiences (the "aud" of a JWT). The API server accepts tokens meant
// for its own audiences (--api-audiences); a TokenReview may ask for others on behalf of
// another server. The audiences asked for travel in the context.

type audiencesKey struct{}

// WithAudiences returns a context asking token authenticators to accept only tokens meant
// for one of auds.
func WithAudiences(ctx context.Context, auds []string) context.Context {
	return context.WithValue(ctx, audiencesKey{}, auds)
}

// AudiencesFrom returns the audiences a context asks for.
func AudiencesFrom(ctx context.Context) ([]string, bool) {
	a, ok := ctx.Value(audiencesKey{}).([]string)
	return a, ok
}

// Intersect returns the members of a that are in b, in a's order.
func Intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// AudienceAgnostic wraps an authenticator of tokens that carry no audience (bootstrap
// tokens, the static token file): they are meant for the API server's implicit audiences,
// so a request asking for other audiences does not recognise them (Kubernetes'
// WrapAudienceAgnosticToken).
func AudienceAgnostic(implicit []string, t TokenAuthenticator) TokenAuthenticator {
	return TokenFunc(func(ctx context.Context, token string) (*User, bool, error) {
		if want, ok := AudiencesFrom(ctx); ok && len(Intersect(implicit, want)) == 0 {
			return nil, false, nil
		}
		return t.AuthenticateToken(ctx, token)
	})
}
