package rbac_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/authorization"
	"github.com/skiff-sh/skiff/api/rbac"
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

// Documents as a Kubernetes 1.33 server returns them.
func TestRoundTrip(t *testing.T) {
	roundTrip[rbac.ClusterRole](t, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
  "metadata":{"name":"admin","labels":{"kubernetes.io/bootstrapping":"rbac-defaults"},"annotations":{"rbac.authorization.kubernetes.io/autoupdate":"true"}},
  "aggregationRule":{"clusterRoleSelectors":[{"matchLabels":{"rbac.authorization.k8s.io/aggregate-to-admin":"true"}}]},
  "rules":[{"apiGroups":[""],"resources":["pods","pods/log"],"verbs":["get","list"]},{"nonResourceURLs":["/healthz","/livez*"],"verbs":["get"]},
    {"apiGroups":["apps"],"resources":["deployments"],"resourceNames":["web"],"verbs":["update"]}]}`)
	roundTrip[rbac.ClusterRole](t, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"empty"},"rules":null}`)
	roundTrip[rbac.RoleBinding](t, `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"b","namespace":"default"},
  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},
  "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"alice"},{"kind":"ServiceAccount","name":"default","namespace":"default"}]}`)
	roundTrip[authorization.SubjectAccessReview](t, `{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","metadata":{},
  "spec":{"resourceAttributes":{"namespace":"default","verb":"get","group":"apps","resource":"deployments","subresource":"scale","name":"web",
    "labelSelector":{"rawSelector":"a=b"},"fieldSelector":{"requirements":[{"key":"spec.nodeName","operator":"In","values":["n1"]}]}},
    "user":"alice","groups":["system:authenticated"],"extra":{"scopes":["a","b"]},"uid":"u1"},
  "status":{"allowed":false,"denied":true,"reason":"no","evaluationError":"e"}}`)
	roundTrip[authorization.SelfSubjectRulesReview](t, `{"apiVersion":"authorization.k8s.io/v1","kind":"SelfSubjectRulesReview","metadata":{},
  "spec":{"namespace":"default"},"status":{"resourceRules":[{"verbs":["*"],"apiGroups":["*"],"resources":["*"]}],
    "nonResourceRules":[{"verbs":["get"],"nonResourceURLs":["/api","/api/*"]}],"incomplete":false}}`)
}

func TestCompactString(t *testing.T) {
	r := rbac.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}, ResourceNames: []string{"a"}}
	if got, want := r.CompactString(), `{APIGroups:[""], Resources:["pods"], ResourceNames:["a"], Verbs:["get" "list"]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
