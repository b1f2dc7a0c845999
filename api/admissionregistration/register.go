// Package admissionregistration holds the kinds of the admissionregistration.k8s.io API group
// (MutatingWebhookConfiguration, ValidatingWebhookConfiguration, ValidatingAdmissionPolicy,
// ValidatingAdmissionPolicyBinding), field for field as
// k8s.io/api/admissionregistration/v1 declares them: same JSON names, omitempty, pointers and
// patch tags.
package admissionregistration

// GroupName is the API group of these kinds.
const GroupName = "admissionregistration.k8s.io"

// Version is the served version of the group.
const Version = "v1"
