package namespacelifecycle_test

import (
	"context"
	"errors"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/admission/admissiontest"
	"github.com/skiff-sh/skiff/apiserver/admission/namespacelifecycle"
)

func TestNamespaceLifecycle(t *testing.T) {
	reg := registry.Default()
	pods, _ := reg.Lookup("", "v1", "pods")
	nodes, _ := reg.Lookup("", "v1", "nodes")
	namespaces, _ := reg.Lookup("", "v1", "namespaces")
	now := meta.Now()
	objs := admissiontest.NewObjects(
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "live"}},
		&core.Namespace{ObjectMeta: meta.ObjectMeta{Name: "dying", DeletionTimestamp: &now}},
	)
	cases := []struct {
		name string
		a    admission.Attributes
		code int32 // 0: admitted
		msg  string
	}{
		{"create in a live namespace", admission.Attributes{Operation: admission.Create, Kind: pods, Namespace: "live", Name: "p"}, 0, ""},
		{"create in a missing namespace", admission.Attributes{Operation: admission.Create, Kind: pods, Namespace: "gone", Name: "p"}, 404, `namespaces "gone" not found`},
		{"create in a terminating namespace", admission.Attributes{Operation: admission.Create, Kind: pods, Namespace: "dying", Name: "p"}, 403,
			`pods "p" is forbidden: unable to create new content in namespace dying because it is being terminated`},
		{"update in a terminating namespace", admission.Attributes{Operation: admission.Update, Kind: pods, Namespace: "dying", Name: "p"}, 0, ""},
		{"cluster-scoped create", admission.Attributes{Operation: admission.Create, Kind: nodes, Name: "n"}, 0, ""},
		{"delete kube-system", admission.Attributes{Operation: admission.Delete, Kind: namespaces, Name: "kube-system"}, 403,
			`namespaces "kube-system" is forbidden: this namespace may not be deleted`},
		{"delete another namespace", admission.Attributes{Operation: admission.Delete, Kind: namespaces, Name: "live"}, 0, ""},
	}
	pl := namespacelifecycle.New(objs)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := pl.Admit(context.Background(), &c.a)
			if c.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ae *admission.Error
			if !errors.As(err, &ae) || ae.Status.Code != c.code || ae.Status.Message != c.msg {
				t.Fatalf("got %v, want %d %q", err, c.code, c.msg)
			}
		})
	}
}
