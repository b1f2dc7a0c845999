package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// StatusError is an error answer of the API server: its meta.Status, or one made up from
// the HTTP status when the body was not a Status (a proxy in between, say).
// Check it with the Is* helpers, which look through wrapping with errors.As.
type StatusError struct {
	Status meta.Status
}

func (e *StatusError) Error() string {
	if e.Status.Message != "" {
		return e.Status.Message
	}
	return fmt.Sprintf("the server answered %d %s", e.Status.Code, e.Status.Reason)
}

// reasonForCode is what Kubernetes answers for each code, used when a body is not a Status.
var reasonForCode = map[int32]string{
	http.StatusBadRequest:            meta.ReasonBadRequest,
	http.StatusUnauthorized:          meta.ReasonUnauthorized,
	http.StatusForbidden:             meta.ReasonForbidden,
	http.StatusNotFound:              meta.ReasonNotFound,
	http.StatusMethodNotAllowed:      meta.ReasonMethodNotAllowed,
	http.StatusNotAcceptable:         meta.ReasonNotAcceptable,
	http.StatusConflict:              meta.ReasonConflict,
	http.StatusGone:                  meta.ReasonGone,
	http.StatusRequestEntityTooLarge: meta.ReasonRequestEntityTooLarge,
	http.StatusUnsupportedMediaType:  meta.ReasonUnsupportedMediaType,
	http.StatusUnprocessableEntity:   meta.ReasonInvalid,
	http.StatusTooManyRequests:       meta.ReasonTooManyRequests,
	http.StatusInternalServerError:   meta.ReasonInternalError,
	http.StatusServiceUnavailable:    meta.ReasonServiceUnavailable,
	http.StatusGatewayTimeout:        meta.ReasonTimeout,
}

// knownReasons are the reasons the helpers trust over the code. An unknown (or empty)
// reason falls back to the code, as client-go does, so a bare 404 is still NotFound.
var knownReasons = map[string]bool{}

func init() {
	for _, r := range reasonForCode {
		knownReasons[r] = true
	}
	knownReasons[meta.ReasonAlreadyExists] = true
	knownReasons[meta.ReasonExpired] = true
	knownReasons[meta.ReasonServerTimeout] = true
}

// newStatusError turns an error response into a *StatusError.
func newStatusError(code int, body []byte) *StatusError {
	var st meta.Status
	if err := json.Unmarshal(body, &st); err == nil && st.Kind == "Status" {
		if st.Code == 0 {
			st.Code = int32(code)
		}
		if st.Status == "" {
			st.Status = meta.StatusFailure
		}
		return &StatusError{Status: st}
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		msg = http.StatusText(code)
	}
	return &StatusError{Status: meta.Status{
		TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   meta.StatusFailure,
		Code:     int32(code),
		Reason:   reasonForCode[int32(code)],
		Message:  fmt.Sprintf("the server answered %d: %s", code, msg),
	}}
}

// StatusFor returns the meta.Status inside err, if err is (or wraps) a *StatusError.
func StatusFor(err error) (*meta.Status, bool) {
	var se *StatusError
	if errors.As(err, &se) {
		return &se.Status, true
	}
	return nil, false
}

// ReasonFor returns the Status reason of err, "" if it is not a StatusError.
func ReasonFor(err error) string {
	if st, ok := StatusFor(err); ok {
		return st.Reason
	}
	return ""
}

// is reports whether err is a StatusError with this reason, or with an unknown reason and
// this code.
func is(err error, reason string, code int32) bool {
	st, ok := StatusFor(err)
	if !ok {
		return false
	}
	if st.Reason == reason {
		return true
	}
	return code != 0 && !knownReasons[st.Reason] && st.Code == code
}

// IsNotFound: the object (or its namespace) does not exist.
func IsNotFound(err error) bool { return is(err, meta.ReasonNotFound, http.StatusNotFound) }

// IsAlreadyExists: a create found an object of that name.
func IsAlreadyExists(err error) bool { return is(err, meta.ReasonAlreadyExists, 0) }

// IsConflict: a write was based on a stale resourceVersion (or a precondition failed);
// read again and retry.
func IsConflict(err error) bool { return is(err, meta.ReasonConflict, http.StatusConflict) }

// IsGone: the requested resourceVersion is no longer kept; relist.
func IsGone(err error) bool { return is(err, meta.ReasonGone, http.StatusGone) }

// IsExpired: a resourceVersion or continue token has expired; relist (or restart the list).
func IsExpired(err error) bool { return is(err, meta.ReasonExpired, 0) }

// IsInvalid: validation rejected the object; Status.Details.Causes names the fields.
func IsInvalid(err error) bool { return is(err, meta.ReasonInvalid, http.StatusUnprocessableEntity) }

// IsBadRequest: the request itself was malformed.
func IsBadRequest(err error) bool { return is(err, meta.ReasonBadRequest, http.StatusBadRequest) }

// IsUnauthorized: no or bad credentials.
func IsUnauthorized(err error) bool {
	return is(err, meta.ReasonUnauthorized, http.StatusUnauthorized)
}

// IsForbidden: authenticated, but not allowed (or refused by admission).
func IsForbidden(err error) bool { return is(err, meta.ReasonForbidden, http.StatusForbidden) }

// IsMethodNotSupported: the resource does not support the verb.
func IsMethodNotSupported(err error) bool {
	return is(err, meta.ReasonMethodNotAllowed, http.StatusMethodNotAllowed)
}

// IsTooManyRequests: the server is shedding load (or an eviction is blocked by a
// PodDisruptionBudget); retry later.
func IsTooManyRequests(err error) bool {
	return is(err, meta.ReasonTooManyRequests, http.StatusTooManyRequests)
}

// IsInternalError: the server failed.
func IsInternalError(err error) bool {
	return is(err, meta.ReasonInternalError, http.StatusInternalServerError)
}

// IsServiceUnavailable: the server (or etcd behind it) is not ready.
func IsServiceUnavailable(err error) bool {
	return is(err, meta.ReasonServiceUnavailable, http.StatusServiceUnavailable)
}

// IsTimeout: the request timed out on the server.
func IsTimeout(err error) bool {
	return is(err, meta.ReasonTimeout, http.StatusGatewayTimeout) || is(err, meta.ReasonServerTimeout, 0)
}
