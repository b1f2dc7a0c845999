// Package crconversion converts custom resources between the versions of their
// CustomResourceDefinition through the definition's conversion webhook (strategy Webhook), as
// Kubernetes' apiextensions-apiserver webhook converter does: the objects that are not in the
// desired version go to the webhook in one apiextensions.k8s.io ConversionReview, and the
// answer is checked before anything uses it: the same uid, as many objects as were sent, each
// in the desired apiVersion with the original's kind, name, namespace and uid. The webhook may
// change labels and annotations; every other metadata field is restored from the original, so
// a webhook cannot rewrite resourceVersions, owner references or finalizers.
package crconversion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/api/validation"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
)

// Timeout bounds one call, as kube-apiserver's conversion webhook client does (30s; a
// definition cannot change it).
const Timeout = 30 * time.Second

// SupportedReviewVersions are the ConversionReview versions this server speaks, preferred first.
var SupportedReviewVersions = []string{"v1", "v1beta1"}

// ReviewVersion is the first of the webhook's conversionReviewVersions the server speaks.
func ReviewVersion(versions []string) (string, error) {
	for _, v := range versions {
		if slices.Contains(SupportedReviewVersions, v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("webhook does not accept v1 or v1beta1 ConversionReview")
}

// ClientConfig is the definition's webhook as the shared client takes it.
func ClientConfig(cc *apiextensions.WebhookClientConfig) webhookclient.ClientConfig {
	if cc == nil {
		return webhookclient.ClientConfig{}
	}
	out := webhookclient.ClientConfig{URL: cc.URL, CABundle: cc.CABundle}
	if s := cc.Service; s != nil {
		out.Service = &webhookclient.ServiceReference{Namespace: s.Namespace, Name: s.Name, Path: s.Path, Port: s.Port}
	}
	return out
}

// Converter calls one definition's conversion webhook.
type Converter struct {
	Client  *webhookclient.Client
	Webhook *apiextensions.WebhookConversion
	Timeout time.Duration // 0: Timeout
}

// Convert returns objs in the desired apiVersion ("group/version"), in order. Objects in that
// version already are returned as they are and not sent; the others go in one review. objs
// are not modified. An error is worded as Kubernetes words it: "conversion webhook for
// GROUP/VERSION, Kind=KIND failed: ...".
func (c *Converter) Convert(ctx context.Context, objs []*unstructured.Unstructured, desired string) ([]*unstructured.Unstructured, error) {
	out := slices.Clone(objs)
	var send []*unstructured.Unstructured
	var at []int
	for i, o := range objs {
		if o.APIVersion != desired {
			send = append(send, o)
			at = append(at, i)
		}
	}
	if len(send) == 0 {
		return out, nil
	}
	what := gvk(send[0])
	version, err := ReviewVersion(c.Webhook.ConversionReviewVersions)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %s failed: %w", what, err)
	}
	uid, body, err := NewReview(version, desired, send)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %s failed: %w", what, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = Timeout
	}
	answer, err := c.Client.Post(ctx, ClientConfig(c.Webhook.ClientConfig), timeout, body)
	if err != nil {
		return nil, fmt.Errorf("conversion webhook for %s failed: %w", what, err)
	}
	converted, err := CheckResponse(version, uid, desired, send, answer)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		out[i] = converted[j]
	}
	return out, nil
}

// gvk names an object as Kubernetes' errors do: "group/version, Kind=Kind".
func gvk(o *unstructured.Unstructured) string {
	return o.APIVersion + ", Kind=" + o.Kind
}

// NewReview is the ConversionReview (in review version version) asking for objs in desired,
// with a fresh uid.
func NewReview(version, desired string, objs []*unstructured.Unstructured) (uid string, body []byte, err error) {
	req := &apiextensions.ConversionRequest{UID: uuid.NewString(), DesiredAPIVersion: desired,
		Objects: make([]json.RawMessage, len(objs))}
	for i, o := range objs {
		if req.Objects[i], err = json.Marshal(o); err != nil {
			return "", nil, fmt.Errorf("encoding object %d: %w", i, err)
		}
	}
	body, err = json.Marshal(apiextensions.ConversionReview{
		TypeMeta: meta.TypeMeta{APIVersion: apiextensions.GroupName + "/" + version, Kind: "ConversionReview"},
		Request:  req,
	})
	return req.UID, body, err
}

// CheckResponse reads a webhook's answer to the review uid that sent objs, and returns the
// converted objects with their metadata restored (labels and annotations excepted).
func CheckResponse(version, uid, desired string, objs []*unstructured.Unstructured, answer []byte) ([]*unstructured.Unstructured, error) {
	what := gvk(objs[0])
	fail := func(format string, args ...any) error {
		return fmt.Errorf("conversion webhook for %s %s", what, fmt.Sprintf(format, args...))
	}
	var review apiextensions.ConversionReview
	if err := json.Unmarshal(answer, &review); err != nil {
		return nil, fail("failed: %v", err)
	}
	want := apiextensions.GroupName + "/" + version
	// A v1beta1 answer was never checked for its apiVersion and kind upstream; v1's is.
	if version == "v1" && (review.APIVersion != want || review.Kind != "ConversionReview") {
		return nil, fail("failed: expected webhook response of %s, Kind=ConversionReview, got %s, Kind=%s", want, review.APIVersion, review.Kind)
	}
	r := review.Response
	if r == nil {
		return nil, fail("failed: no response provided")
	}
	if r.UID != uid {
		return nil, fail("failed: expected response.uid=%q, got %q", uid, r.UID)
	}
	if r.Result.Status != meta.StatusSuccess {
		if r.Result.Message != "" {
			return nil, fail("failed: %s", r.Result.Message)
		}
		return nil, fail("failed: response.result.status was '%s', not 'Success'", r.Result.Status)
	}
	if len(r.ConvertedObjects) != len(objs) {
		return nil, fail("returned %d objects, expected %d", len(r.ConvertedObjects), len(objs))
	}
	out := make([]*unstructured.Unstructured, len(objs))
	for i, raw := range r.ConvertedObjects {
		orig := objs[i]
		c := &unstructured.Unstructured{}
		if err := json.Unmarshal(raw, c); err != nil {
			return nil, fail("returned invalid converted object at index %d: %v", i, err)
		}
		if c.APIVersion != desired {
			return nil, fail("returned invalid converted object at index %d: invalid groupVersion (expected %s, received %s)", i, desired, c.APIVersion)
		}
		if c.Kind != orig.Kind {
			return nil, fail("returned invalid converted object at index %d: invalid kind (expected %s, received %s)", i, orig.Kind, c.Kind)
		}
		if err := sameIdentity(orig, c); err != nil {
			return nil, fail("returned invalid converted object at index %d: %v", i, err)
		}
		if err := restoreObjectMeta(orig, c); err != nil {
			return nil, fail("returned invalid metadata in object at index %d: %v", i, err)
		}
		out[i] = c
	}
	return out, nil
}

// sameIdentity: a converted object is the same object (Kubernetes' validateConvertedObject).
func sameIdentity(in, out *unstructured.Unstructured) error {
	switch {
	case in.Name != out.Name:
		return fmt.Errorf("must have the same name: %v != %v", in.Name, out.Name)
	case in.Namespace != out.Namespace:
		return fmt.Errorf("must have the same namespace: %v != %v", in.Namespace, out.Namespace)
	case in.UID != out.UID:
		return fmt.Errorf("must have the same UID: %v != %v", in.UID, out.UID)
	}
	return nil
}

// restoreObjectMeta gives converted the original's metadata, keeping the labels and
// annotations the webhook answered (which must be valid).
func restoreObjectMeta(orig, converted *unstructured.Unstructured) error {
	labels, annotations := converted.Labels, converted.Annotations
	var errs field.ErrorList
	errs = append(errs, validation.ValidateLabels(labels, field.NewPath("metadata", "labels"))...)
	errs = append(errs, validation.ValidateAnnotations(annotations, field.NewPath("metadata", "annotations"))...)
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, ", "))
	}
	b, err := json.Marshal(&orig.ObjectMeta)
	if err != nil {
		return err
	}
	converted.ObjectMeta = meta.ObjectMeta{}
	if err := json.Unmarshal(b, &converted.ObjectMeta); err != nil {
		return err
	}
	converted.Labels, converted.Annotations = labels, annotations
	return nil
}
