// Package authentication holds the kinds of the authentication.k8s.io API group (TokenRequest,
// TokenReview, SelfSubjectReview), field for field as k8s.io/api/authentication/v1 declares
// them: same JSON names, omitempty, pointers and protobuf tags. None of them is stored: each is
// the body and answer of one create call.
package authentication

// GroupName is the API group of these kinds.
const GroupName = "authentication.k8s.io"

// Version is the served version of the group.
const Version = "v1"

// APIVersion is GroupName/Version.
const APIVersion = GroupName + "/" + Version

// The impersonation headers.
const (
	ImpersonateUserHeader            = "Impersonate-User"
	ImpersonateGroupHeader           = "Impersonate-Group"
	ImpersonateUIDHeader             = "Impersonate-Uid"
	ImpersonateUserExtraHeaderPrefix = "Impersonate-Extra-"
)
