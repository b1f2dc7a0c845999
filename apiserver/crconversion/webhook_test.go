package crconversion

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/unstructured"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
)

func widget(version, name, color string) *unstructured.Unstructured {
	u := unstructured.New("example.com/"+version, "Widget")
	u.Name, u.Namespace, u.UID, u.ResourceVersion = name, "ns", "uid-"+name, "7"
	u.Labels = map[string]string{"app": "x"}
	u.Finalizers = []string{"keep"}
	u.Fields = map[string]any{"spec": map[string]any{"color": color}}
	return u
}

// answer builds a webhook's answer to the review body: convert each object with f.
func answer(t *testing.T, body []byte, f func(o map[string]any)) *apiextensions.ConversionReview {
	t.Helper()
	var review apiextensions.ConversionReview
	if err := json.Unmarshal(body, &review); err != nil {
		t.Fatal(err)
	}
	resp := &apiextensions.ConversionResponse{UID: review.Request.UID, Result: meta.Status{Status: meta.StatusSuccess}}
	for _, raw := range review.Request.Objects {
		var o map[string]any
		json.Unmarshal(raw, &o)
		o["apiVersion"] = review.Request.DesiredAPIVersion
		if f != nil {
			f(o)
		}
		b, _ := json.Marshal(o)
		resp.ConvertedObjects = append(resp.ConvertedObjects, b)
	}
	return &apiextensions.ConversionReview{TypeMeta: review.TypeMeta, Response: resp}
}

func TestNewReview(t *testing.T) {
	uid, body, err := NewReview("v1", "example.com/v2", []*unstructured.Unstructured{widget("v1", "a", "red")})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(body, &got)
	if got["apiVersion"] != "apiextensions.k8s.io/v1" || got["kind"] != "ConversionReview" {
		t.Errorf("type: %v %v", got["apiVersion"], got["kind"])
	}
	req := got["request"].(map[string]any)
	if req["uid"] != uid || uid == "" || req["desiredAPIVersion"] != "example.com/v2" {
		t.Errorf("request: %v (uid %q)", req, uid)
	}
	objs := req["objects"].([]any)
	if len(objs) != 1 || objs[0].(map[string]any)["apiVersion"] != "example.com/v1" {
		t.Errorf("objects: %v", objs)
	}
	_, b2, _ := NewReview("v1beta1", "example.com/v2", []*unstructured.Unstructured{widget("v1", "a", "red")})
	if !strings.Contains(string(b2), `"apiVersion":"apiextensions.k8s.io/v1beta1"`) {
		t.Errorf("v1beta1 review: %s", b2)
	}
}

func TestReviewVersion(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{{[]string{"v1", "v1beta1"}, "v1"}, {[]string{"v1beta1", "v1"}, "v1beta1"}, {[]string{"v2", "v1"}, "v1"}, {[]string{"v2"}, ""}} {
		got, err := ReviewVersion(tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("ReviewVersion(%v) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCheckResponse(t *testing.T) {
	objs := []*unstructured.Unstructured{widget("v1", "a", "red"), widget("v1", "b", "blue")}
	uid, body, _ := NewReview("v1", "example.com/v2", objs)
	check := func(r *apiextensions.ConversionReview) ([]*unstructured.Unstructured, error) {
		b, _ := json.Marshal(r)
		return CheckResponse("v1", uid, "example.com/v2", objs, b)
	}
	wantErr := func(name string, r *apiextensions.ConversionReview, msg string) {
		t.Helper()
		_, err := check(r)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, msg)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "conversion webhook for example.com/v1, Kind=Widget ") {
			t.Errorf("%s: err = %v, want it to name the kind", name, err)
		}
	}

	// A conversion that renames spec.color to spec.colour, changes a label, and tries to
	// change the resourceVersion and finalizers.
	good := answer(t, body, func(o map[string]any) {
		spec := o["spec"].(map[string]any)
		spec["colour"] = spec["color"]
		delete(spec, "color")
		md := o["metadata"].(map[string]any)
		md["labels"] = map[string]any{"app": "y"}
		md["resourceVersion"] = "99"
		md["finalizers"] = []any{}
	})
	out, err := check(good)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].APIVersion != "example.com/v2" || out[1].Name != "b" {
		t.Fatalf("out: %+v", out)
	}
	if got := out[0].Fields["spec"].(map[string]any)["colour"]; got != "red" {
		t.Errorf("converted spec: %v", out[0].Fields)
	}
	if out[0].Labels["app"] != "y" || out[0].ResourceVersion != "7" || len(out[0].Finalizers) != 1 {
		t.Errorf("metadata: labels %v, resourceVersion %q, finalizers %v; want the webhook's labels, the rest restored", out[0].Labels, out[0].ResourceVersion, out[0].Finalizers)
	}

	r := answer(t, body, nil)
	r.Response.UID = "other"
	wantErr("wrong uid", r, `failed: expected response.uid="`+uid+`", got "other"`)

	r = answer(t, body, nil)
	r.Response.ConvertedObjects = r.Response.ConvertedObjects[:1]
	wantErr("wrong count", r, "returned 1 objects, expected 2")

	r = answer(t, body, nil)
	r.Response.Result = meta.Status{Status: meta.StatusFailure, Message: "cannot convert red"}
	wantErr("failure with message", r, "failed: cannot convert red")

	r = answer(t, body, nil)
	r.Response.Result = meta.Status{}
	wantErr("no status", r, "response.result.status was '', not 'Success'")

	wantErr("wrong apiVersion", answer(t, body, func(o map[string]any) { o["apiVersion"] = "example.com/v1" }),
		"returned invalid converted object at index 0: invalid groupVersion (expected example.com/v2, received example.com/v1)")
	wantErr("wrong kind", answer(t, body, func(o map[string]any) { o["kind"] = "Gadget" }), "invalid kind (expected Widget, received Gadget)")
	wantErr("renamed", answer(t, body, func(o map[string]any) { o["metadata"].(map[string]any)["name"] = "zz" }), "must have the same name")
	wantErr("new uid", answer(t, body, func(o map[string]any) { o["metadata"].(map[string]any)["uid"] = "zz" }), "must have the same UID")
	wantErr("bad label", answer(t, body, func(o map[string]any) { o["metadata"].(map[string]any)["labels"] = map[string]any{"app": "-bad-"} }),
		"returned invalid metadata in object at index 0")
	r = answer(t, body, nil)
	r.Response = nil
	wantErr("no response", r, "failed: no response provided")
	r = answer(t, body, nil)
	r.APIVersion = "apiextensions.k8s.io/v1beta1"
	wantErr("other review version", r, "expected webhook response of apiextensions.k8s.io/v1, Kind=ConversionReview")
}

// TestConvert: only objects in another version go to the webhook, in one review; the others
// come back as they were, in place.
func TestConvert(t *testing.T) {
	var reviews []int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body json.RawMessage
		json.NewDecoder(r.Body).Decode(&body)
		a := answer(t, body, nil)
		reviews = append(reviews, len(a.Response.ConvertedObjects))
		json.NewEncoder(w).Encode(a)
	}))
	defer srv.Close()
	url := srv.URL
	c := &Converter{Client: webhookclient.New(nil), Webhook: &apiextensions.WebhookConversion{
		ClientConfig:             &apiextensions.WebhookClientConfig{URL: &url, CABundle: pemOf(t, srv)},
		ConversionReviewVersions: []string{"v1"},
	}}
	in := []*unstructured.Unstructured{widget("v1", "a", "red"), widget("v2", "b", "blue"), widget("v1", "c", "green")}
	out, err := c.Convert(context.Background(), in, "example.com/v2")
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 1 || reviews[0] != 2 {
		t.Errorf("reviews sent (objects in each): %v, want [2]", reviews)
	}
	if out[1] != in[1] || out[0].APIVersion != "example.com/v2" || out[2].Name != "c" || in[0].APIVersion != "example.com/v1" {
		t.Errorf("out: %v %v %v (in[0] %v)", out[0].APIVersion, out[1] == in[1], out[2].Name, in[0].APIVersion)
	}
	if _, err := c.Convert(context.Background(), []*unstructured.Unstructured{widget("v2", "b", "blue")}, "example.com/v2"); err != nil || len(reviews) != 1 {
		t.Errorf("nothing to convert: err %v, reviews %v", err, reviews)
	}
	srv.Close()
	_, err = c.Convert(context.Background(), in, "example.com/v2")
	if err == nil || !strings.HasPrefix(err.Error(), "conversion webhook for example.com/v1, Kind=Widget failed: failed to call webhook: ") {
		t.Errorf("unreachable webhook: %v", err)
	}
}

func pemOf(t *testing.T, srv *httptest.Server) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// TestCheckResponseV1beta1: a webhook spoken to in v1beta1 answers in v1beta1, and its
// answer is read as Kubernetes reads it (no check of apiVersion and kind).
func TestCheckResponseV1beta1(t *testing.T) {
	objs := []*unstructured.Unstructured{widget("v1", "a", "red")}
	uid, body, _ := NewReview("v1beta1", "example.com/v2", objs)
	r := answer(t, body, nil)
	if r.APIVersion != "apiextensions.k8s.io/v1beta1" {
		t.Fatalf("review sent as %q", r.APIVersion)
	}
	r.TypeMeta = meta.TypeMeta{}
	b, _ := json.Marshal(r)
	out, err := CheckResponse("v1beta1", uid, "example.com/v2", objs, b)
	if err != nil || out[0].APIVersion != "example.com/v2" {
		t.Errorf("v1beta1 answer: %v, %v", out, err)
	}
}
