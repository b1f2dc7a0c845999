package webhook

import (
	"encoding/json"
	"fmt"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/review"
)

// reviewRequest is one AdmissionReview about to be sent: its uid (checked against the
// answer) and its JSON body.
type reviewRequest struct {
	uid  string
	body []byte
}

// newReview describes the write as Kubernetes' CreateAdmissionObjects does, with a fresh uid.
// The objects are encoded from a as it is now (after the mutations so far).
func newReview(a *admission.Attributes) (*reviewRequest, error) {
	req, err := review.Request(a, true)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: meta.TypeMeta{APIVersion: admissionv1.GroupName + "/" + admissionv1.Version, Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding AdmissionReview: %w", err)
	}
	return &reviewRequest{uid: req.UID, body: body}, nil
}

// verifyResponse is Kubernetes' VerifyAdmissionResponse for admission.k8s.io/v1.
func verifyResponse(uid string, mutating bool, body []byte) (*admissionv1.AdmissionResponse, error) {
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding AdmissionReview: %w", err)
	}
	if r.Response == nil {
		return nil, fmt.Errorf("webhook response was absent")
	}
	if r.Response.UID != uid {
		return nil, fmt.Errorf("expected response.uid=%q, got %q", uid, r.Response.UID)
	}
	if want := admissionv1.GroupName + "/" + admissionv1.Version; r.APIVersion != want || r.Kind != "AdmissionReview" {
		return nil, fmt.Errorf("expected webhook response of %s, Kind=AdmissionReview, got %s, Kind=%s", want, r.APIVersion, r.Kind)
	}
	resp := r.Response
	if mutating {
		if len(resp.Patch) > 0 && resp.PatchType == nil {
			return nil, fmt.Errorf("webhook returned response.patch but not response.patchType")
		}
		if len(resp.Patch) == 0 && resp.PatchType != nil {
			return nil, fmt.Errorf("webhook returned response.patchType but not response.patch")
		}
		if resp.PatchType != nil && *resp.PatchType == "" {
			return nil, fmt.Errorf("webhook returned invalid response.patchType of %q", *resp.PatchType)
		}
	} else {
		if len(resp.Patch) > 0 {
			return nil, fmt.Errorf("validating webhook may not return response.patch")
		}
		if resp.PatchType != nil {
			return nil, fmt.Errorf("validating webhook may not return response.patchType")
		}
	}
	return resp, nil
}
