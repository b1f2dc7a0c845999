package persistentvolume_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/persistentvolume"
	"github.com/skiff-sh/skiff/controllermanager/resourcequota"
	"github.com/skiff-sh/skiff/controllermanager/volumeprotection"
)

// Expanding a claim is charged against storage quotas, in total and per class, as in
// Kubernetes: a resize past the quota is refused with the quota admission's message and
// leaves the claim as it was; one within it is charged for the difference.
func TestExpansionChargedToQuota(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, persistentvolume.New(e.CC), volumeprotection.NewPVC(e.CC), volumeprotection.NewPV(e.CC),
		resourcequota.New(e.CC, resourcequota.Options{}))
	classStorage := core.ResourceName(storage.DefaultClassName + ".storageclass.storage.k8s.io/requests.storage")
	testenv.Create(t, e, resourcequota.ResourceQuotas, &core.ResourceQuota{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "storage"},
		Spec: core.ResourceQuotaSpec{Hard: core.ResourceList{core.ResourceRequestsStorage: resource.MustParse("3Gi"),
			classStorage: resource.MustParse("2Gi")}}})
	used := func(want string) {
		t.Helper()
		testenv.Eventually(t, "quota used "+want, func() (bool, string) {
			q := testenv.Get[core.ResourceQuota](t, e, resourcequota.ResourceQuotas, "default", "storage")
			a, okA := q.Status.Used[core.ResourceRequestsStorage]
			b, okB := q.Status.Used[classStorage]
			got := a.String() + "," + b.String()
			// Until the controller has set status, admission charges nothing.
			return okA && okB && got == want, fmt.Sprint(q.Status)
		})
	}
	used("0,0")

	testenv.Create(t, e, controller.Nodes, &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "n1",
		Labels: map[string]string{core.LabelHostname: "n1"}, Annotations: map[string]string{storage.LocalVolumeDirAnnotation: "/var/lib/skiff/n1/local-volumes"}}})
	claim := newPVC("data", "1Gi", ptr(storage.DefaultClassName))
	claim.Annotations = map[string]string{core.AnnSelectedNode: "n1"}
	claim = testenv.Create(t, e, controller.PersistentVolumeClaims, claim)
	boundTo(t, e, "data", "pvc-"+string(claim.UID))
	used("1Gi,1Gi")

	claims := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims)
	// resize retries Conflicts: the PV controller writes the claim's status meanwhile.
	resize := func(size string) error {
		for {
			c := getPVC(t, e, "data")
			c.Spec.Resources.Requests = core.ResourceList{core.ResourceStorage: resource.MustParse(size)}
			if _, err := claims.Update(e.Ctx, c); !client.IsConflict(err) {
				return err
			}
		}
	}
	for _, tc := range []struct {
		size, err, used string
	}{
		{"5Gi", `persistentvolumeclaims "data" is forbidden: exceeded quota: storage, requested: requests.storage=4Gi,standard.storageclass.storage.k8s.io/requests.storage=4Gi, used: requests.storage=1Gi,standard.storageclass.storage.k8s.io/requests.storage=1Gi, limited: requests.storage=3Gi,standard.storageclass.storage.k8s.io/requests.storage=2Gi`, "1Gi,1Gi"},
		{"2Gi", "", "2Gi,2Gi"},
		// Within the total, past the class's share.
		{"3Gi", `persistentvolumeclaims "data" is forbidden: exceeded quota: storage, requested: standard.storageclass.storage.k8s.io/requests.storage=1Gi, used: standard.storageclass.storage.k8s.io/requests.storage=2Gi, limited: standard.storageclass.storage.k8s.io/requests.storage=2Gi`, "2Gi,2Gi"},
	} {
		err := resize(tc.size)
		switch {
		case tc.err == "" && err != nil:
			t.Fatalf("resize to %s: %v", tc.size, err)
		case tc.err != "" && (err == nil || !client.IsForbidden(err) || !strings.Contains(err.Error(), tc.err)):
			t.Fatalf("resize to %s: %v\nwant %s", tc.size, err, tc.err)
		}
		used(tc.used)
	}
	if got := getPVC(t, e, "data").Spec.Resources.Requests[core.ResourceStorage]; got.String() != "2Gi" {
		t.Fatalf("claim requests %s after a refused resize", got.String())
	}
	testenv.Eventually(t, "claim status 2Gi", func() (bool, string) {
		c := getPVC(t, e, "data")
		return c.Status.Capacity.Storage().String() == "2Gi", fmt.Sprint(c.Status.Capacity)
	})
}
