package persistentvolume_test

import (
	"fmt"
	"github.com/skiff-sh/skiff/client/informer"
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
	"github.com/skiff-sh/skiff/controllermanager/volumeprotection"
)

var pvs = persistentvolume.PersistentVolumes

func newPV(name, size, class string, reclaim core.PersistentVolumeReclaimPolicy) *core.PersistentVolume {
	return &core.PersistentVolume{TypeMeta: meta.TypeMeta{Kind: "PersistentVolume", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name},
		Spec: core.PersistentVolumeSpec{Capacity: core.ResourceList{core.ResourceStorage: resource.MustParse(size)},
			AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: class,
			PersistentVolumeReclaimPolicy: reclaim,
			PersistentVolumeSource:        core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: "/tmp/" + name}}}}
}

func newPVC(name, size string, class *string) *core.PersistentVolumeClaim {
	return &core.PersistentVolumeClaim{TypeMeta: meta.TypeMeta{Kind: "PersistentVolumeClaim", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec: core.PersistentVolumeClaimSpec{AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: class,
			Resources: core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse(size)}}}}
}

func ptr[T any](v T) *T { return &v }

func getPVC(t *testing.T, e *testenv.Env, name string) *core.PersistentVolumeClaim {
	return testenv.Get[core.PersistentVolumeClaim](t, e, controller.PersistentVolumeClaims, "default", name)
}

func getPV(t *testing.T, e *testenv.Env, name string) *core.PersistentVolume {
	return testenv.Get[core.PersistentVolume](t, e, pvs, "", name)
}

// boundTo waits until claim and volume name each other and are both Bound.
func boundTo(t *testing.T, e *testenv.Env, claim, vol string) {
	t.Helper()
	testenv.Eventually(t, claim+" bound to "+vol, func() (bool, string) {
		pvc, pv := getPVC(t, e, claim), getPV(t, e, vol)
		if pvc == nil || pv == nil {
			return false, "missing"
		}
		ok := pvc.Spec.VolumeName == vol && pvc.Status.Phase == core.ClaimBound && pv.Status.Phase == core.VolumeBound &&
			pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == pvc.UID && pvc.Status.Capacity.Storage().Cmp(pv.Spec.Capacity.Storage()) == 0
		return ok, fmt.Sprintf("claim %s %s, volume %s %v", pvc.Spec.VolumeName, pvc.Status.Phase, pv.Status.Phase, pv.Spec.ClaimRef)
	})
}

func eventFor(t *testing.T, e *testenv.Env, reason, object, contains string) {
	t.Helper()
	testenv.Eventually(t, reason+" event for "+object, func() (bool, string) {
		evs := e.Events.List(reason)
		for _, ev := range evs {
			if strings.HasSuffix(ev.Object, object) && strings.Contains(ev.Message, contains) {
				return true, ""
			}
		}
		return false, fmt.Sprint(e.Events.List(""))
	})
}

func start(t *testing.T) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, persistentvolume.New(e.CC), volumeprotection.NewPVC(e.CC), volumeprotection.NewPV(e.CC))
	return e
}

func TestBindPreProvisioned(t *testing.T) {
	e := start(t)
	for _, pv := range []*core.PersistentVolume{newPV("small", "1Gi", "manual", core.PersistentVolumeReclaimRetain), newPV("big", "10Gi", "manual", core.PersistentVolumeReclaimRetain),
		newPV("huge", "100Gi", "manual", core.PersistentVolumeReclaimRetain)} {
		testenv.Create(t, e, pvs, pv)
	}
	testenv.Eventually(t, "volumes Available", func() (bool, string) {
		pv := getPV(t, e, "huge")
		return pv.Status.Phase == core.VolumeAvailable, string(pv.Status.Phase)
	})
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("data", "2Gi", ptr("manual")))
	boundTo(t, e, "data", "big") // the smallest that fits
	if pv := getPV(t, e, "big"); pv.Annotations[core.AnnBoundByController] != "yes" {
		t.Errorf("volume annotations %v", pv.Annotations)
	}

	// Nothing can hold 1Ti: the claim stays Pending, with an event saying why.
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("too-big", "1Ti", ptr("")))
	eventFor(t, e, "FailedBinding", "default/too-big", "no persistent volumes available for this claim and no storage class is set")
	if pvc := getPVC(t, e, "too-big"); pvc.Status.Phase != core.ClaimPending || pvc.Spec.VolumeName != "" {
		t.Fatalf("unsatisfiable claim: %+v", pvc.Status)
	}
	// A class that does not exist.
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("no-class", "1Gi", ptr("gold")))
	eventFor(t, e, "ProvisioningFailed", "default/no-class", `storageclass.storage.k8s.io "gold" not found`)

	// Deleting the claim of a Retain volume leaves the volume Released with its data.
	if err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Delete(e.Ctx, "default", "data", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "volume Released", func() (bool, string) {
		pv := getPV(t, e, "big")
		return pv != nil && pv.Status.Phase == core.VolumeReleased, fmt.Sprint(pv.Status)
	})
	// A Delete volume that skiff did not provision cannot be deleted by it: Failed.
	testenv.Create(t, e, pvs, newPV("manual-delete", "1Gi", "other", core.PersistentVolumeReclaimDelete))
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("short", "1Gi", ptr("other")))
	boundTo(t, e, "short", "manual-delete")
	if err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Delete(e.Ctx, "default", "short", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "volume Failed", func() (bool, string) {
		pv := getPV(t, e, "manual-delete")
		return pv.Status.Phase == core.VolumeFailed && pv.Status.Reason == "VolumeFailedDelete", fmt.Sprint(pv.Status)
	})
}

func TestPreBoundBothWays(t *testing.T) {
	e := start(t)
	// The claim names the volume, whatever its class.
	testenv.Create(t, e, pvs, newPV("chosen", "5Gi", "", core.PersistentVolumeReclaimRetain))
	pvc := newPVC("by-claim", "1Gi", ptr(""))
	pvc.Spec.VolumeName = "chosen"
	testenv.Create(t, e, controller.PersistentVolumeClaims, pvc)
	boundTo(t, e, "by-claim", "chosen")
	// The volume names the claim: no other claim gets it, even a better fitting one.
	pv := newPV("reserved", "1Gi", "", core.PersistentVolumeReclaimRetain)
	pv.Spec.ClaimRef = &core.ObjectReference{Namespace: "default", Name: "by-volume"}
	testenv.Create(t, e, pvs, pv)
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("other", "1Gi", ptr("")))
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("by-volume", "1Gi", ptr("")))
	boundTo(t, e, "by-volume", "reserved")
	if c := getPVC(t, e, "other"); c.Spec.VolumeName != "" {
		t.Fatalf("claim other got %s", c.Spec.VolumeName)
	}
	// A claim naming a volume that is too small waits, saying why.
	testenv.Create(t, e, pvs, newPV("tiny", "1Mi", "", core.PersistentVolumeReclaimRetain))
	small := newPVC("wants-tiny", "1Gi", ptr(""))
	small.Spec.VolumeName = "tiny"
	testenv.Create(t, e, controller.PersistentVolumeClaims, small)
	eventFor(t, e, "FailedBinding", "default/wants-tiny", `Cannot bind to requested volume "tiny": requested PV is too small`)
}

func TestLocalProvisioning(t *testing.T) {
	e := start(t)
	node := &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "n1",
		Labels: map[string]string{core.LabelHostname: "n1"}, Annotations: map[string]string{storage.LocalVolumeDirAnnotation: "/var/lib/skiff/n1/local-volumes"}}}
	testenv.Create(t, e, controller.Nodes, node)
	// The default class waits for the first consumer.
	claim := testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("data", "3Gi", ptr(storage.DefaultClassName)))
	eventFor(t, e, "WaitForFirstConsumer", "default/data", "waiting for first consumer to be created before binding")
	// The scheduler chose n1: the volume is made there, and bound.
	claim = getPVC(t, e, "data")
	claim.Annotations = map[string]string{core.AnnSelectedNode: "n1"}
	if _, err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Update(e.Ctx, claim); err != nil {
		t.Fatal(err)
	}
	name := "pvc-" + string(claim.UID)
	boundTo(t, e, "data", name)
	pv := getPV(t, e, name)
	if pv.Spec.Local == nil || pv.Spec.Local.Path != "/var/lib/skiff/n1/local-volumes/"+name || pv.Spec.PersistentVolumeReclaimPolicy != core.PersistentVolumeReclaimDelete ||
		pv.Annotations[core.AnnDynamicallyProvisioned] != storage.LocalProvisioner || pv.Spec.StorageClassName != storage.DefaultClassName {
		t.Fatalf("provisioned volume: %+v %v", pv.Spec, pv.Annotations)
	}
	if fmt.Sprint(pv.Spec.NodeAffinity.Required.NodeSelectorTerms) != "[{[{kubernetes.io/hostname In [n1]}] []}]" {
		t.Fatalf("node affinity %v", pv.Spec.NodeAffinity.Required.NodeSelectorTerms)
	}
	eventFor(t, e, "ProvisioningSucceeded", "default/data", name)

	// The class allows expansion: the claim grows, and so do the volume and the claim's status.
	grown := getPVC(t, e, "data")
	grown.Spec.Resources.Requests = core.ResourceList{core.ResourceStorage: resource.MustParse("5Gi")}
	if _, err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Update(e.Ctx, grown); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "claim and volume 5Gi", func() (bool, string) {
		c, v := getPVC(t, e, "data"), getPV(t, e, name)
		five := resource.MustParse("5Gi")
		return v.Spec.Capacity.Storage().Cmp(five) == 0 && c.Status.Capacity.Storage().Cmp(five) == 0,
			fmt.Sprintf("volume %v claim %v", v.Spec.Capacity, c.Status.Capacity)
	})

	// A pod uses the claim: deleting the claim waits for the pod (pvc-protection).
	pod := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "user", Namespace: "default"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "c", Image: "img"}},
			Volumes: []core.Volume{{Name: "v", VolumeSource: core.VolumeSource{PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}}}
	testenv.Create(t, e, controller.Pods, pod)
	if err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Delete(e.Ctx, "default", "data", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "claim terminating", func() (bool, string) {
		c := getPVC(t, e, "data")
		return c != nil && c.DeletionTimestamp != nil, ""
	})
	if c := getPVC(t, e, "data"); c == nil {
		t.Fatal("claim in use was deleted")
	}
	if err := client.For[core.Pod](e.Client, controller.Pods).Delete(e.Ctx, "default", "user", &meta.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}); err != nil {
		t.Fatal(err)
	}
	// Then the claim goes, its volume is released and, reclaim Delete, deleted.
	testenv.Eventually(t, "claim and volume gone", func() (bool, string) {
		c, v := getPVC(t, e, "data"), getPV(t, e, name)
		return c == nil && v == nil, fmt.Sprintf("claim %v volume %v", c != nil, v != nil)
	})
}

func TestLocalProvisioningNeedsItsNode(t *testing.T) {
	e := start(t)
	claim := newPVC("lost", "1Gi", ptr(storage.DefaultClassName))
	claim.Annotations = map[string]string{core.AnnSelectedNode: "gone"}
	testenv.Create(t, e, controller.PersistentVolumeClaims, claim)
	eventFor(t, e, "ProvisioningFailed", "default/lost", `node "gone" not found; rescheduling`)
	testenv.Eventually(t, "selected node forgotten", func() (bool, string) {
		c := getPVC(t, e, "lost")
		_, ok := c.Annotations[core.AnnSelectedNode]
		return !ok, fmt.Sprint(c.Annotations)
	})
}

// Claims made while no class was default get the default class once one is (Kubernetes'
// retroactive default StorageClass assignment); a claim asking for no class ("") keeps
// asking for none.
func TestRetroactiveDefaultClass(t *testing.T) {
	e := start(t)
	classes := client.For[storage.StorageClass](e.Client, persistentvolume.StorageClasses)
	std, err := classes.Get(e.Ctx, "", storage.DefaultClassName)
	if err != nil {
		t.Fatal(err)
	}
	std.Annotations[storage.IsDefaultStorageClassAnnotation] = "false"
	if _, err := classes.Update(e.Ctx, std); err != nil {
		t.Fatal(err)
	}
	// The controller's cache too must see the class stop being the default: a claim it synced
	// before that would rightly be given the old default.
	classCache := informer.For[storage.StorageClass](e.CC.Informers, persistentvolume.StorageClasses)
	testenv.Eventually(t, "the controller's cache to see no default class", func() (bool, string) {
		c, ok := classCache.Indexer().Get(storage.DefaultClassName)
		return ok && !storage.IsDefaultAnnotation(c), fmt.Sprintf("cached: %v", ok)
	})
	// The admission plugin reads its cache: wait until a new claim is left without a class.
	var orphan *core.PersistentVolumeClaim
	testenv.Eventually(t, "a claim created with no class", func() (bool, string) {
		if orphan != nil {
			_ = client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Delete(e.Ctx, "default", orphan.Name, nil)
		}
		c := newPVC("", "1Gi", nil)
		c.GenerateName = "orphan-"
		orphan = testenv.Create(t, e, controller.PersistentVolumeClaims, c)
		return orphan.Spec.StorageClassName == nil, fmt.Sprint(orphan.Spec.StorageClassName)
	})
	testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC("no-class", "1Gi", ptr("")))
	eventFor(t, e, "FailedBinding", "default/"+orphan.Name, "no persistent volumes available for this claim and no storage class is set")

	gold := &storage.StorageClass{TypeMeta: meta.TypeMeta{Kind: "StorageClass", APIVersion: "storage.k8s.io/v1"},
		ObjectMeta:  meta.ObjectMeta{Name: "gold", Annotations: map[string]string{storage.IsDefaultStorageClassAnnotation: "true"}},
		Provisioner: "kubernetes.io/no-provisioner"}
	if _, err := classes.Create(e.Ctx, gold); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the claim given the new default class", func() (bool, string) {
		c := getPVC(t, e, orphan.Name)
		return c.Spec.StorageClassName != nil && *c.Spec.StorageClassName == "gold", fmt.Sprint(c.Spec.StorageClassName)
	})
	// And it binds in its new class.
	testenv.Create(t, e, pvs, newPV("gold-1", "1Gi", "gold", core.PersistentVolumeReclaimRetain))
	boundTo(t, e, orphan.Name, "gold-1")
	if c := getPVC(t, e, "no-class"); c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "" {
		t.Fatalf("claim asking for no class given %v", c.Spec.StorageClassName)
	}
}

// Deleting a class in use, as Kubernetes allows: claims already bound stay bound and their
// volumes are reclaimed by their own policy; a new claim of the class stays Pending and says
// the class is missing.
func TestDeletingAClassInUse(t *testing.T) {
	e := start(t)
	testenv.Create(t, e, controller.Nodes, &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "n1",
		Labels: map[string]string{core.LabelHostname: "n1"}, Annotations: map[string]string{storage.LocalVolumeDirAnnotation: "/var/lib/skiff/n1/local-volumes"}}})
	classes := client.For[storage.StorageClass](e.Client, persistentvolume.StorageClasses)
	immediate, del := storage.VolumeBindingImmediate, core.PersistentVolumeReclaimDelete
	if _, err := classes.Create(e.Ctx, &storage.StorageClass{TypeMeta: meta.TypeMeta{Kind: "StorageClass", APIVersion: "storage.k8s.io/v1"},
		ObjectMeta: meta.ObjectMeta{Name: "fast"}, Provisioner: storage.LocalProvisioner, VolumeBindingMode: &immediate, ReclaimPolicy: &del}); err != nil {
		t.Fatal(err)
	}
	claim := newPVC("data", "1Gi", ptr("fast"))
	claim.Annotations = map[string]string{core.AnnSelectedNode: "n1"}
	claim = testenv.Create(t, e, controller.PersistentVolumeClaims, claim)
	name := "pvc-" + string(claim.UID)
	boundTo(t, e, "data", name)

	if err := classes.Delete(e.Ctx, "", "fast", nil); err != nil {
		t.Fatal(err)
	}
	// The claim below must come after the controller saw the class go (its informer is the
	// shared one): created earlier, it is rightly provisioned from the cached class.
	classCache := informer.For[storage.StorageClass](e.CC.Informers, persistentvolume.StorageClasses)
	testenv.Eventually(t, "the controller's cache to lose the class", func() (bool, string) {
		_, ok := classCache.Indexer().Get("fast")
		return !ok, fmt.Sprintf("cached: %v", ok)
	})
	late := newPVC("late", "1Gi", ptr("fast"))
	late.Annotations = map[string]string{core.AnnSelectedNode: "n1"}
	testenv.Create(t, e, controller.PersistentVolumeClaims, late)
	eventFor(t, e, "ProvisioningFailed", "default/late", `storageclass.storage.k8s.io "fast" not found`)
	if c := getPVC(t, e, "late"); c.Status.Phase != core.ClaimPending || c.Spec.VolumeName != "" {
		t.Fatalf("claim of a deleted class: %s %q", c.Status.Phase, c.Spec.VolumeName)
	}
	// The controller has seen the class go: the claim made before is still bound.
	boundTo(t, e, "data", name)
	// Reclaim needs only the volume's own policy.
	if err := client.For[core.PersistentVolumeClaim](e.Client, controller.PersistentVolumeClaims).Delete(e.Ctx, "default", "data", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "volume of the deleted class reclaimed", func() (bool, string) {
		v := getPV(t, e, name)
		return v == nil, fmt.Sprint(v != nil)
	})
}

// Many claims at once over as many equal volumes: the workers reserve different volumes
// (the claimRef writes run in parallel), and every claim ends bound to its own.
func TestManyClaimsManyVolumes(t *testing.T) {
	e := start(t)
	const n = 30
	for i := range n {
		testenv.Create(t, e, pvs, newPV(fmt.Sprintf("bulk-%02d", i), "1Gi", "bulk", core.PersistentVolumeReclaimRetain))
	}
	for i := range n {
		testenv.Create(t, e, controller.PersistentVolumeClaims, newPVC(fmt.Sprintf("c-%02d", i), "1Gi", ptr("bulk")))
	}
	testenv.Eventually(t, "every claim bound to its own volume", func() (bool, string) {
		byVolume := map[string]string{}
		for i := range n {
			c := getPVC(t, e, fmt.Sprintf("c-%02d", i))
			if c.Status.Phase != core.ClaimBound {
				return false, c.Name + " " + string(c.Status.Phase)
			}
			if other, ok := byVolume[c.Spec.VolumeName]; ok {
				t.Fatalf("%s and %s both bound to %s", other, c.Name, c.Spec.VolumeName)
			}
			byVolume[c.Spec.VolumeName] = c.Name
		}
		for v, c := range byVolume {
			if pv := getPV(t, e, v); pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != c || pv.Status.Phase != core.VolumeBound {
				return false, v + " not bound back to " + c
			}
		}
		return true, ""
	})
}
