package field

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// ErrorType says what kind of wrong a field is. Its value is the machine-readable cause
// reason the API server puts in Status.details.causes[].reason.
type ErrorType string

// The error types, valued as Kubernetes' StatusCause reasons.
const (
	ErrorTypeNotFound     ErrorType = meta.CauseTypeFieldValueNotFound
	ErrorTypeRequired     ErrorType = meta.CauseTypeFieldValueRequired
	ErrorTypeDuplicate    ErrorType = meta.CauseTypeFieldValueDuplicate
	ErrorTypeInvalid      ErrorType = meta.CauseTypeFieldValueInvalid
	ErrorTypeNotSupported ErrorType = meta.CauseTypeFieldValueNotSupported
	ErrorTypeForbidden    ErrorType = meta.CauseTypeFieldValueForbidden
	ErrorTypeTooLong      ErrorType = meta.CauseTypeFieldValueTooLong
	ErrorTypeTooMany      ErrorType = meta.CauseTypeFieldValueTooMany
	ErrorTypeInternal     ErrorType = meta.CauseTypeInternal
)

// CauseType is the StatusCause reason for this error type ("FieldValueRequired", ...).
func (t ErrorType) CauseType() string { return string(t) }

// String is the human phrase Kubernetes prints for the type ("Required value", ...).
func (t ErrorType) String() string {
	switch t {
	case ErrorTypeNotFound:
		return "Not found"
	case ErrorTypeRequired:
		return "Required value"
	case ErrorTypeDuplicate:
		return "Duplicate value"
	case ErrorTypeInvalid, ErrorTypeTypeInvalid:
		return "Invalid value"
	case ErrorTypeNotSupported:
		return "Unsupported value"
	case ErrorTypeForbidden:
		return "Forbidden"
	case ErrorTypeTooLong:
		return "Too long"
	case ErrorTypeTooMany:
		return "Too many"
	case ErrorTypeInternal:
		return "Internal error"
	default:
		return fmt.Sprintf("<unknown error %q>", string(t))
	}
}

// Error is one invalid field: its path, what is wrong, the offending value and a detail.
type Error struct {
	Type     ErrorType
	Field    string
	BadValue any
	Detail   string
}

// omitValue marks a BadValue that must not be printed (TooMany with an unknown count).
type omitValue struct{}

// Error renders "<field>: <body>", e.g. `spec.containers[0].name: Required value`.
func (e *Error) Error() string { return e.Field + ": " + e.ErrorBody() }

// ErrorBody is the message without the field, as Kubernetes words it. Types that describe
// a value print it (strings quoted, numbers and bools bare, anything else as JSON); types
// that describe an absence or a policy do not.
func (e *Error) ErrorBody() string {
	var s string
	switch e.Type {
	case ErrorTypeRequired, ErrorTypeForbidden, ErrorTypeTooLong, ErrorTypeInternal:
		s = e.Type.String()
	case ErrorTypeInvalid, ErrorTypeTypeInvalid, ErrorTypeNotSupported, ErrorTypeNotFound, ErrorTypeDuplicate, ErrorTypeTooMany:
		s = e.Type.String()
		if _, omit := e.BadValue.(omitValue); !omit {
			s += ": " + formatValue(e.BadValue)
		}
	default:
		return InternalError(nil, fmt.Errorf("unhandled error code: %s: please report this", e.Type)).ErrorBody()
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func formatValue(v any) string {
	switch t := v.(type) {
	case int64, int32, float64, float32, bool:
		return fmt.Sprint(t)
	case string:
		return strconv.Quote(t)
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%#v", v)
}

// Required reports a missing value (an empty string, a nil pointer, an empty list).
func Required(path *Path, detail string) *Error {
	return &Error{Type: ErrorTypeRequired, Field: path.String(), BadValue: "", Detail: detail}
}

// Invalid reports a malformed value: a bad name, a number out of range.
func Invalid(path *Path, value any, detail string) *Error {
	return &Error{Type: ErrorTypeInvalid, Field: path.String(), BadValue: value, Detail: detail}
}

// Duplicate reports a value that must be unique and is not.
func Duplicate(path *Path, value any) *Error {
	return &Error{Type: ErrorTypeDuplicate, Field: path.String(), BadValue: value}
}

// NotFound reports a reference to something that does not exist (a volumeMount naming no volume).
func NotFound(path *Path, value any) *Error {
	return &Error{Type: ErrorTypeNotFound, Field: path.String(), BadValue: value}
}

// NotSupported reports a value outside an enumeration, listing the values that are allowed.
func NotSupported[T ~string](path *Path, value any, validValues []T) *Error {
	detail := ""
	if len(validValues) > 0 {
		quoted := make([]string, len(validValues))
		for i, v := range validValues {
			quoted[i] = strconv.Quote(string(v))
		}
		detail = "supported values: " + strings.Join(quoted, ", ")
	}
	return &Error{Type: ErrorTypeNotSupported, Field: path.String(), BadValue: value, Detail: detail}
}

// Forbidden reports a well-formed value that is not allowed here (an immutable field changed).
func Forbidden(path *Path, detail string) *Error {
	return &Error{Type: ErrorTypeForbidden, Field: path.String(), BadValue: "", Detail: detail}
}

// TooLong reports a value longer than maxLength bytes; the value itself is not echoed,
// since it is by definition large. A negative maxLength omits the limit.
func TooLong(path *Path, _ any, maxLength int) *Error {
	msg := "value is too long"
	if maxLength >= 0 {
		unit := "bytes"
		if maxLength == 1 {
			unit = "byte"
		}
		msg = fmt.Sprintf("may not be more than %d %s", maxLength, unit)
	}
	return &Error{Type: ErrorTypeTooLong, Field: path.String(), BadValue: "<value omitted>", Detail: msg}
}

// TooMany reports a list with more than maxQuantity items. Negative arguments are unknown.
func TooMany(path *Path, actualQuantity, maxQuantity int) *Error {
	msg := "has too many items"
	if maxQuantity >= 0 {
		unit := "items"
		if maxQuantity == 1 {
			unit = "item"
		}
		msg = fmt.Sprintf("must have at most %d %s", maxQuantity, unit)
	}
	var actual any = omitValue{}
	if actualQuantity >= 0 {
		actual = actualQuantity
	}
	return &Error{Type: ErrorTypeTooMany, Field: path.String(), BadValue: actual, Detail: msg}
}

// InternalError reports a failure of the server rather than of the input.
func InternalError(path *Path, err error) *Error {
	return &Error{Type: ErrorTypeInternal, Field: path.String(), BadValue: err, Detail: err.Error()}
}

// ErrorList is every problem found in one object; validators append to it and return it.
type ErrorList []*Error

// ToAggregate returns the list as one error, or nil when it is empty. Errors with the same
// text are reported once. One error prints as itself, several as "[a, b]" — Kubernetes'
// aggregate format, which ends up in the Status message after `<Kind> "<name>" is invalid: `.
func (list ErrorList) ToAggregate() error {
	if len(list) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var errs []error
	for _, e := range list {
		msg := e.Error()
		if seen[msg] {
			continue
		}
		seen[msg] = true
		errs = append(errs, e)
	}
	return aggregate(errs)
}

// String is the aggregate message, or "" for an empty list.
func (list ErrorList) String() string {
	if err := list.ToAggregate(); err != nil {
		return err.Error()
	}
	return ""
}

// Causes converts the list into the StatusCauses of an Invalid (422) Status.
func (list ErrorList) Causes() []meta.StatusCause {
	causes := make([]meta.StatusCause, 0, len(list))
	for _, e := range list {
		causes = append(causes, meta.StatusCause{
			Type:    e.Type.CauseType(),
			Message: e.ErrorBody(),
			Field:   e.Field,
		})
	}
	return causes
}

// aggregate is a list of distinct errors; errors.As sees through it to each *Error.
type aggregate []error

func (a aggregate) Error() string {
	if len(a) == 1 {
		return a[0].Error()
	}
	msgs := make([]string, len(a))
	for i, e := range a {
		msgs[i] = e.Error()
	}
	return "[" + strings.Join(msgs, ", ") + "]"
}

func (a aggregate) Unwrap() []error { return a }

// ErrorTypeTypeInvalid is a value of the wrong JSON type (a schema's "type" or "format").
const ErrorTypeTypeInvalid ErrorType = "FieldValueTypeInvalid"

// TypeInvalid reports a value of the wrong type; Kubernetes prints it as "Invalid value".
func TypeInvalid(path *Path, value any, detail string) *Error {
	return &Error{Type: ErrorTypeTypeInvalid, Field: path.String(), BadValue: value, Detail: detail}
}
