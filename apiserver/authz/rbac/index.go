package rbac

import (
	"fmt"
	"slices"
	"sync"

	"github.com/skiff-sh/skiff/api/meta"
	rbacv1 "github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// Index holds the roles and bindings, and for each subject the bindings that name it, so
// that the rules of a user are found by a few map lookups: one per user name and group,
// never a scan of every binding. Objects are shared with the watch caches that feed the
// index and are never modified; an update replaces the stored pointer.
//
// Roles are looked up by name when a request is authorized, not copied into the subject
// index, so a change to a role's rules takes effect without touching the bindings.
type Index struct {
	mu                  sync.RWMutex
	roles               map[string]*rbacv1.Role        // "namespace/name"
	clusterRoles        map[string]*rbacv1.ClusterRole // name
	roleBindings        map[string]*rbacv1.RoleBinding // "namespace/name"
	clusterRoleBindings map[string]*rbacv1.ClusterRoleBinding
	// clusterBySubject: subject -> names of the ClusterRoleBindings naming it.
	clusterBySubject map[subjectKey]map[string]struct{}
	// nsBySubject: namespace -> subject -> names of the RoleBindings there naming it.
	nsBySubject map[string]map[subjectKey]map[string]struct{}
}

// subjectKey is a user or group name as authentication gives it. ServiceAccount subjects
// are indexed under their user name (system:serviceaccount:NS:NAME).
type subjectKey struct {
	group bool
	name  string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		roles:               map[string]*rbacv1.Role{},
		clusterRoles:        map[string]*rbacv1.ClusterRole{},
		roleBindings:        map[string]*rbacv1.RoleBinding{},
		clusterRoleBindings: map[string]*rbacv1.ClusterRoleBinding{},
		clusterBySubject:    map[subjectKey]map[string]struct{}{},
		nsBySubject:         map[string]map[subjectKey]map[string]struct{}{},
	}
}

// subjectKeyOf is the key a binding's subject is indexed under; ok is false for a subject
// that can match no user (an unknown kind, a ServiceAccount without a namespace).
func subjectKeyOf(s rbacv1.Subject, bindingNamespace string) (subjectKey, bool) {
	switch s.Kind {
	case rbacv1.UserKind:
		return subjectKey{name: s.Name}, true
	case rbacv1.GroupKind:
		return subjectKey{group: true, name: s.Name}, true
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace // a RoleBinding may name its own namespace's accounts bare
		}
		if ns == "" {
			return subjectKey{}, false
		}
		return subjectKey{name: rbacv1.ServiceAccountUser(ns, s.Name)}, true
	}
	return subjectKey{}, false
}

// userKeys are the keys a user's rules are found under: its name and each of its groups.
func userKeys(u *authn.User) []subjectKey {
	keys := make([]subjectKey, 0, len(u.Groups)+1)
	keys = append(keys, subjectKey{name: u.Name})
	for _, g := range u.Groups {
		keys = append(keys, subjectKey{group: true, name: g})
	}
	return keys
}

// Set adds or replaces an RBAC object (Role, ClusterRole, RoleBinding, ClusterRoleBinding);
// other kinds are ignored.
func (x *Index) Set(obj meta.Object) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.set(obj)
}

// Delete removes an RBAC object.
func (x *Index) Delete(obj meta.Object) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.delete(obj)
}

// Replace sets the whole state of the kind of sample to objs: what a relist gives.
func (x *Index) Replace(sample meta.Object, objs []meta.Object) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch sample.(type) {
	case *rbacv1.Role:
		x.roles = map[string]*rbacv1.Role{}
	case *rbacv1.ClusterRole:
		x.clusterRoles = map[string]*rbacv1.ClusterRole{}
	case *rbacv1.RoleBinding:
		x.roleBindings = map[string]*rbacv1.RoleBinding{}
		x.nsBySubject = map[string]map[subjectKey]map[string]struct{}{}
	case *rbacv1.ClusterRoleBinding:
		x.clusterRoleBindings = map[string]*rbacv1.ClusterRoleBinding{}
		x.clusterBySubject = map[subjectKey]map[string]struct{}{}
	}
	for _, o := range objs {
		x.set(o)
	}
}

func nsName(m *meta.ObjectMeta) string { return m.Namespace + "/" + m.Name }

func (x *Index) set(obj meta.Object) {
	x.delete(obj) // drop the old version's subject entries
	switch o := obj.(type) {
	case *rbacv1.Role:
		x.roles[nsName(&o.ObjectMeta)] = o
	case *rbacv1.ClusterRole:
		x.clusterRoles[o.Name] = o
	case *rbacv1.RoleBinding:
		x.roleBindings[nsName(&o.ObjectMeta)] = o
		bySubject := x.nsBySubject[o.Namespace]
		if bySubject == nil {
			bySubject = map[subjectKey]map[string]struct{}{}
			x.nsBySubject[o.Namespace] = bySubject
		}
		indexSubjects(bySubject, o.Subjects, o.Namespace, o.Name)
	case *rbacv1.ClusterRoleBinding:
		x.clusterRoleBindings[o.Name] = o
		indexSubjects(x.clusterBySubject, o.Subjects, "", o.Name)
	}
}

func indexSubjects(m map[subjectKey]map[string]struct{}, subjects []rbacv1.Subject, ns, binding string) {
	for _, s := range subjects {
		k, ok := subjectKeyOf(s, ns)
		if !ok {
			continue
		}
		if m[k] == nil {
			m[k] = map[string]struct{}{}
		}
		m[k][binding] = struct{}{}
	}
}

func unindexSubjects(m map[subjectKey]map[string]struct{}, subjects []rbacv1.Subject, ns, binding string) {
	for _, s := range subjects {
		k, ok := subjectKeyOf(s, ns)
		if !ok {
			continue
		}
		delete(m[k], binding)
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
}

func (x *Index) delete(obj meta.Object) {
	m := obj.GetObjectMeta()
	switch obj.(type) {
	case *rbacv1.Role:
		delete(x.roles, nsName(m))
	case *rbacv1.ClusterRole:
		delete(x.clusterRoles, m.Name)
	case *rbacv1.RoleBinding:
		// The stored version's subjects are the ones indexed (the deleted object may differ).
		if old, ok := x.roleBindings[nsName(m)]; ok {
			if bySubject := x.nsBySubject[m.Namespace]; bySubject != nil {
				unindexSubjects(bySubject, old.Subjects, old.Namespace, old.Name)
				if len(bySubject) == 0 {
					delete(x.nsBySubject, m.Namespace)
				}
			}
			delete(x.roleBindings, nsName(m))
		}
	case *rbacv1.ClusterRoleBinding:
		if old, ok := x.clusterRoleBindings[m.Name]; ok {
			unindexSubjects(x.clusterBySubject, old.Subjects, "", old.Name)
			delete(x.clusterRoleBindings, m.Name)
		}
	}
}

// ruleVisitor receives each rule a user holds, with the binding it comes from; err is a
// binding whose role is missing. Returning false stops the visit.
type ruleVisitor func(source fmt.Stringer, rule *rbacv1.PolicyRule, err error) bool

// visitRulesFor visits the rules user holds in namespace: those of ClusterRoleBindings
// first, then of the namespace's RoleBindings (none when namespace is ""), as Kubernetes'
// VisitRulesFor. The caller holds no lock.
func (x *Index) visitRulesFor(user *authn.User, namespace string, visit ruleVisitor) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	keys := userKeys(user)
	for _, name := range bindingNames(x.clusterBySubject, keys) {
		b := x.clusterRoleBindings[name]
		src := &clusterRoleBindingDescriber{binding: b, subject: appliesTo(user, b.Subjects, "")}
		rules, err := x.roleRefRules(b.RoleRef, "")
		if !visitAll(src, rules, err, visit) {
			return
		}
	}
	if namespace == "" {
		return
	}
	for _, name := range bindingNames(x.nsBySubject[namespace], keys) {
		b := x.roleBindings[namespace+"/"+name]
		src := &roleBindingDescriber{binding: b, subject: appliesTo(user, b.Subjects, namespace)}
		rules, err := x.roleRefRules(b.RoleRef, namespace)
		if !visitAll(src, rules, err, visit) {
			return
		}
	}
}

func visitAll(src fmt.Stringer, rules []rbacv1.PolicyRule, err error, visit ruleVisitor) bool {
	if err != nil {
		return visit(nil, nil, err)
	}
	for i := range rules {
		if !visit(src, &rules[i], nil) {
			return false
		}
	}
	return true
}

// bindingNames are the bindings naming any of keys, sorted so decisions and their reasons
// do not depend on map order.
func bindingNames(m map[subjectKey]map[string]struct{}, keys []subjectKey) []string {
	var names []string
	for _, k := range keys {
		for n := range m[k] {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// roleRefRules are the rules of the role a binding in namespace refers to. Caller holds mu.
func (x *Index) roleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	switch ref.Kind {
	case "Role":
		if r, ok := x.roles[namespace+"/"+ref.Name]; ok {
			return r.Rules, nil
		}
		return nil, notFound("role", ref.Name)
	case "ClusterRole":
		if r, ok := x.clusterRoles[ref.Name]; ok {
			return r.Rules, nil
		}
		return nil, notFound("clusterrole", ref.Name)
	}
	return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
}

// notFound words a missing role as Kubernetes' listers do.
func notFound(resource, name string) error {
	return fmt.Errorf("%s.%s %q not found", resource, rbacv1.GroupName, name)
}

// RoleRefRules returns the rules of the role ref names, for a binding in namespace ("" for
// a ClusterRoleBinding); an error if the role does not exist.
func (x *Index) RoleRefRules(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.roleRefRules(ref, namespace)
}

// appliesTo is the first subject that names user (in a binding of namespace).
func appliesTo(user *authn.User, subjects []rbacv1.Subject, namespace string) *rbacv1.Subject {
	for i := range subjects {
		s := &subjects[i]
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == user.Name {
				return s
			}
		case rbacv1.GroupKind:
			if user.InGroup(s.Name) {
				return s
			}
		case rbacv1.ServiceAccountKind:
			if k, ok := subjectKeyOf(*s, namespace); ok && k.name == user.Name {
				return s
			}
		}
	}
	return nil
}

// The sources of a rule, worded as Kubernetes' RBAC authorizer words its allow reasons:
// RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters".
type clusterRoleBindingDescriber struct {
	binding *rbacv1.ClusterRoleBinding
	subject *rbacv1.Subject
}

func (d *clusterRoleBindingDescriber) String() string {
	return fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s",
		d.binding.Name, d.binding.RoleRef.Kind, d.binding.RoleRef.Name, describeSubject(d.subject, ""))
}

type roleBindingDescriber struct {
	binding *rbacv1.RoleBinding
	subject *rbacv1.Subject
}

func (d *roleBindingDescriber) String() string {
	return fmt.Sprintf("RoleBinding %q of %s %q to %s",
		d.binding.Name+"/"+d.binding.Namespace, d.binding.RoleRef.Kind, d.binding.RoleRef.Name, describeSubject(d.subject, d.binding.Namespace))
}

func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	if s == nil {
		return "<unknown>"
	}
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+ns)
	}
	return fmt.Sprintf("%s %q", s.Kind, s.Name)
}

// Contains reports whether the index holds an object of obj's kind, namespace and name.
func (x *Index) Contains(obj meta.Object) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := obj.GetObjectMeta()
	var ok bool
	switch obj.(type) {
	case *rbacv1.Role:
		_, ok = x.roles[nsName(m)]
	case *rbacv1.ClusterRole:
		_, ok = x.clusterRoles[m.Name]
	case *rbacv1.RoleBinding:
		_, ok = x.roleBindings[nsName(m)]
	case *rbacv1.ClusterRoleBinding:
		_, ok = x.clusterRoleBindings[m.Name]
	}
	return ok
}
