// Package apiextensions holds the kinds of the apiextensions.k8s.io API group
// (CustomResourceDefinition), field for field as k8s.io/apiextensions-apiserver's v1 declares
// them: same JSON names, omitempty and pointers.
package apiextensions

// GroupName is the API group of these kinds.
const GroupName = "apiextensions.k8s.io"

// Version is the served version of the group.
const Version = "v1"

// DeepCopyStatus copies the status (conditions and names are not shared).
func (s CustomResourceDefinitionStatus) DeepCopyStatus() CustomResourceDefinitionStatus {
	out := s
	out.Conditions = append([]CustomResourceDefinitionCondition(nil), s.Conditions...)
	out.AcceptedNames.ShortNames = append([]string(nil), s.AcceptedNames.ShortNames...)
	out.AcceptedNames.Categories = append([]string(nil), s.AcceptedNames.Categories...)
	out.StoredVersions = append([]string(nil), s.StoredVersions...)
	return out
}
