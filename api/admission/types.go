// Package admission holds the wire types of admission.k8s.io/v1 (AdmissionReview), field for
// field as k8s.io/api/admission/v1 declares them. They are not a served kind: the API server
// sends them to admission webhooks and reads their answers.
//
// Code derived from k8s.io/api v0.33.0 (Apache-2.0).
package admission

import (
	"encoding/json"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
)

// GroupName is the API group of AdmissionReview.
const GroupName = "admission.k8s.io"

// Version is the version skiff speaks.
const Version = "v1"

// AdmissionReview describes an admission review request/response.
type AdmissionReview struct {
	meta.TypeMeta `json:",inline"`
	// Request describes the attributes for the admission request.
	Request *AdmissionRequest `json:"request,omitempty"`
	// Response describes the attributes for the admission response.
	Response *AdmissionResponse `json:"response,omitempty"`
}

// GroupVersionKind names a kind.
type GroupVersionKind struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// GroupVersionResource names a resource.
type GroupVersionResource struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

// AdmissionRequest describes the admission.Attributes for the admission request.
type AdmissionRequest struct {
	// UID is an identifier for the individual request/response.
	UID string `json:"uid"`
	// Kind is the fully-qualified type of object being submitted (for example, v1.Pod).
	Kind GroupVersionKind `json:"kind"`
	// Resource is the fully-qualified resource being requested (for example, v1.pods).
	Resource GroupVersionResource `json:"resource"`
	// SubResource is the subresource being requested, if any (for example, "status" or "scale").
	SubResource string `json:"subResource,omitempty"`
	// RequestKind is the fully-qualified type of the original API request.
	RequestKind *GroupVersionKind `json:"requestKind,omitempty"`
	// RequestResource is the fully-qualified resource of the original API request.
	RequestResource *GroupVersionResource `json:"requestResource,omitempty"`
	// RequestSubResource is the name of the subresource of the original API request, if any.
	RequestSubResource string `json:"requestSubResource,omitempty"`
	// Name is the name of the object as presented in the request.
	Name string `json:"name,omitempty"`
	// Namespace is the namespace associated with the request (if any).
	Namespace string `json:"namespace,omitempty"`
	// Operation is the operation being performed.
	Operation string `json:"operation"`
	// UserInfo is information about the requesting user.
	UserInfo authentication.UserInfo `json:"userInfo"`
	// Object is the object from the incoming request.
	Object json.RawMessage `json:"object,omitempty"`
	// OldObject is the existing object. Only populated for DELETE and UPDATE requests.
	OldObject json.RawMessage `json:"oldObject,omitempty"`
	// DryRun indicates that modifications will definitely not be persisted for this request.
	DryRun *bool `json:"dryRun,omitempty"`
	// Options is the operation option structure of the operation being performed.
	Options json.RawMessage `json:"options,omitempty"`
}

// AdmissionResponse describes an admission response.
type AdmissionResponse struct {
	// UID is an identifier for the individual request/response; it must be copied over from
	// the corresponding AdmissionRequest.
	UID string `json:"uid"`
	// Allowed indicates whether or not the admission request was permitted.
	Allowed bool `json:"allowed"`
	// Result contains extra details into why an admission request was denied.
	Result *meta.Status `json:"status,omitempty"`
	// The patch body. Currently we only support "JSONPatch" which implements RFC 6902.
	Patch []byte `json:"patch,omitempty"`
	// The type of Patch. Currently we only allow "JSONPatch".
	PatchType *string `json:"patchType,omitempty"`
	// AuditAnnotations is an unstructured key value map set by remote admission controller.
	AuditAnnotations map[string]string `json:"auditAnnotations,omitempty"`
	// warnings is a list of warning messages to return to the requesting API client.
	Warnings []string `json:"warnings,omitempty"`
}

// PatchTypeJSONPatch is the only patch type a webhook may answer with.
const PatchTypeJSONPatch = "JSONPatch"
