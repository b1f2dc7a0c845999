package rootcacertpublisher_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/rootcacertpublisher"
	"github.com/skiff-sh/skiff/pki"
)

func TestPublishesRootCA(t *testing.T) {
	ca := testCA(t)
	e := testenv.New(t)
	e.Start(t, rootcacertpublisher.New(e.CC, rootcacertpublisher.Options{RootCA: ca}))
	cms := client.For[core.ConfigMap](e.Client, rootcacertpublisher.ConfigMaps)
	published := func(ns string) func() (bool, string) {
		return func() (bool, string) {
			cm := testenv.Get[core.ConfigMap](t, e, rootcacertpublisher.ConfigMaps, ns, "kube-root-ca.crt")
			switch {
			case cm == nil:
				return false, "missing"
			case cm.Data["ca.crt"] != string(ca) || len(cm.Data) != 1:
				return false, "data " + strings.Join(keys(cm.Data), ",")
			case cm.Annotations["kubernetes.io/description"] != rootcacertpublisher.Description:
				return false, "no description"
			}
			return true, ""
		}
	}

	// The namespaces the API server made, and a new one.
	testenv.Create(t, e, controller.Namespaces, &core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: "team"}})
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease", "team"} {
		testenv.Eventually(t, "kube-root-ca.crt in "+ns, published(ns))
	}

	// Deleted, it comes back.
	if err := cms.Delete(e.Ctx, "team", "kube-root-ca.crt", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "re-created after delete", published("team"))

	// Edited (another CA, an extra key, the annotation gone), it is put back; a label
	// someone added stays.
	cm := testenv.Get[core.ConfigMap](t, e, rootcacertpublisher.ConfigMaps, "team", "kube-root-ca.crt")
	cm.Data = map[string]string{"ca.crt": "forged", "extra": "x"}
	cm.Annotations = nil
	cm.Labels = map[string]string{"mine": "yes"}
	if _, err := cms.Update(e.Ctx, cm); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "restored after edit", published("team"))
	if got := testenv.Get[core.ConfigMap](t, e, rootcacertpublisher.ConfigMaps, "team", "kube-root-ca.crt"); got.Labels["mine"] != "yes" {
		t.Errorf("labels %v: the publisher dropped someone else's label", got.Labels)
	}

	// Other ConfigMaps are none of its business.
	other := &core.ConfigMap{TypeMeta: meta.TypeMeta{Kind: "ConfigMap", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "team", Name: "settings"}, Data: map[string]string{"ca.crt": "mine"}}
	testenv.Create(t, e, rootcacertpublisher.ConfigMaps, other)
	if got := e.Actions.List("/namespaces/team/configmaps/settings"); len(got) != 0 {
		t.Errorf("writes to another ConfigMap: %v", got)
	}
}

func TestReadRootCA(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(good, testCA(t), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.crt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		ok   bool
	}{{good, true}, {bad, false}, {filepath.Join(dir, "missing"), false}} {
		_, err := rootcacertpublisher.ReadRootCA(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("ReadRootCA(%s) = %v, want ok %v", filepath.Base(tc.path), err, tc.ok)
		}
	}
}

func testCA(t *testing.T) []byte {
	t.Helper()
	ca, err := pki.NewCA("skiff-test")
	if err != nil {
		t.Fatal(err)
	}
	return ca.CertPEM
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
