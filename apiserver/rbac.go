package apiserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authz/rbac"
)

// setUpRBAC starts the RBAC authorizer over the server's own watch caches of the four RBAC
// kinds (setUpSecurity puts it in the authorizer chain). It decides from an in-memory index
// the caches keep current, never from etcd.
func (s *Server) setUpRBAC(ctx context.Context) {
	cache := func(resource string) rbac.Source {
		k, _ := s.reg.Lookup(rbacv1.GroupName, rbacv1.Version, resource)
		return s.cache(k)
	}
	a := rbac.New(rbac.Sources{Roles: cache("roles"), ClusterRoles: cache("clusterroles"),
		RoleBindings: cache("rolebindings"), ClusterRoleBindings: cache("clusterrolebindings")}, s.log)
	a.Run(ctx)
	s.rbacAuthorizer = a
}

// rbacResolver is the RBAC authorizer as a rule resolver, or nil when RBAC is not among the
// authorization modes (an insecure or AlwaysAllow server): then nothing is checked for
// escalation, as in Kubernetes, which adds those checks only with the RBAC authorizer.
func (s *Server) rbacResolver() *rbac.Authorizer {
	if s.cfg.Insecure {
		return nil
	}
	modes := s.cfg.Authorization
	if modes == "" {
		modes = "Node,RBAC"
	}
	enabled := false
	for _, m := range strings.Split(modes, ",") {
		enabled = enabled || strings.TrimSpace(m) == "RBAC"
	}
	a, _ := s.rbacAuthorizer.(*rbac.Authorizer)
	if !enabled {
		return nil
	}
	return a
}

// waitRBACPolicy waits until the authorizer's index holds every object of objs (the
// bootstrap policy just reconciled), so the first requests of components after start are
// judged by it rather than refused while the index catches up.
func (s *Server) waitRBACPolicy(ctx context.Context, objs []meta.Object) error {
	a, _ := s.rbacAuthorizer.(*rbac.Authorizer)
	if a == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.WaitSynced(ctx); err != nil {
		return fmt.Errorf("rbac authorizer: %w", err)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		missing := 0
		for _, o := range objs {
			if !a.Index().Contains(o) {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rbac authorizer: %d bootstrap policy objects not seen: %w", missing, ctx.Err())
		case <-tick.C:
		}
	}
}
