package meta

// Status is the result of an operation that returns no object, and the body of every error.
type Status struct {
	TypeMeta `json:",inline"`
	ListMeta `json:"metadata"`
	Status   string         `json:"status,omitempty"`
	Message  string         `json:"message,omitempty"`
	Reason   string         `json:"reason,omitempty"`
	Details  *StatusDetails `json:"details,omitempty"`
	Code     int32          `json:"code,omitempty"`
}

// Status values.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// StatusDetails names the object an error is about and the individual causes.
type StatusDetails struct {
	Name              string        `json:"name,omitempty"`
	Group             string        `json:"group,omitempty"`
	Kind              string        `json:"kind,omitempty"`
	UID               string        `json:"uid,omitempty"`
	Causes            []StatusCause `json:"causes,omitempty"`
	RetryAfterSeconds int32         `json:"retryAfterSeconds,omitempty"`
}

// StatusCause is one reason for a failure, usually one invalid field.
type StatusCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// Status reasons, as Kubernetes spells them.
const (
	ReasonUnknown               = ""
	ReasonUnauthorized          = "Unauthorized"
	ReasonForbidden             = "Forbidden"
	ReasonNotFound              = "NotFound"
	ReasonAlreadyExists         = "AlreadyExists"
	ReasonConflict              = "Conflict"
	ReasonGone                  = "Gone"
	ReasonInvalid               = "Invalid"
	ReasonServerTimeout         = "ServerTimeout"
	ReasonTimeout               = "Timeout"
	ReasonTooManyRequests       = "TooManyRequests"
	ReasonBadRequest            = "BadRequest"
	ReasonMethodNotAllowed      = "MethodNotAllowed"
	ReasonNotAcceptable         = "NotAcceptable"
	ReasonRequestEntityTooLarge = "RequestEntityTooLarge"
	ReasonUnsupportedMediaType  = "UnsupportedMediaType"
	ReasonInternalError         = "InternalError"
	ReasonExpired               = "Expired"
	ReasonServiceUnavailable    = "ServiceUnavailable"
)

// Status cause types (the "reason" of a cause), as field validation reports them.
const (
	CauseTypeFieldValueNotFound       = "FieldValueNotFound"
	CauseTypeFieldValueRequired       = "FieldValueRequired"
	CauseTypeFieldValueDuplicate      = "FieldValueDuplicate"
	CauseTypeFieldValueInvalid        = "FieldValueInvalid"
	CauseTypeFieldValueNotSupported   = "FieldValueNotSupported"
	CauseTypeFieldValueForbidden      = "FieldValueForbidden"
	CauseTypeFieldValueTooLong        = "FieldValueTooLong"
	CauseTypeFieldValueTooMany        = "FieldValueTooMany"
	CauseTypeInternal                 = "InternalError"
	CauseTypeUnexpectedServerResponse = "UnexpectedServerResponse"
	CauseTypeFieldManagerConflict     = "FieldManagerConflict"
	CauseTypeResourceVersionTooLarge  = "ResourceVersionTooLarge"
)
