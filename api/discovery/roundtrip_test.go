package discovery_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/discovery"
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

func TestEndpointSliceRoundTrip(t *testing.T) {
	roundTrip[discovery.EndpointSlice](t, `{
  "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
  "endpoints": [{"addresses": ["10.244.1.7"], "conditions": {"ready": true, "serving": true, "terminating": false}, "hostname": "web-0", "nodeName": "node-1",
    "targetRef": {"kind": "Pod", "name": "web-0", "namespace": "default", "uid": "p1"}, "zone": "z1", "hints": {"forZones": [{"name": "z1"}]}}],
  "metadata": {"generateName": "web-", "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io", "kubernetes.io/service-name": "web"}, "name": "web-abcde", "namespace": "default"},
  "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}, {"name": "", "protocol": "UDP"}]
}`)
}
