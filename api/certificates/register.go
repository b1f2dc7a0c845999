// Package certificates holds the kinds of the certificates.k8s.io API group
// (CertificateSigningRequest), field for field as k8s.io/api/certificates/v1 declares them:
// same JSON names, omitempty, pointers and protobuf tags.
package certificates

// GroupName is the API group of these kinds.
const GroupName = "certificates.k8s.io"

// Version is the served version of the group.
const Version = "v1"
