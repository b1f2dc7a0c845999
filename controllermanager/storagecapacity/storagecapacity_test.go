package storagecapacity_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/storagecapacity"
)

func node(name, room string) *core.Node {
	n := &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: name,
		Labels: map[string]string{core.LabelHostname: name}, Annotations: map[string]string{storage.LocalVolumeDirAnnotation: "/d/" + name}}}
	if room != "" {
		n.Annotations[storage.LocalVolumeCapacityAnnotation] = room
	}
	return n
}

// published lists the managed capacities as "class@node=capacity", sorted.
func published(t *testing.T, e *testenv.Env) []string {
	list, err := client.For[storage.CSIStorageCapacity](e.Client, storagecapacity.Capacities).List(e.Ctx, storagecapacity.Namespace, client.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list.Items {
		if c.Labels[storagecapacity.ManagedByLabel] != "skiff-controller-manager" {
			continue
		}
		out = append(out, fmt.Sprintf("%s@%s=%s", c.StorageClassName, c.NodeTopology.MatchLabels[core.LabelHostname], c.Capacity.String()))
	}
	sort.Strings(out)
	return out
}

func waitPublished(t *testing.T, e *testenv.Env, want ...string) {
	t.Helper()
	sort.Strings(want)
	testenv.Eventually(t, "published "+strings.Join(want, " "), func() (bool, string) {
		got := published(t, e)
		return strings.Join(got, " ") == strings.Join(want, " "), strings.Join(got, " ")
	})
}

// Every node that measured its room gets a CSIStorageCapacity per skiff.dev/local class,
// kept up to date as the node reports, and removed with the node, the class or the
// measurement; classes of other provisioners get none.
func TestPublishesLocalCapacity(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, storagecapacity.New(e.CC))
	testenv.Create(t, e, controller.Nodes, node("n1", "10737418240"))
	testenv.Create(t, e, controller.Nodes, node("n2", "5Gi"))
	testenv.Create(t, e, controller.Nodes, node("n3", "")) // not measured yet
	// "standard" is the cluster's default class (skiff.dev/local), made at bootstrap.
	waitPublished(t, e, "standard@n1=10Gi", "standard@n2=5Gi")

	classes := client.For[storage.StorageClass](e.Client, storagecapacity.StorageClasses)
	for name, prov := range map[string]string{"fast": storage.LocalProvisioner, "remote": "example.com/nfs"} {
		if _, err := classes.Create(e.Ctx, &storage.StorageClass{TypeMeta: meta.TypeMeta{Kind: "StorageClass", APIVersion: "storage.k8s.io/v1"},
			ObjectMeta: meta.ObjectMeta{Name: name}, Provisioner: prov}); err != nil {
			t.Fatal(err)
		}
	}
	waitPublished(t, e, "standard@n1=10Gi", "standard@n2=5Gi", "fast@n1=10Gi", "fast@n2=5Gi")

	// The node reports less room; another starts reporting.
	nodes := client.For[core.Node](e.Client, controller.Nodes)
	for name, room := range map[string]string{"n1": "2Gi", "n3": "1Gi"} {
		n, err := nodes.Get(e.Ctx, "", name)
		if err != nil {
			t.Fatal(err)
		}
		n.Annotations[storage.LocalVolumeCapacityAnnotation] = room
		if _, err := nodes.Update(e.Ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	waitPublished(t, e, "standard@n1=2Gi", "standard@n2=5Gi", "standard@n3=1Gi", "fast@n1=2Gi", "fast@n2=5Gi", "fast@n3=1Gi")

	// A class deleted, a node deleted: their capacities go.
	if err := classes.Delete(e.Ctx, "", "fast", nil); err != nil {
		t.Fatal(err)
	}
	if err := nodes.Delete(e.Ctx, "", "n2", nil); err != nil {
		t.Fatal(err)
	}
	waitPublished(t, e, "standard@n1=2Gi", "standard@n3=1Gi")

	// A capacity changed by someone else is put right.
	caps := client.For[storage.CSIStorageCapacity](e.Client, storagecapacity.Capacities)
	list, err := caps.List(e.Ctx, storagecapacity.Namespace, client.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		t.Fatalf("list: %v", err)
	}
	for i := range list.Items {
		c := &list.Items[i]
		if c.NodeTopology.MatchLabels[core.LabelHostname] == "n1" {
			if err := caps.Delete(e.Ctx, storagecapacity.Namespace, c.Name, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitPublished(t, e, "standard@n1=2Gi", "standard@n3=1Gi")
}
