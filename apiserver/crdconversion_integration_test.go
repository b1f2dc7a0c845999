package apiserver_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// conversionWebhook is a real HTTPS conversion webhook with a CA of its own: it converts
// paints.example.com between v1 (spec.color) and v2 (spec.paint, the same field renamed),
// or misbehaves as mode says.
type conversionWebhook struct {
	URL      string
	CABundle []byte

	// convert turns one object into version to ("group/version"); paint conversion if nil.
	convert func(o map[string]any, to string)

	mu      sync.Mutex
	mode    string  // "", "fail", "wronguid", "count", "http500", "apiversion"
	reviews [][]any // the objects of each review received
}

func startConversionWebhook(t *testing.T, dnsNames ...string) *conversionWebhook {
	t.Helper()
	ca, err := pki.NewCA("conversion-webhook-ca")
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue(pki.CertRequest{CommonName: "webhook", Usage: pki.ServerAuth,
		DNSNames: append([]string{"localhost"}, dnsNames...), IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	h := &conversionWebhook{CABundle: ca.CertPEM}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(h.serve))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h.URL = srv.URL + "/convert"
	return h
}

func (h *conversionWebhook) setMode(m string) {
	h.mu.Lock()
	h.mode = m
	h.mu.Unlock()
}

// lastReview is the objects of the last review received and how many reviews came.
func (h *conversionWebhook) lastReview() ([]any, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reviews) == 0 {
		return nil, 0
	}
	return h.reviews[len(h.reviews)-1], len(h.reviews)
}

func (h *conversionWebhook) serve(w http.ResponseWriter, r *http.Request) {
	var review struct {
		APIVersion string `json:"apiVersion"`
		Request    struct {
			UID               string           `json:"uid"`
			DesiredAPIVersion string           `json:"desiredAPIVersion"`
			Objects           []map[string]any `json:"objects"`
		} `json:"request"`
	}
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.mu.Lock()
	mode := h.mode
	objs := make([]any, len(review.Request.Objects))
	for i, o := range review.Request.Objects {
		objs[i] = o
	}
	h.reviews = append(h.reviews, objs)
	h.mu.Unlock()
	resp := map[string]any{"uid": review.Request.UID, "result": map[string]any{"status": "Success"}}
	var out []any
	for _, o := range review.Request.Objects {
		if h.convert != nil {
			h.convert(o, review.Request.DesiredAPIVersion)
			o["apiVersion"] = review.Request.DesiredAPIVersion
			out = append(out, o)
			continue
		}
		spec, _ := o["spec"].(map[string]any)
		switch review.Request.DesiredAPIVersion {
		case "example.com/v2":
			if spec != nil {
				spec["paint"] = spec["color"]
				delete(spec, "color")
			}
		case "example.com/v1":
			if spec != nil {
				spec["color"] = spec["paint"]
				delete(spec, "paint")
			}
		}
		o["apiVersion"] = review.Request.DesiredAPIVersion
		if mode == "apiversion" {
			o["apiVersion"] = "example.com/v3"
		}
		out = append(out, o)
	}
	resp["convertedObjects"] = out
	switch mode {
	case "fail":
		resp["convertedObjects"] = []any{}
		resp["result"] = map[string]any{"status": "Failure", "message": "paint is drying"}
	case "wronguid":
		resp["uid"] = "not-the-uid"
	case "count":
		resp["convertedObjects"] = []any{}
	case "http500":
		http.Error(w, "webhook down", 500)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"apiVersion": review.APIVersion, "kind": "ConversionReview", "response": resp})
}

// paintCRD: v1 (storage, spec.color) and v2 (spec.paint), converted by hook, each version
// with its field selectable, status and scale subresources.
func paintCRD(h *conversionWebhook) string {
	version := func(name string, storage bool, field string) apiextensions.CustomResourceDefinitionVersion {
		return apiextensions.CustomResourceDefinitionVersion{Name: name, Served: true, Storage: storage,
			Subresources: &apiextensions.CustomResourceSubresources{Status: &apiextensions.CustomResourceSubresourceStatus{},
				Scale: &apiextensions.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas", StatusReplicasPath: ".status.replicas"}},
			SelectableFields: []apiextensions.SelectableField{{JSONPath: ".spec." + field}},
			Schema: &apiextensions.CustomResourceValidation{OpenAPIV3Schema: &apiextensions.JSONSchemaProps{Type: "object",
				Properties: map[string]apiextensions.JSONSchemaProps{
					"spec": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
						field: {Type: "string"}, "replicas": {Type: "integer"}}},
					"status": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{
						"phase": {Type: "string"}, "replicas": {Type: "integer"}}},
				}}}}
	}
	crd := apiextensions.CustomResourceDefinition{
		TypeMeta:   meta.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: meta.ObjectMeta{Name: "paints.example.com"},
		Spec: apiextensions.CustomResourceDefinitionSpec{Group: "example.com", Scope: apiextensions.NamespaceScoped,
			Names:    apiextensions.CustomResourceDefinitionNames{Plural: "paints", Singular: "paint", Kind: "Paint"},
			Versions: []apiextensions.CustomResourceDefinitionVersion{version("v1", true, "color"), version("v2", false, "paint")},
			Conversion: &apiextensions.CustomResourceConversion{Strategy: apiextensions.WebhookConverter, Webhook: &apiextensions.WebhookConversion{
				ClientConfig:             &apiextensions.WebhookClientConfig{URL: &h.URL, CABundle: h.CABundle},
				ConversionReviewVersions: []string{"v1", "v1beta1"},
			}},
		},
	}
	b, _ := json.Marshal(crd)
	return string(b)
}

// TestCustomResourceWebhookConversion: a definition converted by a webhook serves its objects
// in both versions, whichever version wrote them: reads, lists (one review for the whole
// list), writes, subresources, field selectors over each version's selectableFields, watches;
// and a webhook that fails, answers for another review, loses objects or is down makes the
// request fail with a 500 naming the webhook, writing nothing.
func TestCustomResourceWebhookConversion(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	h := startConversionWebhook(t)
	createCRD(t, a, paintCRD(h))
	patch := func(path, body string) map[string]any {
		t.Helper()
		code, m := a.do("PATCH", path, "application/merge-patch+json", []byte(body))
		if code != 200 {
			t.Fatalf("PATCH %s: %d %v", path, code, m)
		}
		return m
	}
	v1 := "/apis/example.com/v1/namespaces/default/paints"
	v2 := "/apis/example.com/v2/namespaces/default/paints"

	// Written in each version, stored in v1.
	a.must(201, "POST", v1, `{"apiVersion":"example.com/v1","kind":"Paint","metadata":{"name":"red"},"spec":{"color":"red","replicas":1}}`)
	m := a.must(201, "POST", v2, `{"apiVersion":"example.com/v2","kind":"Paint","metadata":{"name":"blue"},"spec":{"paint":"blue","replicas":2}}`)
	if m["apiVersion"] != "example.com/v2" || get(m, "spec", "paint") != "blue" || get(m, "spec", "color") != nil {
		t.Errorf("created through v2: %v", m)
	}
	m = a.must(200, "GET", v1+"/blue", "")
	if m["apiVersion"] != "example.com/v1" || get(m, "spec", "color") != "blue" || get(m, "spec", "paint") != nil {
		t.Errorf("v2 object read through v1 (its stored form): %v", m)
	}
	m = a.must(200, "GET", v2+"/red", "")
	if m["apiVersion"] != "example.com/v2" || get(m, "spec", "paint") != "red" || get(m, "metadata", "uid") == nil {
		t.Errorf("v1 object read through v2: %v", m)
	}

	// A list is converted in one review holding every object.
	_, before := h.lastReview()
	m = a.must(200, "GET", v2, "")
	items, _ := m["items"].([]any)
	objs, after := h.lastReview()
	if len(items) != 2 || after != before+1 || len(objs) != 2 {
		t.Errorf("list through v2: %d items, %d reviews for it, last with %d objects; want 2, 1, 2", len(items), after-before, len(objs))
	}
	for _, it := range items {
		if get(it.(map[string]any), "apiVersion") != "example.com/v2" || get(it.(map[string]any), "spec", "paint") == nil {
			t.Errorf("list item: %v", it)
		}
	}

	// Field selectors over each version's selectableFields.
	names := func(path string) string {
		t.Helper()
		m := a.must(200, "GET", path, "")
		var n []string
		for _, it := range m["items"].([]any) {
			n = append(n, get(it.(map[string]any), "metadata", "name").(string))
		}
		return strings.Join(n, ",")
	}
	if got := names(v2 + "?fieldSelector=spec.paint%3Dblue"); got != "blue" {
		t.Errorf("v2 spec.paint=blue: %q", got)
	}
	if got := names(v1 + "?fieldSelector=spec.color%3Dred"); got != "red" {
		t.Errorf("v1 spec.color=red: %q", got)
	}
	if got := names(v2 + "?fieldSelector=spec.paint!%3Dblue,metadata.name%3Dred"); got != "red" {
		t.Errorf("v2 spec.paint!=blue,metadata.name=red: %q", got)
	}
	if got := names(v2 + "?fieldSelector=spec.paint%3Dred&limit=1"); got != "red" {
		t.Errorf("v2 spec.paint=red, paged: %q", got)
	}
	code, st := a.do("GET", v2+"?fieldSelector=spec.color%3Dred", "", nil)
	if code != 400 || !strings.Contains(fmt.Sprint(st["message"]), `field label not supported: spec.color`) {
		t.Errorf("v1's field through v2: %d %v", code, st["message"])
	}

	// A watch through v2 with a field selector: the object that starts matching is ADDED, the
	// one that stops is DELETED, both in v2.
	rv := get(a.must(200, "GET", v2, ""), "metadata", "resourceVersion").(string)
	ws := openWatch(t, s.HTTPClient(t), s.URL+v2+"?watch=true&fieldSelector=spec.paint%3Dgreen&resourceVersion="+rv)
	patch(v1+"/red", `{"spec":{"color":"green"}}`) // merge patch through v1
	ev := ws.next(t)
	if ev["type"] != "ADDED" || get(ev, "object", "apiVersion") != "example.com/v2" || get(ev, "object", "spec", "paint") != "green" {
		t.Errorf("watch event after turning green: %v", ev)
	}
	// An update through v2 turns it back: the watcher sees it go.
	cur := a.must(200, "GET", v2+"/red", "")
	cur["spec"].(map[string]any)["paint"] = "red"
	b, _ := json.Marshal(cur)
	a.must(200, "PUT", v2+"/red", string(b))
	ev = ws.next(t)
	if ev["type"] != "DELETED" || get(ev, "object", "spec", "paint") != "green" || get(ev, "object", "apiVersion") != "example.com/v2" {
		t.Errorf("watch event after turning red again: %v", ev)
	}
	if m := a.must(200, "GET", v1+"/red", ""); get(m, "spec", "color") != "red" {
		t.Errorf("stored after a v2 update: %v", m)
	}

	// Subresources through v2: status and scale.
	cur = a.must(200, "GET", v2+"/blue", "")
	cur["status"] = map[string]any{"phase": "Dry", "replicas": 2}
	b, _ = json.Marshal(cur)
	m = a.must(200, "PUT", v2+"/blue/status", string(b))
	if get(m, "status", "phase") != "Dry" || get(m, "apiVersion") != "example.com/v2" {
		t.Errorf("status through v2: %v", m)
	}
	m = a.must(200, "GET", v2+"/blue/scale", "")
	if get(m, "spec", "replicas") != float64(2) || get(m, "status", "replicas") != float64(2) {
		t.Errorf("scale through v2: %v", m)
	}
	m = patch(v2+"/blue/scale", `{"spec":{"replicas":5}}`)
	if get(m, "spec", "replicas") != float64(5) {
		t.Errorf("scale patch through v2: %v", m)
	}
	if m := a.must(200, "GET", v1+"/blue", ""); get(m, "spec", "replicas") != float64(5) || get(m, "spec", "color") != "blue" {
		t.Errorf("stored after scaling: %v", m)
	}

	// A watch that is open when the webhook starts failing reports an ERROR event.
	rv = get(a.must(200, "GET", v1, ""), "metadata", "resourceVersion").(string)
	ws = openWatch(t, s.HTTPClient(t), s.URL+v2+"?watch=true&resourceVersion="+rv)
	h.setMode("fail")
	patch(v1+"/blue", `{"metadata":{"labels":{"x":"y"}}}`) // v1 needs no conversion
	ev = ws.next(t)
	if ev["type"] != "ERROR" || get(ev, "object", "code") != float64(500) ||
		!strings.Contains(fmt.Sprint(get(ev, "object", "message")), "conversion webhook for example.com/v1, Kind=Paint failed: paint is drying") {
		t.Errorf("watch event with a failing webhook: %v", ev)
	}

	// Each kind of bad answer: the request fails with a 500, nothing is written.
	for _, tc := range []struct{ mode, want string }{
		{"fail", "conversion webhook for example.com/v1, Kind=Paint failed: paint is drying"},
		{"wronguid", `failed: expected response.uid=`},
		{"count", "returned 0 objects, expected 1"},
		{"apiversion", "invalid groupVersion (expected example.com/v2, received example.com/v3)"},
		{"http500", "the server responded with the status code 500"},
	} {
		h.setMode(tc.mode)
		code, st := a.do("GET", v2+"/red", "", nil)
		if code != 500 || st["reason"] != "InternalError" || !strings.Contains(fmt.Sprint(st["message"]), tc.want) {
			t.Errorf("%s: GET through v2: %d %v; want 500 with %q", tc.mode, code, st["message"], tc.want)
		}
		code, _ = a.do("GET", v2, "", nil)
		if code != 500 {
			t.Errorf("%s: LIST through v2: %d, want 500", tc.mode, code)
		}
		code, _ = a.do("POST", v2, "", []byte(`{"metadata":{"name":"new-`+tc.mode+`"},"spec":{"paint":"pink"}}`))
		if code != 500 {
			t.Errorf("%s: create through v2: %d, want 500", tc.mode, code)
		}
		if code, _ := a.do("GET", v1+"/new-"+tc.mode, "", nil); code != 404 {
			t.Errorf("%s: a failed create left an object: %d", tc.mode, code)
		}
		code, _ = a.do("PATCH", v2+"/red", "application/merge-patch+json", []byte(`{"spec":{"paint":"pink"}}`))
		if code != 500 {
			t.Errorf("%s: patch through v2: %d, want 500", tc.mode, code)
		}
		code, _ = a.do("DELETE", v2+"/red", "", nil)
		if code != 500 {
			t.Errorf("%s: delete through v2: %d, want 500", tc.mode, code)
		}
		code, _ = a.do("DELETE", v2, "", nil)
		if code != 500 {
			t.Errorf("%s: deletecollection through v2: %d, want 500", tc.mode, code)
		}
		// The storage version needs no webhook.
		if m := a.must(200, "GET", v1+"/red", ""); get(m, "spec", "color") != "red" {
			t.Errorf("%s: stored object after failed writes and deletes: %v", tc.mode, m)
		}
	}
	h.setMode("")
	a.must(200, "GET", v2+"/red", "")

	// Objects of several stored versions: after the storage version moves to v2, a list
	// through either version converts the objects stored in the other.
	crd := a.must(200, "GET", crdsPath+"/paints.example.com", "")
	vs := get(crd, "spec", "versions").([]any)
	vs[0].(map[string]any)["storage"], vs[1].(map[string]any)["storage"] = false, true
	b, _ = json.Marshal(crd)
	a.must(200, "PUT", crdsPath+"/paints.example.com", string(b))
	harness.Eventually(t, 20*time.Second, "v2 objects stored as v2", func() (bool, string) {
		code, m := a.do("POST", v1, "", []byte(`{"metadata":{"name":"mauve"},"spec":{"color":"mauve"}}`))
		if code != 201 {
			return false, fmt.Sprint(code, m)
		}
		resp, err := s.Etcd.Get(context.Background(), "/registry/example.com/paints/default/mauve")
		if err != nil || len(resp.Kvs) == 0 {
			return false, fmt.Sprint("etcd: ", err)
		}
		raw := string(resp.Kvs[0].Value)
		if !strings.Contains(raw, `"apiVersion":"example.com/v2"`) {
			a.do("DELETE", v1+"/mauve", "", nil)
			return false, raw
		}
		return true, ""
	})
	for _, v := range []string{"v1", "v2"} {
		m := a.must(200, "GET", "/apis/example.com/"+v+"/namespaces/default/paints", "")
		field := map[string]string{"v1": "color", "v2": "paint"}[v]
		got := map[string]any{}
		for _, it := range m["items"].([]any) {
			it := it.(map[string]any)
			if it["apiVersion"] != "example.com/"+v {
				t.Errorf("list through %s: item in %v", v, it["apiVersion"])
			}
			got[get(it, "metadata", "name").(string)] = get(it, "spec", field)
		}
		if fmt.Sprint(got) != "map[blue:blue mauve:mauve red:red]" {
			t.Errorf("mixed list through %s: %v", v, got)
		}
	}
	// deletecollection selects as a list does (the conformance selectable-fields spec
	// deletes by a converted version's fields).
	listed := names(v2)
	gone := a.must(200, "DELETE", v2+"?fieldSelector=spec.paint%3Dblue", "")
	if items, _ := gone["items"].([]any); len(items) != 1 || get(items[0].(map[string]any), "metadata", "name") != "blue" {
		t.Errorf("deletecollection spec.paint=blue from %q deleted %v", listed, gone["items"])
	}
	if got := names(v2 + "?fieldSelector=spec.paint%3Dblue"); got != "" {
		t.Errorf("after deletecollection, spec.paint=blue lists %q", got)
	}
}

// TestCustomResourceConversionConformance follows the two conformance specs of
// test/e2e/apimachinery/crd_conversion_webhook.go (v1.33) with the conversion agnhost's
// crd-conversion-webhook does (v1 hostPort "host:port" is v2 host and port, top-level
// fields), reached as they reach it: through a Service (port 9443 to the webhook's own port,
// path /crdconvert) whose EndpointSlice names the webhook, with the certificate for
// SERVICE.NAMESPACE.svc. "should be able to convert from CR v1 to CR v2": a v1 object read
// through v2. "should be able to convert a non homogeneous list of CRs": after the storage
// version moves from v1 to v2, a list through either version holds both objects in it.
// agnhostWebhook starts a conversion webhook as the conformance specs deploy agnhost's
// crd-conversion-webhook: behind the Service e2e-test-crd-conversion-webhook (port 9443 to
// the webhook's own port, path /crdconvert), its EndpointSlice naming the webhook, the
// certificate for the Service's name; it converts v1 hostPort "host:port" to v2 host and
// port (top-level fields) and back. It returns the CRD e2e-test-crds.stable.example.com
// converted by it, with the selectable-fields spec's selectableFields if selectable.
func agnhostWebhook(t *testing.T, a *api, selectable bool) string {
	t.Helper()
	const svc = "e2e-test-crd-conversion-webhook"
	h := startConversionWebhook(t, svc+".default.svc")
	h.convert = func(o map[string]any, to string) {
		switch to {
		case "stable.example.com/v2":
			if hp, ok := o["hostPort"].(string); ok {
				delete(o, "hostPort")
				host, port, _ := strings.Cut(hp, ":")
				o["host"], o["port"] = host, port
			}
		case "stable.example.com/v1":
			host, hasHost := o["host"].(string)
			port, hasPort := o["port"].(string)
			if hasHost || hasPort {
				delete(o, "host")
				delete(o, "port")
				o["hostPort"] = host + ":" + port
			}
		}
	}
	_, portStr, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(h.URL, "/convert"), "https://"))
	a.must(201, "POST", "/api/v1/namespaces/default/services", `{"metadata":{"name":"`+svc+`"},
		"spec":{"ports":[{"protocol":"TCP","port":9443,"targetPort":`+portStr+`}]}}`)
	a.must(201, "POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", `{"metadata":{"name":"`+svc+`-1",
		"labels":{"kubernetes.io/service-name":"`+svc+`"}},"addressType":"IPv4",
		"endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true}}],"ports":[{"port":`+portStr+`,"protocol":"TCP"}]}`)

	version := func(name string, storage bool, fields ...string) map[string]any {
		props := map[string]any{}
		var sf []any
		for _, f := range fields {
			props[f] = map[string]any{"type": "string"}
			sf = append(sf, map[string]any{"jsonPath": "." + f})
		}
		v := map[string]any{"name": name, "served": true, "storage": storage,
			"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": props}}}
		if selectable {
			v["selectableFields"] = sf
		}
		return v
	}
	crd := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "e2e-test-crds.stable.example.com"},
		"spec": map[string]any{
			"group": "stable.example.com", "scope": "Namespaced",
			"names":    map[string]any{"plural": "e2e-test-crds", "singular": "e2e-test-crd", "kind": "E2eTestCrd", "listKind": "E2eTestCrdList"},
			"versions": []any{version("v1", true, "hostPort"), version("v2", false, "host", "port")},
			"conversion": map[string]any{"strategy": "Webhook", "webhook": map[string]any{
				"clientConfig": map[string]any{"caBundle": h.CABundle,
					"service": map[string]any{"namespace": "default", "name": svc, "path": "/crdconvert", "port": 9443}},
				"conversionReviewVersions": []string{"v1", "v1beta1"},
			}},
			"preserveUnknownFields": false,
		},
	}
	b, _ := json.Marshal(crd)
	return string(b)
}

func TestCustomResourceConversionConformance(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, agnhostWebhook(t, a, false))
	base := func(v string) string { return "/apis/stable.example.com/" + v + "/namespaces/default/e2e-test-crds" }

	// waitWebhookConversionReady: a stub created through v2 (converted to v1 to be stored),
	// then deleted through v2.
	a.must(201, "POST", base("v2"), `{"apiVersion":"stable.example.com/v2","kind":"E2eTestCrd","metadata":{"name":"stub"}}`)
	a.must(200, "DELETE", base("v2")+"/stub", "")

	// should be able to convert from CR v1 to CR v2
	a.must(201, "POST", base("v1"), `{"apiVersion":"stable.example.com/v1","kind":"E2eTestCrd","metadata":{"name":"cr-instance-1"},"hostPort":"localhost:8080"}`)
	v2 := a.must(200, "GET", base("v2")+"/cr-instance-1", "")
	if v2["apiVersion"] != "stable.example.com/v2" || v2["host"] != "localhost" || v2["port"] != "8080" || v2["hostPort"] != nil {
		t.Errorf("v1 object read through v2: %v", v2)
	}

	// should be able to convert a non homogeneous list of CRs
	cur := a.must(200, "GET", crdsPath+"/e2e-test-crds.stable.example.com", "")
	vs := get(cur, "spec", "versions").([]any)
	vs[0].(map[string]any)["storage"], vs[1].(map[string]any)["storage"] = false, true
	b, _ := json.Marshal(cur)
	a.must(200, "PUT", crdsPath+"/e2e-test-crds.stable.example.com", string(b))
	harness.Eventually(t, 20*time.Second, "a v1 object stored as v2", func() (bool, string) {
		code, m := a.do("POST", base("v1"), "", []byte(`{"apiVersion":"stable.example.com/v1","kind":"E2eTestCrd","metadata":{"name":"cr-instance-2"},"hostPort":"localhost:8080"}`))
		if code != 201 {
			return false, fmt.Sprint(code, m)
		}
		resp, err := s.Etcd.Get(context.Background(), "/registry/stable.example.com/e2e-test-crds/default/cr-instance-2")
		if err != nil || len(resp.Kvs) == 0 {
			return false, fmt.Sprint("etcd: ", err)
		}
		if raw := string(resp.Kvs[0].Value); !strings.Contains(raw, `"apiVersion":"stable.example.com/v2"`) {
			a.do("DELETE", base("v1")+"/cr-instance-2", "", nil)
			return false, "stored as " + raw
		}
		return true, ""
	})
	if resp, err := s.Etcd.Get(context.Background(), "/registry/stable.example.com/e2e-test-crds/default/cr-instance-1"); err != nil || len(resp.Kvs) == 0 ||
		!strings.Contains(string(resp.Kvs[0].Value), `"apiVersion":"stable.example.com/v1"`) {
		t.Fatalf("cr-instance-1 should still be stored as v1: %v %v", err, resp)
	}
	for _, v := range []string{"v1", "v2"} {
		list := a.must(200, "GET", base(v), "")
		items := list["items"].([]any)
		var names []string
		for _, it := range items {
			it := it.(map[string]any)
			names = append(names, get(it, "metadata", "name").(string))
			ok := it["apiVersion"] == "stable.example.com/"+v
			if v == "v1" {
				ok = ok && it["hostPort"] == "localhost:8080" && it["host"] == nil && it["port"] == nil
			} else {
				ok = ok && it["host"] == "localhost" && it["port"] == "8080" && it["hostPort"] == nil
			}
			if !ok {
				t.Errorf("list through %s: item %v", v, it)
			}
		}
		if strings.Join(names, ",") != "cr-instance-1,cr-instance-2" {
			t.Errorf("list through %s: %v", v, names)
		}
	}
}

// TestCustomResourceFieldSelectorsConformance follows the conformance spec "MUST list and
// watch custom resources matching the field selector" (test/e2e/apimachinery/
// crd_selectable_fields.go, v1.33): v1 selects by hostPort, v2 by host and port, the
// objects are written through v2 and stored as v1; lists and watches in both versions see
// exactly the matching objects; a deletecollection by a v2 field selector and an update that
// moves an object out of a selection are seen as DELETED.
func TestCustomResourceFieldSelectorsConformance(t *testing.T) {
	a, s := newAPI(t, harness.ServerOptions{})
	createCRD(t, a, agnhostWebhook(t, a, true))
	base := func(v string) string { return "/apis/stable.example.com/" + v + "/namespaces/default/e2e-test-crds" }
	watch := func(v, sel string) *watchStream {
		return openWatch(t, s.HTTPClient(t), s.URL+base(v)+"?watch=true&fieldSelector="+url.QueryEscape(sel))
	}
	v2host, v2hostPort, v1hostPort := watch("v2", "host=host1"), watch("v2", "host=host1,port=80"), watch("v1", "hostPort=host1:80")

	for i, spec := range []string{`"host":"host1","port":"80"`, `"host":"host1","port":"8080"`, `"host":"host2"`} {
		a.must(201, "POST", base("v2"), fmt.Sprintf(`{"apiVersion":"stable.example.com/v2","kind":"E2eTestCrd","metadata":{"name":"cr%d"},%s}`, i, spec))
	}
	names := func(v, sel string) string {
		t.Helper()
		m := a.must(200, "GET", base(v)+"?fieldSelector="+url.QueryEscape(sel), "")
		var n []string
		for _, it := range m["items"].([]any) {
			n = append(n, get(it.(map[string]any), "metadata", "name").(string))
		}
		return strings.Join(n, ",")
	}
	for _, tc := range []struct{ v, sel, want string }{
		{"v2", "host=host1", "cr0,cr1"}, {"v2", "host=host1,port=80", "cr0"},
		{"v1", "hostPort=host1:80", "cr0"}, {"v1", "hostPort=host1:8080", "cr1"},
	} {
		if got := names(tc.v, tc.sel); got != tc.want {
			t.Errorf("list %s %s: %q, want %q", tc.v, tc.sel, got, tc.want)
		}
	}
	// events reads n events (or what came within 10s each).
	events := func(ws *watchStream, n int) string {
		t.Helper()
		var got []string
		for i := 0; i < n; i++ {
			select {
			case ev, ok := <-ws.events:
				if !ok {
					return strings.Join(append(got, "(closed)"), ",")
				}
				got = append(got, fmt.Sprint(ev["type"], " ", get(ev, "object", "metadata", "name")))
				if ev["type"] == "ERROR" {
					got = append(got, fmt.Sprint(get(ev, "object", "message")))
				}
			case <-time.After(10 * time.Second):
				return strings.Join(append(got, "(none within 10s)"), ",")
			}
		}
		return strings.Join(got, ",")
	}
	if got := events(v2host, 2); got != "ADDED cr0,ADDED cr1" {
		t.Errorf("v2 host=host1 watch: %s", got)
	}
	if got := events(v2hostPort, 1); got != "ADDED cr0" {
		t.Errorf("v2 host=host1,port=80 watch: %s", got)
	}
	if got := events(v1hostPort, 1); got != "ADDED cr0" {
		t.Errorf("v1 hostPort=host1:80 watch: %s", got)
	}

	// deletecollection by a v2 field selector, then an update through v2 that moves cr1 out.
	code, st := a.do("DELETE", base("v2")+"?fieldSelector="+url.QueryEscape("host=host1,port=80"), "", []byte(`{"gracePeriodSeconds":0}`))
	if code != 200 {
		t.Fatalf("deletecollection host=host1,port=80: %d %v", code, st)
	}
	cur := a.must(200, "GET", base("v2")+"/cr1", "")
	cur["host"] = "host2"
	b, _ := json.Marshal(cur)
	a.must(200, "PUT", base("v2")+"/cr1", string(b))
	for _, tc := range []struct{ v, sel string }{{"v2", "host=host1"}, {"v2", "host=host1,port=80"}} {
		if got := names(tc.v, tc.sel); got != "" {
			t.Errorf("list %s %s after the delete and update: %q", tc.v, tc.sel, got)
		}
	}
	if got := names("v2", ""); got != "cr1,cr2" {
		t.Errorf("everything left: %q, want cr1,cr2 (deletecollection deleted only the match)", got)
	}
	if got := events(v2host, 2); got != "DELETED cr0,DELETED cr1" {
		t.Errorf("v2 host=host1 watch after: %s", got)
	}
	if got := events(v2hostPort, 1); got != "DELETED cr0" {
		t.Errorf("v2 host=host1,port=80 watch after: %s", got)
	}
	if got := events(v1hostPort, 1); got != "DELETED cr0" {
		t.Errorf("v1 hostPort=host1:80 watch after: %s", got)
	}
}
