package webhook

import (
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// callError is a failure to get an answer from a webhook (connection, TLS, timeout, HTTP
// status, an answer that is not a valid AdmissionReview): Kubernetes' ErrCallingWebhook. The
// webhook's failurePolicy decides what it means.
type callError struct {
	hook   string
	reason error
}

func (e *callError) Error() string {
	return fmt.Sprintf("failed calling webhook %q: %v", e.hook, e.reason)
}
func (e *callError) Unwrap() error { return e.reason }

// failClosed is a call failure under failurePolicy Fail: a 500, as apierrors.NewInternalError
// words it.
func failClosed(a *admission.Attributes, err error) *admission.Error {
	return admission.NewError(http.StatusInternalServerError, meta.ReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err), &meta.StatusDetails{Name: a.Name, Causes: []meta.StatusCause{{Message: err.Error()}}})
}

// internal is a failure in the server's own handling of an answer (a patch that does not
// apply): a 500 whatever the failurePolicy, as in Kubernetes.
func internal(a *admission.Attributes, err error) *admission.Error { return failClosed(a, err) }

// denied is the webhook's refusal as Kubernetes' ToStatusErr words it: the webhook's own
// status with the message prefixed by who denied, a code of at least 400.
func denied(hook string, result *meta.Status) *admission.Error {
	var s meta.Status
	if result != nil {
		s = *result
	}
	s.TypeMeta = meta.TypeMeta{Kind: "Status", APIVersion: "v1"}
	if s.Code < http.StatusBadRequest {
		s.Code = http.StatusBadRequest
	}
	if s.Status == "" || s.Status == meta.StatusSuccess {
		s.Status = meta.StatusFailure
	}
	by := fmt.Sprintf("admission webhook %q denied the request", hook)
	switch {
	case s.Message != "":
		s.Message = by + ": " + s.Message
	case s.Reason != "":
		s.Message = by + ": " + s.Reason
	default:
		s.Message = by + " without explanation"
	}
	return &admission.Error{Status: s}
}

// dryRunUnsupported refuses a dry run to a webhook that may have side effects: a 400 whatever
// the failurePolicy.
func dryRunUnsupported(hook string) *admission.Error {
	return admission.NewError(http.StatusBadRequest, meta.ReasonBadRequest,
		fmt.Sprintf("admission webhook %q does not support dry run", hook), nil)
}
