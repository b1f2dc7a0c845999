package meta

// Status is the result of an operation that returns no object, and the body of every error.
type Status struct {
	TypeMeta `json:",inline"`
	ListMeta `json:"metadata" protobuf:"bytes,1,opt,name=metadata"`
	Status   string         `json:"status,omitempty" protobuf:"bytes,2,opt,name=status"`
	Message  string         `json:"message,omitempty" protobuf:"bytes,3,opt,name=message"`
	Reason   string         `json:"reason,omitempty" protobuf:"bytes,4,opt,name=reason"`
	Details  *StatusDetails `json:"details,omitempty" protobuf:"bytes,5,opt,name=details"`
	Code     int32          `json:"code,omitempty" protobuf:"varint,6,opt,name=code"`
}

// Status values.
const (
	StatusSuccess = "Success"
	StatusFailure = "Failure"
)

// StatusDetails names the object an error is about and the individual causes.
type StatusDetails struct {
	Name              string        `json:"name,omitempty" protobuf:"bytes,1,opt,name=name"`
	Group             string        `json:"group,omitempty" protobuf:"bytes,2,opt,name=group"`
	Kind              string        `json:"kind,omitempty" protobuf:"bytes,3,opt,name=kind"`
	UID               string        `json:"uid,omitempty" protobuf:"bytes,6,opt,name=uid"`
	Causes            []StatusCause `json:"causes,omitempty" protobuf:"bytes,4,rep,name=causes"`
	RetryAfterSeconds int32         `json:"retryAfterSeconds,omitempty" protobuf:"varint,5,opt,name=retryAfterSeconds"`
}

// StatusCause is one reason for a failure, usually one invalid field.
type StatusCause struct {
	Type    string `json:"reason,omitempty" protobuf:"bytes,1,opt,name=reason"`
	Message string `json:"message,omitempty" protobuf:"bytes,2,opt,name=message"`
	Field   string `json:"field,omitempty" protobuf:"bytes,3,opt,name=field"`
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
