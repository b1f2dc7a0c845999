package apiserver

import (
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/apps"
)

// Unknown and duplicate fields are reported in document order with Kubernetes' wording;
// map keys, opaque values (quantities, times) and arrays are followed correctly.
func TestFieldProblems(t *testing.T) {
	typ := reflect.TypeFor[apps.Deployment]()
	for _, tc := range []struct {
		body string
		want []string
	}{
		{`{"spec": {"replicas": 1}}`, nil},
		{`{"spec": {"unknownField": "foo", "replicas": 2, "replicas": 3}}`,
			[]string{`unknown field "spec.unknownField"`, `duplicate field "spec.replicas"`}},
		{`{"metadata": {"name": "a", "unknownMeta": 1, "name": "b", "labels": {"x": "1", "x": "2"}}}`,
			[]string{`unknown field "metadata.unknownMeta"`, `duplicate field "metadata.name"`}},
		{`{"spec": {"template": {"spec": {"containers": [{"name": "c"}, {"name": "d", "imagee": "x",
			"resources": {"limits": {"cpu": "1"}}}]}}}}`,
			[]string{`unknown field "spec.template.spec.containers[1].imagee"`}},
		{`{"metadata": {"creationTimestamp": {"odd": [1, {"x": 2}]}}, "zz": [{"a": 1}], "status": {}}`,
			[]string{`unknown field "zz"`}},
		{`not json`, nil},
	} {
		if got := fieldProblems([]byte(tc.body), typ); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.body, got, tc.want)
		}
	}
}
