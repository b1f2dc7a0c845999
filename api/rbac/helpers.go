package rbac

import (
	"fmt"
	"strings"
)

// SubjectsStrings splits subjects by kind for display (kubectl get -o wide): users, groups,
// ServiceAccounts as "namespace/name", and anything else as "kind/namespace/name".
func SubjectsStrings(subjects []Subject) (users, groups, sas, others []string) {
	for _, s := range subjects {
		switch s.Kind {
		case ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		case UserKind:
			users = append(users, s.Name)
		case GroupKind:
			groups = append(groups, s.Name)
		default:
			others = append(others, s.Kind+"/"+s.Namespace+"/"+s.Name)
		}
	}
	return users, groups, sas, others
}

// CompactString is a rule as Kubernetes prints it in escalation errors:
// {APIGroups:[""], Resources:["pods"], Verbs:["get"]}.
func (r PolicyRule) CompactString() string {
	var parts []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s:%q", name, v))
		}
	}
	add("APIGroups", r.APIGroups)
	add("Resources", r.Resources)
	add("NonResourceURLs", r.NonResourceURLs)
	add("ResourceNames", r.ResourceNames)
	add("Verbs", r.Verbs)
	return "{" + strings.Join(parts, ", ") + "}"
}

// ServiceAccountUser is the user name a ServiceAccount authenticates as.
func ServiceAccountUser(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}
