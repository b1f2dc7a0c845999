package serviceaccount_test

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/serviceaccount"
)

func TestDefaultServiceAccount(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, serviceaccount.New(e.CC))

	// The namespaces the API server creates get one, and so does a new namespace.
	testenv.Create(t, e, controller.Namespaces, &core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: "team"}})
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease", "team"} {
		testenv.Eventually(t, "default service account in "+ns, func() (bool, string) {
			return testenv.Get[core.ServiceAccount](t, e, controller.ServiceAccounts, ns, "default") != nil, "missing"
		})
	}

	// Deleted, it comes back (a new object).
	old := testenv.Get[core.ServiceAccount](t, e, controller.ServiceAccounts, "team", "default")
	if err := client.For[core.ServiceAccount](e.Client, controller.ServiceAccounts).Delete(e.Ctx, "team", "default", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "service account re-created", func() (bool, string) {
		sa := testenv.Get[core.ServiceAccount](t, e, controller.ServiceAccounts, "team", "default")
		if sa == nil {
			return false, "missing"
		}
		return sa.UID != old.UID, "still the old one"
	})
	if got := e.Actions.List("POST", "/namespaces/team/serviceaccounts"); len(got) != 2 {
		t.Errorf("creations in team: %v", got)
	}
}
