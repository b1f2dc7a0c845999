package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/storage"
)

// apiError is an error that already knows the Status it answers with.
type apiError struct{ status meta.Status }

func (e *apiError) Error() string { return e.status.Message }

func newStatus(code int, reason, msg string, details *meta.StatusDetails) *apiError {
	return &apiError{meta.Status{
		TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   meta.StatusFailure, Message: msg, Reason: reason, Code: int32(code), Details: details,
	}}
}

func qualified(k *registry.Kind) string {
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

func errNotFound(k *registry.Kind, name string) *apiError {
	return newStatus(http.StatusNotFound, meta.ReasonNotFound, fmt.Sprintf("%s %q not found", qualified(k), name),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource})
}

func errAlreadyExists(k *registry.Kind, name string) *apiError {
	return newStatus(http.StatusConflict, meta.ReasonAlreadyExists, fmt.Sprintf("%s %q already exists", qualified(k), name),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource})
}

func errConflict(k *registry.Kind, name, why string) *apiError {
	return newStatus(http.StatusConflict, meta.ReasonConflict,
		fmt.Sprintf("Operation cannot be fulfilled on %s %q: %s", qualified(k), name, why),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource})
}

const errModified = "the object has been modified; please apply your changes to the latest version and try again"

func errBadRequest(msg string) *apiError {
	return newStatus(http.StatusBadRequest, meta.ReasonBadRequest, msg, nil)
}

func errForbidden(k *registry.Kind, name, msg string) *apiError {
	return newStatus(http.StatusForbidden, meta.ReasonForbidden,
		fmt.Sprintf("%s %q is forbidden: %s", qualified(k), name, msg),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource})
}

func errGone(msg string) *apiError {
	return newStatus(http.StatusGone, meta.ReasonExpired, msg, nil)
}

func errInternal(err error) *apiError {
	return newStatus(http.StatusInternalServerError, meta.ReasonInternalError,
		fmt.Sprintf("Internal error occurred: %v", err), &meta.StatusDetails{Causes: []meta.StatusCause{{Message: err.Error()}}})
}

func errMethodNotAllowed(msg string) *apiError {
	return newStatus(http.StatusMethodNotAllowed, meta.ReasonMethodNotAllowed, msg, nil)
}

// errInvalid is the 422 answer to a validation failure; each field error becomes a cause.
func errInvalid(k *registry.Kind, name string, errs field.ErrorList) *apiError {
	causes := make([]meta.StatusCause, 0, len(errs))
	msg := ""
	for i, e := range errs {
		causes = append(causes, meta.StatusCause{Type: e.Type.CauseType(), Message: e.ErrorBody(), Field: e.Field})
		if i > 0 {
			msg += ", "
		}
		msg += e.Error()
	}
	if len(errs) > 1 {
		msg = "[" + msg + "]"
	}
	kind := k.Kind
	if k.Custom != nil {
		kind += "." + k.Group // Kubernetes names the group kind (built-in kinds here still do not)
	}
	return newStatus(http.StatusUnprocessableEntity, meta.ReasonInvalid,
		fmt.Sprintf("%s %q is invalid: %s", kind, name, msg),
		&meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Kind, Causes: causes})
}

// toAPIError maps storage errors to their Status; anything unknown is a 500.
func toAPIError(k *registry.Kind, name string, err error) *apiError {
	var ae *apiError
	var continueExpired *storage.ContinueExpiredError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, storage.ErrNoSpace):
		// etcd's NOSPACE alarm: the write is refused, nothing is stored.
		return newStatus(http.StatusInsufficientStorage, meta.ReasonInternalError,
			"etcdserver: mvcc: database space exceeded", &meta.StatusDetails{Name: name, Group: k.Group, Kind: k.Resource, RetryAfterSeconds: 10})
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout(err)
	case errors.Is(err, storage.ErrNotFound):
		return errNotFound(k, name)
	case errors.Is(err, storage.ErrAlreadyExists):
		return errAlreadyExists(k, name)
	case errors.Is(err, storage.ErrConflict):
		return errConflict(k, name, errModified)
	case errors.As(err, &continueExpired):
		// Kubernetes' messages; the token reads the rest of the list at the newest revision.
		e := errGone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
		e.status.ListMeta.Continue = continueExpired.Continue
		return e
	case errors.Is(err, storage.ErrExpired):
		return errGone("The resourceVersion for the provided list is too old.")
	case errors.Is(err, storage.ErrInvalidContinue):
		return errBadRequest(err.Error())
	case errors.Is(err, storage.ErrTooLargeResourceVersion):
		e := newStatus(http.StatusGatewayTimeout, meta.ReasonTimeout,
			"Too large resource version", &meta.StatusDetails{RetryAfterSeconds: 1,
				Causes: []meta.StatusCause{{Type: meta.CauseTypeResourceVersionTooLarge, Message: err.Error()}}})
		return e
	}
	return errInternal(err)
}

// writeError answers with err as a Status, in the encoding the request negotiated
// (negotiation.go).
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errInternal(err)
	}
	writeStatus(w, &ae.status)
}

// writeJSON writes v as JSON whatever the request's Accept header: for the documents that
// are JSON only in skiff (discovery, metrics.k8s.io). API objects go through
// writeAPIObject.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	writeRaw(w, code, b)
}

func writeRaw(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
