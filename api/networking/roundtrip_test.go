package networking_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/networking"
)

func roundTrip[T any](t *testing.T, doc string) *T {
	t.Helper()
	obj := new(T)
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		t.Fatalf("decode: %v", err)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var want, got any
	_ = json.Unmarshal([]byte(doc), &want)
	_ = json.Unmarshal(out, &got)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("round trip changed the object\nwant %s\ngot  %s", doc, out)
	}
	return obj
}

// The JSON of an Ingress as `kubectl get ingress -o json` shows a Kubernetes one.
func TestIngressRoundTrip(t *testing.T) {
	ing := roundTrip[networking.Ingress](t, `{
  "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
  "metadata": {"name": "web", "namespace": "default", "annotations": {"kubernetes.io/ingress.class": "skiff"}},
  "spec": {
    "ingressClassName": "skiff",
    "defaultBackend": {"service": {"name": "fallback", "port": {"name": "http"}}},
    "tls": [{"hosts": ["a.example.com", "*.b.example.com"], "secretName": "tls"}],
    "rules": [
      {"host": "a.example.com", "http": {"paths": [
        {"path": "/api", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"number": 8080}}}},
        {"path": "/static", "pathType": "ImplementationSpecific", "backend": {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "static"}}}
      ]}},
      {"http": {"paths": [{"path": "/", "pathType": "Exact", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
    ]
  },
  "status": {"loadBalancer": {"ingress": [{"ip": "10.250.0.11", "ports": [{"port": 443, "protocol": "TCP", "error": "Pending"}]}, {"hostname": "lb.example.com"}]}}
}`)
	if got := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number; got != 8080 {
		t.Errorf("inline rule value: port = %d", got)
	}
}

func TestIngressClassRoundTrip(t *testing.T) {
	roundTrip[networking.IngressClass](t, `{
  "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
  "metadata": {"name": "skiff", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
  "spec": {"controller": "skiff.dev/ingress", "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p", "scope": "Namespace", "namespace": "team"}}
}`)
}
