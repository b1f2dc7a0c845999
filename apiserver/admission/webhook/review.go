package webhook

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/uuid"
	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
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
	k := a.Kind
	gvk := admissionv1.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
	// A subresource whose body is not the parent (an Eviction, a Binding, a Scale) is
	// described by that body's kind, as Kubernetes does.
	if present(a.Object) && reflect.TypeOf(a.Object).Elem() != k.Type {
		if tm := a.Object.GetTypeMeta(); tm.Kind != "" {
			g, v := splitAPIVersion(tm.APIVersion)
			gvk = admissionv1.GroupVersionKind{Group: g, Version: v, Kind: tm.Kind}
		}
	}
	gvr := admissionv1.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
	req := &admissionv1.AdmissionRequest{
		UID: uuid.NewString(), Kind: gvk, Resource: gvr, SubResource: a.Subresource,
		RequestKind: &gvk, RequestResource: &gvr, RequestSubResource: a.Subresource,
		Name: a.Name, Namespace: a.Namespace, Operation: string(a.Operation), DryRun: &a.DryRun,
	}
	if a.User != nil {
		req.UserInfo = authentication.UserInfo{Username: a.User.Name, UID: a.User.UID, Groups: a.User.Groups}
		if len(a.User.Extra) > 0 {
			req.UserInfo.Extra = map[string]authentication.ExtraValue{}
			for key, v := range a.User.Extra {
				req.UserInfo.Extra[key] = v
			}
		}
	}
	var err error
	if req.Object, err = encodeObject(a, a.Object); err != nil {
		return nil, err
	}
	if req.OldObject, err = encodeObject(a, a.OldObject); err != nil {
		return nil, err
	}
	req.Options = options(a)
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: meta.TypeMeta{APIVersion: admissionv1.GroupName + "/" + admissionv1.Version, Kind: "AdmissionReview"},
		Request:  req,
	})
	if err != nil {
		return nil, fmt.Errorf("encoding AdmissionReview: %w", err)
	}
	return &reviewRequest{uid: req.UID, body: body}, nil
}

// encodeObject is the object's JSON with apiVersion and kind set (a webhook decodes by them).
func encodeObject(a *admission.Attributes, o meta.Object) (json.RawMessage, error) {
	if !present(o) {
		return nil, nil
	}
	if tm := o.GetTypeMeta(); tm.Kind == "" && reflect.TypeOf(o).Elem() == a.Kind.Type {
		tm.Kind, tm.APIVersion = a.Kind.Kind, a.Kind.APIVersion()
	}
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", a.Kind.Kind, err)
	}
	return b, nil
}

// options is the operation's options object, as Kubernetes sends it (CreateOptions,
// UpdateOptions, DeleteOptions), carrying dryRun.
func options(a *admission.Attributes) json.RawMessage {
	kind := map[admission.Operation]string{admission.Create: "CreateOptions", admission.Update: "UpdateOptions", admission.Delete: "DeleteOptions"}[a.Operation]
	if kind == "" {
		return nil
	}
	o := map[string]any{"kind": kind, "apiVersion": "meta.k8s.io/v1"}
	if a.DryRun {
		o["dryRun"] = []string{"All"}
	}
	b, _ := json.Marshal(o)
	return b
}

func splitAPIVersion(av string) (group, version string) {
	for i := len(av) - 1; i >= 0; i-- {
		if av[i] == '/' {
			return av[:i], av[i+1:]
		}
	}
	return "", av
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
