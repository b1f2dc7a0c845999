package apiserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/meta"
)

func TestNegotiate(t *testing.T) {
	const pb = "application/vnd.kubernetes.protobuf"
	table := "application/json;as=Table;v=v1;g=meta.k8s.io"
	builtin, custom := offer{protobuf: true}, offer{}
	for _, tc := range []struct {
		name, accept string
		o            offer
		want         format
		ok           bool
	}{
		{"no header", "", builtin, format{enc: encJSON}, true},
		{"json", "application/json", builtin, format{enc: encJSON}, true},
		{"client-go default", pb + ", application/json", builtin, format{enc: encProtobuf}, true},
		{"client-go default, custom resource", pb + ", application/json", custom, format{enc: encJSON}, true},
		{"protobuf only, custom resource", pb, custom, format{}, false},
		{"protobuf only", pb, builtin, format{enc: encProtobuf}, true},
		{"q prefers json", pb + ";q=0.5, application/json", builtin, format{enc: encJSON}, true},
		{"q prefers protobuf", "application/json;q=0.9," + pb, builtin, format{enc: encProtobuf}, true},
		{"q=0 is refused", pb + ";q=0", builtin, format{}, false},
		{"any", "*/*", builtin, format{enc: encJSON}, true},
		{"application/*", "application/*", builtin, format{enc: encJSON}, true},
		{"wildcard after a concrete type of the same q", "*/*," + pb, builtin, format{enc: encProtobuf}, true},
		{"browser", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", builtin, format{enc: encJSON}, true},
		{"html only", "text/html", builtin, format{}, false},
		{"yaml", "application/yaml", builtin, format{enc: encYAML}, true},
		{"yaml watch", "application/yaml", offer{protobuf: true, stream: true}, format{}, false},
		{"protobuf watch", pb + ";stream=watch", offer{protobuf: true, stream: true}, format{enc: encProtobuf}, true},
		{"protobuf watch on a get", pb + ";stream=watch", builtin, format{enc: encProtobuf}, true},
		{"unknown stream", pb + ";stream=other, application/json", builtin, format{enc: encJSON}, true},
		{"json watch", "application/json", offer{protobuf: true, stream: true}, format{enc: encJSON}, true},
		{"kubectl get", table + ",application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", builtin, format{enc: encJSON, table: true}, true},
		{"table only", table, custom, format{enc: encJSON, table: true}, true},
		{"table only, a kind without a table form", table, offer{protobuf: true, noTable: true}, format{}, false},
		{"table or json, a kind without a table form", table + ",application/json", offer{protobuf: true, noTable: true}, format{enc: encJSON}, true},
		{"table in protobuf is skipped", pb + ";as=Table;v=v1;g=meta.k8s.io, application/json", builtin, format{enc: encJSON}, true},
		{"protobuf before table", pb + "," + table, builtin, format{enc: encProtobuf}, true},
		{"partial object metadata falls back", pb + ";as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json", builtin, format{enc: encJSON}, true},
		{"charset ignored", "application/json; charset=utf-8", builtin, format{enc: encJSON}, true},
		{"case-insensitive", "Application/VND.Kubernetes.Protobuf", builtin, format{enc: encProtobuf}, true},
	} {
		got, ok := negotiate(tc.accept, tc.o)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("%s: negotiate(%q) = %+v, %v; want %+v, %v", tc.name, tc.accept, got, ok, tc.want, tc.ok)
		}
	}
}

// TestErrorNegotiation: a Status goes out as the client asked; when nothing it asked for
// can carry one, the error itself is answered in JSON (as Kubernetes does), and a success
// that cannot be carried is a 406.
func TestErrorNegotiation(t *testing.T) {
	serve := func(accept string, h http.HandlerFunc) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Accept", accept)
		withNegotiation(withWarnings(h)).ServeHTTP(rec, req)
		return rec
	}
	notFound := func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, newStatus(http.StatusNotFound, meta.ReasonNotFound, "nope", nil))
	}
	rec := serve("application/vnd.kubernetes.protobuf", notFound)
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/vnd.kubernetes.protobuf" || !strings.HasPrefix(rec.Body.String(), "k8s\x00") {
		t.Errorf("protobuf error: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	rec = serve("text/html", notFound)
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/json" || !strings.Contains(rec.Body.String(), `"message":"nope"`) {
		t.Errorf("unacceptable error: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	rec = serve("text/html", func(w http.ResponseWriter, _ *http.Request) {
		writeAPIObject(w, http.StatusCreated, &meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: meta.StatusSuccess})
	})
	if rec.Code != http.StatusNotAcceptable || !strings.Contains(rec.Body.String(), "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf") {
		t.Errorf("unacceptable success: %d %s", rec.Code, rec.Body.String())
	}
}
