package defaults

import "github.com/skiff-sh/skiff/api/rbac"

// roleBinding fills the API groups a binding may leave out (SetDefaults_RoleBinding and
// SetDefaults_Subject): the roleRef's is RBAC's, and so is that of User and Group subjects;
// ServiceAccounts are in the core group.
func roleBinding(ref *rbac.RoleRef, subjects []rbac.Subject) {
	if ref.APIGroup == "" {
		ref.APIGroup = rbac.GroupName
	}
	for i := range subjects {
		s := &subjects[i]
		if s.APIGroup == "" && (s.Kind == rbac.UserKind || s.Kind == rbac.GroupKind) {
			s.APIGroup = rbac.GroupName
		}
	}
}
