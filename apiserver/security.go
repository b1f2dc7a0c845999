package apiserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// The request filters run in this order around every handler:
//
//	instrument → authenticate → impersonate → authorize → handler
//
// authenticate puts the user in the context (authn.WithUser) or answers 401; authorize asks
// the authorizers with the request's attributes (requestAttributes) and answers 403.

// setUpSecurity builds the authenticator and authorizer from the configuration.
func (s *Server) setUpSecurity() error {
	if s.cfg.Insecure {
		s.authorizer = authz.AlwaysAllow
		return nil
	}
	var reqAuth []authn.Authenticator
	// A front proxy's word first (as kube-apiserver orders them): its certificate is of a CA
	// of its own, which the x509 authenticator below would refuse.
	if s.cfg.RequestHeaderClientCAFile != "" {
		pem, err := os.ReadFile(s.cfg.RequestHeaderClientCAFile)
		if err != nil {
			return fmt.Errorf("--requestheader-client-ca-file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--requestheader-client-ca-file %s: no certificate found", s.cfg.RequestHeaderClientCAFile)
		}
		rh := s.requestHeaderConfig()
		rh.Roots = pool
		reqAuth = append(reqAuth, authn.RequestHeader(rh))
	}
	if s.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("client CA %s: no certificate found", s.cfg.ClientCAFile)
		}
		s.clientCAs = pool
		reqAuth = append(reqAuth, authn.X509(pool))
	}
	if s.cfg.TokenAuthFile != "" {
		tf, err := authn.TokenFile(s.cfg.TokenAuthFile)
		if err != nil {
			return err
		}
		// Static tokens carry no audience: they are for this server's audiences only.
		s.tokenAuthenticators = append(s.tokenAuthenticators, authn.AudienceAgnostic(s.cfg.APIAudiences, tf))
	}
	// Token authenticators added by other parts of the server (ServiceAccount tokens,
	// bootstrap tokens) are read at request time, so they may be added after this.
	reqAuth = append(reqAuth, authn.BearerToken(authn.TokenFunc(s.authenticateToken)))
	s.authenticator = authn.WithAuthenticated(authn.Union(reqAuth...))

	modes := s.cfg.Authorization
	if modes == "" {
		modes = "Node,RBAC"
	}
	chain := []authz.Authorizer{authz.PrivilegedGroups}
	for _, m := range strings.Split(modes, ",") {
		switch strings.TrimSpace(m) {
		case "AlwaysAllow":
			chain = append(chain, authz.AlwaysAllow)
		case "Node":
			if s.nodeAuthorizer != nil {
				chain = append(chain, s.nodeAuthorizer)
			}
		case "RBAC":
			if s.rbacAuthorizer != nil {
				chain = append(chain, s.rbacAuthorizer)
			}
		default:
			return fmt.Errorf("--authorization-mode: unknown authorizer %q (want Node, RBAC or AlwaysAllow)", m)
		}
	}
	s.authorizer = authz.Union(chain...)
	return nil
}

// authenticateToken asks each token authenticator in turn (a bearer token is one of
// theirs, or invalid).
func (s *Server) authenticateToken(ctx context.Context, token string) (*authn.User, bool, error) {
	var errs []error
	for _, t := range s.tokenAuthenticators {
		u, ok, err := t.AuthenticateToken(ctx, token)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if ok {
			return u, true, nil
		}
	}
	return nil, false, errors.Join(errs...)
}

// privilegedUser is who every request is on an insecure server.
var privilegedUser = &authn.User{Name: "system:admin", Groups: []string{authn.GroupMasters, authn.GroupAuthenticated}}

// authenticate resolves the request's user: valid credentials name it, invalid ones are
// refused with 401, none make it system:anonymous (unless anonymous requests are disabled).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if s.cfg.Insecure {
			next.ServeHTTP(w, req.WithContext(authn.WithUser(req.Context(), privilegedUser)))
			return
		}
		u, ok, err := s.authenticator.AuthenticateRequest(req)
		switch {
		case err != nil:
			s.log.Debug("authentication failed", "err", err, "remote", req.RemoteAddr)
			s.metrics.authnFailures.Inc()
			writeError(w, errUnauthorized())
			return
		case !ok && s.cfg.DisableAnonymous:
			writeError(w, errUnauthorized())
			return
		case !ok:
			u = authn.AnonymousUser()
		}
		// The credentials were used; they are not passed on (a proxied request to a node
		// agent carries the API server's own identity). Nor are the requestheader headers:
		// they were a front proxy's to set, read above if it did.
		req.Header.Del("Authorization")
		names, prefixes := s.requestHeaderConfig().Headers()
		for _, h := range names {
			req.Header.Del(h)
		}
		for h := range req.Header {
			for _, p := range prefixes {
				if len(h) >= len(p) && strings.EqualFold(h[:len(p)], p) {
					req.Header.Del(h)
				}
			}
		}
		next.ServeHTTP(w, req.WithContext(authn.WithUser(req.Context(), u)))
	})
}

// impersonateHook, if set, handles Impersonate-* headers between authentication and
// authorization (impersonation.go).
func (s *Server) impersonateFilter(next http.Handler) http.Handler {
	if s.impersonate == nil {
		return next
	}
	return s.impersonate(next)
}

// authorize asks the authorizers whether the request's user may do what it asks.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, _ := authn.UserFrom(req.Context())
		a := requestAttributes(req)
		a.User = u
		d, reason, err := s.authorizer.Authorize(req.Context(), a)
		annotateAuthorization(req.Context(), d, reason)
		if d == authz.Allow {
			next.ServeHTTP(w, req)
			return
		}
		if err != nil {
			s.log.Warn("authorization error", "err", err, "user", userName(u))
		}
		s.metrics.authzDenied.Inc()
		writeError(w, errForbiddenRequest(a, reason))
	})
}

func userName(u *authn.User) string {
	if u == nil {
		return ""
	}
	return u.Name
}

func errUnauthorized() *apiError {
	return newStatus(http.StatusUnauthorized, meta.ReasonUnauthorized, "Unauthorized", nil)
}

// errForbiddenRequest words a denial as Kubernetes does:
//
//	pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"
//	forbidden: User "system:anonymous" cannot get path "/api/v1"
func errForbiddenRequest(a authz.Attributes, reason string) *apiError {
	user := userName(a.User)
	var msg string
	var details *meta.StatusDetails
	if !a.ResourceRequest {
		msg = fmt.Sprintf("forbidden: User %q cannot %s path %q", user, a.Verb, a.Path)
	} else {
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		qualifiedRes := a.Resource
		if a.APIGroup != "" {
			qualifiedRes += "." + a.APIGroup
		}
		scope := "at the cluster scope"
		if a.Namespace != "" {
			scope = fmt.Sprintf("in the namespace %q", a.Namespace)
		}
		subject := qualifiedRes
		if a.Name != "" {
			subject = fmt.Sprintf("%s %q", qualifiedRes, a.Name)
		}
		msg = fmt.Sprintf("%s is forbidden: User %q cannot %s resource %q in API group %q %s",
			subject, user, a.Verb, res, a.APIGroup, scope)
		details = &meta.StatusDetails{Name: a.Name, Group: a.APIGroup, Kind: a.Resource}
	}
	if reason != "" {
		msg += ": " + reason
	}
	return newStatus(http.StatusForbidden, meta.ReasonForbidden, msg, details)
}

// serverTLS is the API port's TLS configuration: the serving certificate, and client
// certificates requested (not required: tokens and anonymous requests have none) and
// verified by the x509 authenticator, which also names the user.
func (s *Server) serverTLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequestClientCert,
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// checkInsecure refuses plain HTTP on anything but loopback.
func checkInsecure(listen string) error {
	for _, addr := range strings.Split(listen, ",") {
		host, _, err := net.SplitHostPort(strings.TrimSpace(addr))
		if err != nil {
			return err
		}
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("--insecure serves plain HTTP without authentication and is only allowed on loopback, not %s", addr)
		}
	}
	return nil
}

// requestHeaderConfig is the requestheader authentication's headers and allowed names
// (without the CA), from the --requestheader-* flags.
func (s *Server) requestHeaderConfig() authn.RequestHeaderConfig {
	return authn.RequestHeaderConfig{AllowedNames: s.cfg.RequestHeaderAllowedNames,
		UsernameHeaders: s.cfg.RequestHeaderUsernameHeaders, GroupHeaders: s.cfg.RequestHeaderGroupHeaders,
		ExtraHeaderPrefixes: s.cfg.RequestHeaderExtraHeadersPrefix}
}
