package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authz/bootstrappolicy"
	"github.com/skiff-sh/skiff/apiserver/authz/rbac"
	"github.com/skiff-sh/skiff/storage"
)

// bootstrapRBAC reconciles the bootstrap RBAC policy (apiserver/authz/bootstrappolicy), as
// Kubernetes' API server does at start:
//   - a missing object is created;
//   - an existing one annotated rbac.authorization.kubernetes.io/autoupdate=true gets back
//     what it lacks: rules (added, never removed), subjects, labels, annotations, the
//     aggregation rule's selectors; a binding's roleRef is set back;
//   - one whose annotation is anything else is the administrator's and left alone.
//
// Difference from Kubernetes: an aggregated ClusterRole (admin, edit, view) is created with
// the rules aggregated from the bootstrap roles already in it, so a new cluster's view
// works before the controller manager's aggregation controller first runs; afterwards the
// controller owns those rules.
func (s *Server) bootstrapRBAC(ctx context.Context) error {
	roles := bootstrappolicy.ClusterRoles()
	var objs []meta.Object
	for _, r := range roles {
		objs = append(objs, r)
	}
	for _, r := range bootstrappolicy.NamespaceRoles() {
		objs = append(objs, r)
	}
	for _, b := range bootstrappolicy.ClusterRoleBindings() {
		objs = append(objs, b)
	}
	for _, b := range bootstrappolicy.NamespaceRoleBindings() {
		objs = append(objs, b)
	}
	for _, o := range objs {
		if err := s.reconcileBootstrapObject(ctx, o, roles); err != nil {
			m := o.GetObjectMeta()
			return fmt.Errorf("bootstrap RBAC policy %s %s: %w", o.GetTypeMeta().Kind, m.Name, err)
		}
	}
	return s.waitRBACPolicy(ctx, objs)
}

var errUnchanged = errors.New("unchanged")

func (s *Server) reconcileBootstrapObject(ctx context.Context, want meta.Object, roles []*rbacv1.ClusterRole) error {
	k, ok := s.reg.LookupKind(rbacv1.GroupName, rbacv1.Version, want.GetTypeMeta().Kind)
	if !ok {
		return fmt.Errorf("kind %s is not registered", want.GetTypeMeta().Kind)
	}
	m := want.GetObjectMeta()
	key := k.Key(m.Namespace, m.Name)
	created := deepCopy(k, want)
	if cr, ok := created.(*rbacv1.ClusterRole); ok {
		if rules, aggregated, err := rbacv1.AggregatedRules(cr, roles); err != nil {
			return err
		} else if aggregated {
			cr.Rules = rules
		}
	}
	defaults.Object(created)
	cm := created.GetObjectMeta()
	cm.UID, cm.CreationTimestamp = uuid.NewString(), meta.Now()
	err := s.store.Create(ctx, key, created)
	if !errors.Is(err, storage.ErrAlreadyExists) {
		return err
	}
	_, err = s.store.GuaranteedUpdate(ctx, key, k.New, func(cur meta.Object) (meta.Object, error) {
		if cur.GetObjectMeta().Annotations[rbacv1.AutoUpdateAnnotationKey] != "true" {
			return nil, errUnchanged
		}
		reconcileBootstrap(cur, want)
		return cur, nil // written only if it changed
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// reconcileBootstrap adds to cur what want has and cur lacks.
func reconcileBootstrap(cur, want meta.Object) {
	cm, wm := cur.GetObjectMeta(), want.GetObjectMeta()
	cm.Labels = addMissing(cm.Labels, wm.Labels)
	cm.Annotations = addMissing(cm.Annotations, wm.Annotations)
	switch c := cur.(type) {
	case *rbacv1.ClusterRole:
		w := want.(*rbacv1.ClusterRole)
		if w.AggregationRule != nil {
			// The aggregation controller owns the rules; only the selectors are reconciled.
			if c.AggregationRule == nil {
				c.AggregationRule = &rbacv1.AggregationRule{}
			}
			for _, sel := range w.AggregationRule.ClusterRoleSelectors {
				if !slices.ContainsFunc(c.AggregationRule.ClusterRoleSelectors, func(x meta.LabelSelector) bool { return equalJSON(x, sel) }) {
					c.AggregationRule.ClusterRoleSelectors = append(c.AggregationRule.ClusterRoleSelectors, sel)
				}
			}
			return
		}
		c.Rules = addMissingRules(c.Rules, w.Rules)
	case *rbacv1.Role:
		c.Rules = addMissingRules(c.Rules, want.(*rbacv1.Role).Rules)
	case *rbacv1.ClusterRoleBinding:
		w := want.(*rbacv1.ClusterRoleBinding)
		c.RoleRef = w.RoleRef
		c.Subjects = addMissingSubjects(c.Subjects, w.Subjects)
	case *rbacv1.RoleBinding:
		w := want.(*rbacv1.RoleBinding)
		c.RoleRef = w.RoleRef
		c.Subjects = addMissingSubjects(c.Subjects, w.Subjects)
	}
}

func addMissing(have, want map[string]string) map[string]string {
	for k, v := range want {
		if _, ok := have[k]; !ok {
			if have == nil {
				have = map[string]string{}
			}
			have[k] = v
		}
	}
	return have
}

// addMissingRules appends the pieces of want that have does not cover (Kubernetes'
// additive reconciliation: permissions an administrator added stay).
func addMissingRules(have, want []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	if covered, missing := rbac.Covers(have, want); !covered {
		return append(have, missing...)
	}
	return have
}

func addMissingSubjects(have, want []rbacv1.Subject) []rbacv1.Subject {
	for _, s := range want {
		if !slices.Contains(have, s) {
			have = append(have, s)
		}
	}
	return have
}

func equalJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
