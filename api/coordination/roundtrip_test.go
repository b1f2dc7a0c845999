package coordination_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/coordination"
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

func TestLeaseRoundTrip(t *testing.T) {
	roundTrip[coordination.Lease](t, `{
  "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
  "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
  "spec": {"acquireTime": "2024-05-01T10:00:00.000000Z", "holderIdentity": "node-1", "leaseDurationSeconds": 40, "leaseTransitions": 0, "renewTime": "2024-05-01T10:00:30.123456Z"}
}`)
}
