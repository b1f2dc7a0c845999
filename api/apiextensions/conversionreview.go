package apiextensions

import (
	"encoding/json"

	"github.com/skiff-sh/skiff/api/meta"
)

// ConversionReview is what the API server sends a conversion webhook and what the webhook
// answers: apiextensions.k8s.io/v1 ConversionReview (v1beta1's has the same fields).
type ConversionReview struct {
	meta.TypeMeta `json:",inline"`
	// request describes the attributes for the conversion request.
	Request *ConversionRequest `json:"request,omitempty" protobuf:"bytes,1,opt,name=request"`
	// response describes the attributes for the conversion response.
	Response *ConversionResponse `json:"response,omitempty" protobuf:"bytes,2,opt,name=response"`
}

// ConversionRequest describes the conversion request parameters.
type ConversionRequest struct {
	// uid is an identifier for the individual request/response. It allows distinguishing
	// instances of requests which are otherwise identical (parallel requests, etc).
	UID string `json:"uid" protobuf:"bytes,1,name=uid"`
	// desiredAPIVersion is the version to convert given objects to. e.g. "myapi.example.com/v1"
	DesiredAPIVersion string `json:"desiredAPIVersion" protobuf:"bytes,2,name=desiredAPIVersion"`
	// objects is the list of custom resource objects to be converted.
	Objects []json.RawMessage `json:"objects" protobuf:"bytes,3,rep,name=objects"`
}

// ConversionResponse describes a conversion response.
type ConversionResponse struct {
	// uid is an identifier for the individual request/response.
	// This should be copied over from the corresponding `request.uid`.
	UID string `json:"uid" protobuf:"bytes,1,name=uid"`
	// convertedObjects is the list of converted version of `request.objects` if the `result`
	// is successful, otherwise empty. The webhook is expected to set `apiVersion` of these
	// objects to the `request.desiredAPIVersion`. The list must also have the same size as
	// the input list with the same objects in the same order (equal kind, metadata.uid,
	// metadata.name and metadata.namespace). The webhook is allowed to mutate labels and
	// annotations. Any other change to the metadata is silently ignored.
	ConvertedObjects []json.RawMessage `json:"convertedObjects" protobuf:"bytes,2,rep,name=convertedObjects"`
	// result contains the result of conversion with extra details if the conversion failed.
	// `result.status` determines if the conversion failed or succeeded. The `result.status`
	// field is required and represents the success or failure of the conversion. A
	// successful conversion must set `result.status` to `Success`. A failed conversion must
	// set `result.status` to `Failure` and provide more details in `result.message` and
	// return http 200. The `result.message` will be used to construct an error message for
	// the end user.
	Result meta.Status `json:"result" protobuf:"bytes,3,name=result"`
}
