// Package rbac is Kubernetes' RBAC authorizer: a request is allowed when a role bound to
// its user, one of the user's groups, or its ServiceAccount has a rule that matches it.
//
// Decisions come from an Index kept current by watching the API server's own watch caches
// (roles, clusterroles, rolebindings, clusterrolebindings): no etcd read, and no scan of all
// bindings, per request. The index lags a write by the time an event takes to reach it (as
// in Kubernetes, where the authorizer reads informer caches); a binding just created may
// take a moment to grant access.
//
// The package also resolves the rules a user holds (RulesFor), which SelfSubjectRulesReview
// reports and which escalation checks compare a new role or binding against (Covers).
package rbac

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// Source is a change feed of one resource: the API server's watch cache of it.
type Source interface {
	Watch(ctx context.Context, fromRV int64, filter watchcache.Filter, opts watchcache.WatchOptions) (*watchcache.Watcher, error)
}

// Sources are the four feeds the authorizer follows.
type Sources struct {
	Roles, ClusterRoles, RoleBindings, ClusterRoleBindings Source
}

// Authorizer is the RBAC authorizer (authz.Authorizer) and rule resolver.
type Authorizer struct {
	index *Index
	src   Sources
	log   *slog.Logger

	syncOnce sync.Once
	synced   chan struct{}
	pending  sync.WaitGroup
}

var _ authz.Authorizer = (*Authorizer)(nil)

// New returns an authorizer over src; it decides nothing until Run has loaded the feeds.
func New(src Sources, log *slog.Logger) *Authorizer {
	if log == nil {
		log = slog.Default()
	}
	return &Authorizer{index: NewIndex(), src: src, log: log.With("component", "rbac"), synced: make(chan struct{})}
}

// NewForIndex returns an authorizer over an index the caller fills (tests, tools).
func NewForIndex(x *Index) *Authorizer {
	a := &Authorizer{index: x, log: slog.Default(), synced: make(chan struct{})}
	close(a.synced)
	return a
}

// Index is the authorizer's index (read-only use).
func (a *Authorizer) Index() *Index { return a.index }

// Run starts following the feeds until ctx ends; it does not block. WaitSynced tells when
// every feed has been loaded once.
func (a *Authorizer) Run(ctx context.Context) {
	feeds := []struct {
		src    Source
		sample meta.Object
	}{
		{a.src.ClusterRoles, &rbacv1.ClusterRole{}},
		{a.src.Roles, &rbacv1.Role{}},
		{a.src.ClusterRoleBindings, &rbacv1.ClusterRoleBinding{}},
		{a.src.RoleBindings, &rbacv1.RoleBinding{}},
	}
	a.pending.Add(len(feeds))
	go func() {
		a.pending.Wait()
		a.syncOnce.Do(func() { close(a.synced) })
	}()
	for _, f := range feeds {
		go a.follow(ctx, f.src, f.sample)
	}
}

// WaitSynced waits until every feed has been loaded once: the index then holds at least
// what each watch cache held when the authorizer started watching it (later changes follow
// as events).
func (a *Authorizer) WaitSynced(ctx context.Context) error {
	select {
	case <-a.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// follow keeps the index's objects of sample's kind equal to the source's. A watcher the
// cache closes (it fell behind, or the cache relisted) is replaced by a new one starting
// from the whole current state, which replaces the kind's objects in the index: a delete
// missed in between cannot leave a stale grant behind.
func (a *Authorizer) follow(ctx context.Context, src Source, sample meta.Object) {
	first := true
	for ctx.Err() == nil {
		w, err := src.Watch(ctx, 0, nil, watchcache.WatchOptions{SendInitialState: true, InitialEventsEnd: true, BufferSize: 10000})
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("watch failed; retrying", "kind", fmt.Sprintf("%T", sample), "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		var initial []meta.Object
		loading := true
		for ev := range w.ResultChan() {
			switch {
			case ev.Type == meta.Bookmark:
				if ev.InitialEventsEnd && loading {
					a.index.Replace(sample, initial)
					initial, loading = nil, false
					if first {
						first = false
						a.pending.Done()
					}
				}
			case loading:
				initial = append(initial, ev.Object)
			case ev.Type == meta.Deleted:
				a.index.Delete(ev.Object)
			default:
				a.index.Set(ev.Object)
			}
		}
		if ctx.Err() == nil {
			a.log.Warn("watch closed; reloading", "kind", fmt.Sprintf("%T", sample), "err", w.Err())
		}
	}
}

// Authorize allows a request some bound rule matches. It never denies: a request no rule
// grants gets NoOpinion (the next authorizer may allow it; none left means 403), with the
// reason Kubernetes gives: empty, or the bindings whose roles are missing.
func (a *Authorizer) Authorize(_ context.Context, attrs authz.Attributes) (authz.Decision, string, error) {
	if attrs.User == nil {
		return authz.NoOpinion, "", nil
	}
	var errs []error
	reason := ""
	a.index.visitRulesFor(attrs.User, attrs.Namespace, func(src fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil && RuleAllows(attrs, rule) {
			reason = "RBAC: allowed by " + src.String()
			return false
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	if reason != "" {
		return authz.Allow, reason, nil
	}
	if len(errs) > 0 {
		return authz.NoOpinion, "RBAC: " + aggregate(errs), nil
	}
	return authz.NoOpinion, "", nil
}

// RulesFor returns every rule user holds in namespace (cluster-wide ones included; only
// those when namespace is ""). The error lists bindings whose roles are missing; the rules
// are still those of the rest, as Kubernetes' AuthorizationRuleResolver.
func (a *Authorizer) RulesFor(user *authn.User, namespace string) ([]rbacv1.PolicyRule, error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	a.index.visitRulesFor(user, namespace, func(_ fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool {
		if rule != nil {
			rules = append(rules, *rule)
		}
		if err != nil {
			errs = append(errs, err)
		}
		return true
	})
	if len(errs) > 0 {
		return rules, errors.New(aggregate(errs))
	}
	return rules, nil
}

// RoleRefRules returns the rules of the role a binding in namespace refers to.
func (a *Authorizer) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	return a.index.RoleRefRules(ref, namespace)
}

// aggregate words several errors as apimachinery's aggregate does: one message alone,
// several as "[a, b]", repeats dropped.
func aggregate(errs []error) string {
	var msgs []string
	seen := map[string]bool{}
	for _, e := range errs {
		if m := e.Error(); !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 1 {
		return msgs[0]
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}
