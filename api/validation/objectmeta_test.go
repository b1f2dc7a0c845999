package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/validation/field"
)

func TestValidateObjectMeta(t *testing.T) {
	metaPath := field.NewPath("metadata")
	tests := []struct {
		name       string
		meta       meta.ObjectMeta
		namespaced bool
		nameFn     NameFunc
		want       []string
	}{
		{"valid", meta.ObjectMeta{Name: "web", Namespace: "default"}, true, NameIsDNSSubdomain, nil},
		{"valid cluster-scoped", meta.ObjectMeta{Name: "node-1"}, false, NameIsDNSSubdomain, nil},
		{"no name", meta.ObjectMeta{Namespace: "default"}, true, NameIsDNSSubdomain, []string{"metadata.name" + required}},
		{"bad name", meta.ObjectMeta{Name: "Web", Namespace: "default"}, true, NameIsDNSSubdomain, []string{"metadata.name" + invalid}},
		{"label name rule", meta.ObjectMeta{Name: "a.b"}, false, NameIsDNSLabel, []string{"metadata.name" + invalid}},
		{"1035 name rule", meta.ObjectMeta{Name: "1web", Namespace: "default"}, true, NameIsDNS1035Label, []string{"metadata.name" + invalid}},
		{"generateName may end in dash", meta.ObjectMeta{Name: "web-x7k2p", GenerateName: "web-", Namespace: "default"}, true, NameIsDNSSubdomain, nil},
		{"bad generateName", meta.ObjectMeta{Name: "web", GenerateName: "Web-", Namespace: "default"}, true, NameIsDNSSubdomain, []string{"metadata.generateName" + invalid}},
		{"namespace required", meta.ObjectMeta{Name: "web"}, true, NameIsDNSSubdomain, []string{"metadata.namespace" + required}},
		{"namespace syntax", meta.ObjectMeta{Name: "web", Namespace: "My_NS"}, true, NameIsDNSSubdomain, []string{"metadata.namespace" + invalid}},
		{"namespace forbidden", meta.ObjectMeta{Name: "n", Namespace: "default"}, false, NameIsDNSSubdomain, []string{"metadata.namespace" + forbidden}},
		{"negative generation", meta.ObjectMeta{Name: "n", Generation: -1}, false, NameIsDNSSubdomain, []string{"metadata.generation" + invalid}},
		{"label key", meta.ObjectMeta{Name: "n", Labels: map[string]string{"bad key": "v"}}, false, NameIsDNSSubdomain, []string{"metadata.labels" + invalid}},
		{"label value", meta.ObjectMeta{Name: "n", Labels: map[string]string{"k": "bad value"}}, false, NameIsDNSSubdomain, []string{"metadata.labels" + invalid}},
		{"annotation key", meta.ObjectMeta{Name: "n", Annotations: map[string]string{"a b": ""}}, false, NameIsDNSSubdomain, []string{"metadata.annotations" + invalid}},
		{"annotation key case-insensitive", meta.ObjectMeta{Name: "n", Annotations: map[string]string{"Example.COM/Key": "x y z"}}, false, NameIsDNSSubdomain, nil},
		{"annotations too big", meta.ObjectMeta{Name: "n", Annotations: map[string]string{"k": strings.Repeat("x", TotalAnnotationSizeLimitB)}}, false, NameIsDNSSubdomain, []string{"metadata.annotations" + tooLong}},
		{"owner reference incomplete", meta.ObjectMeta{Name: "n", OwnerReferences: []meta.OwnerReference{{}}}, false, NameIsDNSSubdomain, []string{
			"metadata.ownerReferences.apiVersion" + invalid, "metadata.ownerReferences.kind" + invalid,
			"metadata.ownerReferences.name" + invalid, "metadata.ownerReferences.uid" + invalid}},
		{"event may not own", meta.ObjectMeta{Name: "n", OwnerReferences: []meta.OwnerReference{{APIVersion: "v1", Kind: "Event", Name: "e", UID: "u"}}}, false, NameIsDNSSubdomain, []string{"metadata.ownerReferences" + invalid}},
		{"two controllers", meta.ObjectMeta{Name: "n", OwnerReferences: []meta.OwnerReference{
			{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "a", UID: "1", Controller: ptr(true)},
			{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "b", UID: "2", Controller: ptr(true)},
		}}, false, NameIsDNSSubdomain, []string{"metadata.ownerReferences" + invalid}},
		{"finalizers", meta.ObjectMeta{Name: "n", Finalizers: []string{"kubernetes", "example.com/cleanup", "foregroundDeletion"}}, false, NameIsDNSSubdomain, nil},
		{"finalizer syntax", meta.ObjectMeta{Name: "n", Finalizers: []string{"example.com/bad name"}}, false, NameIsDNSSubdomain, []string{"metadata.finalizers[0]" + invalid}},
		{"finalizer not qualified", meta.ObjectMeta{Name: "n", Finalizers: []string{"cleanup"}}, false, NameIsDNSSubdomain, []string{"metadata.finalizers[0]" + invalid}},
		{"orphan and foreground", meta.ObjectMeta{Name: "n", Finalizers: []string{"orphan", "foregroundDeletion"}}, false, NameIsDNSSubdomain, []string{"metadata.finalizers" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErrs(t, ValidateObjectMeta(&tt.meta, tt.namespaced, tt.nameFn, metaPath), tt.want...)
		})
	}
}

func TestValidateObjectMetaMessages(t *testing.T) {
	m := meta.ObjectMeta{Name: "Foo", Namespace: "default"}
	got := ValidateObjectMeta(&m, true, NameIsDNSSubdomain, field.NewPath("metadata")).ToAggregate().Error()
	want := `metadata.name: Invalid value: "Foo": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	m = meta.ObjectMeta{Namespace: "default"}
	if got := ValidateObjectMeta(&m, true, NameIsDNSSubdomain, field.NewPath("metadata")).ToAggregate().Error(); got != "metadata.name: Required value: name or generateName is required" {
		t.Errorf("got %s", got)
	}
}

func TestValidateObjectMetaUpdate(t *testing.T) {
	created := meta.NewTime(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	deleting := meta.NewTime(time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC))
	base := func() meta.ObjectMeta {
		return meta.ObjectMeta{Name: "web", Namespace: "default", UID: "u1", ResourceVersion: "5",
			CreationTimestamp: created, Finalizers: []string{"example.com/a"}}
	}
	tests := []struct {
		name   string
		old    func(*meta.ObjectMeta)
		mutate func(*meta.ObjectMeta)
		want   []string
	}{
		{"unchanged", nil, nil, nil},
		{"labels may change", nil, func(m *meta.ObjectMeta) { m.Labels = map[string]string{"a": "b"} }, nil},
		{"name", nil, func(m *meta.ObjectMeta) { m.Name = "other" }, []string{"metadata.name" + invalid}},
		{"namespace", nil, func(m *meta.ObjectMeta) { m.Namespace = "other" }, []string{"metadata.namespace" + invalid}},
		{"uid", nil, func(m *meta.ObjectMeta) { m.UID = "u2" }, []string{"metadata.uid" + invalid}},
		{"uid omitted means unchanged", nil, func(m *meta.ObjectMeta) { m.UID = "" }, nil},
		{"creationTimestamp", nil, func(m *meta.ObjectMeta) { m.CreationTimestamp = deleting }, []string{"metadata.creationTimestamp" + invalid}},
		{"creationTimestamp omitted means unchanged", nil, func(m *meta.ObjectMeta) { m.CreationTimestamp = meta.Time{} }, nil},
		{"deletion is not an update", nil, func(m *meta.ObjectMeta) { m.DeletionTimestamp = &deleting }, []string{"metadata.deletionTimestamp" + invalid}},
		{"invalid new label", nil, func(m *meta.ObjectMeta) { m.Labels = map[string]string{"a": "b c"} }, []string{"metadata.labels" + invalid}},
		{"finalizer added while alive", nil, func(m *meta.ObjectMeta) { m.Finalizers = append(m.Finalizers, "example.com/b") }, nil},
		{"finalizer removed while deleting", func(m *meta.ObjectMeta) { m.DeletionTimestamp = &deleting }, func(m *meta.ObjectMeta) {
			m.DeletionTimestamp = &deleting
			m.Finalizers = nil
		}, nil},
		{"finalizer added while deleting", func(m *meta.ObjectMeta) { m.DeletionTimestamp = &deleting }, func(m *meta.ObjectMeta) {
			m.DeletionTimestamp = &deleting
			m.Finalizers = append(m.Finalizers, "example.com/b")
		}, []string{"metadata.finalizers" + forbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, m := base(), base()
			if tt.old != nil {
				tt.old(&old)
			}
			if tt.mutate != nil {
				tt.mutate(&m)
			}
			wantErrs(t, ValidateObjectMetaUpdate(&m, &old, field.NewPath("metadata")), tt.want...)
		})
	}

	old, m := base(), base()
	old.DeletionTimestamp, m.DeletionTimestamp = &deleting, &deleting
	m.Finalizers = []string{"example.com/a", "example.com/z", "example.com/b"}
	got := ValidateObjectMetaUpdate(&m, &old, field.NewPath("metadata")).ToAggregate().Error()
	want := `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b", "example.com/z"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestValidateLabelSelector(t *testing.T) {
	p := field.NewPath("spec", "selector")
	tests := []struct {
		name string
		sel  *meta.LabelSelector
		want []string
	}{
		{"nil", nil, nil},
		{"valid", &meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []meta.LabelSelectorRequirement{
			{Key: "tier", Operator: "In", Values: []string{"a", "b"}}, {Key: "canary", Operator: "DoesNotExist"}}}, nil},
		{"in without values", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "k", Operator: "In"}}},
			[]string{"spec.selector.matchExpressions[0].values" + required}},
		{"exists with values", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "k", Operator: "Exists", Values: []string{"v"}}}},
			[]string{"spec.selector.matchExpressions[0].values" + forbidden}},
		{"bad operator", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}},
			[]string{"spec.selector.matchExpressions[0].operator" + invalid}},
		{"bad key and value", &meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "a b", Operator: "In", Values: []string{"c d"}}}},
			[]string{"spec.selector.matchExpressions[0].key" + invalid, "spec.selector.matchExpressions[0].values[0]" + invalid}},
		{"bad match label", &meta.LabelSelector{MatchLabels: map[string]string{"app": "a b"}}, []string{"spec.selector.matchLabels" + invalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantErrs(t, ValidateLabelSelector(tt.sel, p), tt.want...) })
	}
}

func TestSelectorMatches(t *testing.T) {
	labels := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		sel  meta.LabelSelector
		want bool
	}{
		{meta.LabelSelector{}, true},
		{meta.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, true},
		{meta.LabelSelector{MatchLabels: map[string]string{"app": "db"}}, false},
		{meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"front", "back"}}}}, true},
		{meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "tier", Operator: "NotIn", Values: []string{"front"}}}}, false},
		{meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "missing", Operator: "NotIn", Values: []string{"x"}}}}, true},
		{meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "app", Operator: "Exists"}}}, true},
		{meta.LabelSelector{MatchExpressions: []meta.LabelSelectorRequirement{{Key: "app", Operator: "DoesNotExist"}}}, false},
	}
	for i, tt := range tests {
		if got := selectorMatches(&tt.sel, labels); got != tt.want {
			t.Errorf("case %d: got %v, want %v", i, got, tt.want)
		}
	}
}
