package scheduler_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/scheduler"
	"github.com/skiff-sh/skiff/test/harness"
)

var (
	pvcR   = client.Resource{Version: "v1", Resource: "persistentvolumeclaims", Namespaced: true}
	pvR    = client.Resource{Version: "v1", Resource: "persistentvolumes"}
	scR    = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "storageclasses"}
	capR   = client.Resource{Group: storage.GroupName, Version: "v1", Resource: "csistoragecapacities", Namespaced: true}
	manual = "manual"
)

func localDir(n *core.Node) {
	n.Annotations = map[string]string{storage.LocalVolumeDirAnnotation: "/data/" + n.Name}
}

func (e *env) addClaim(name, class, size, volumeName string) *core.PersistentVolumeClaim {
	e.t.Helper()
	c := &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "default"},
		Spec: core.PersistentVolumeClaimSpec{AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: &class,
			VolumeName: volumeName,
			Resources:  core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse(size)}}}}
	out, err := client.For[core.PersistentVolumeClaim](e.c, pvcR).Create(context.Background(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// waitUnschedulableSaying waits until the pod is unschedulable for the reason want. Not the
// first message: the claim or volume just created may not have reached the scheduler's
// informers when it first tries the pod (it retries the pod when they arrive).
func (e *env) waitUnschedulableSaying(name, want string) {
	e.t.Helper()
	harness.Eventually(e.t, 20*time.Second, "pod "+name+" unschedulable: "+want, func() (bool, string) {
		p, err := e.pods.Get(context.Background(), "default", name)
		if err != nil {
			return false, err.Error()
		}
		if p.Spec.NodeName != "" {
			return false, "bound to " + p.Spec.NodeName
		}
		for _, c := range p.Status.Conditions {
			if c.Type == core.PodScheduled && c.Status == core.ConditionFalse && c.Reason == core.PodReasonUnschedulable {
				return strings.Contains(c.Message, want), "message " + c.Message
			}
		}
		return false, fmt.Sprintf("conditions=%+v", p.Status.Conditions)
	})
}

// addLocalPV creates an Available local volume on node, bound to claim when it is not nil.
func (e *env) addLocalPV(name, node, class, size string, claim *core.PersistentVolumeClaim) *core.PersistentVolume {
	e.t.Helper()
	pv := &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: name},
		Spec: core.PersistentVolumeSpec{Capacity: core.ResourceList{core.ResourceStorage: resource.MustParse(size)},
			AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce}, StorageClassName: class,
			PersistentVolumeSource: core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: "/mnt/" + name}},
			NodeAffinity: &core.VolumeNodeAffinity{Required: &core.NodeSelector{NodeSelectorTerms: []core.NodeSelectorTerm{{
				MatchExpressions: []core.NodeSelectorRequirement{{Key: core.LabelHostname, Operator: core.NodeSelectorOpIn, Values: []string{node}}}}}}}}}
	if claim != nil {
		pv.Spec.ClaimRef = &core.ObjectReference{Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID}
	}
	pvs := client.For[core.PersistentVolume](e.c, pvR)
	out, err := pvs.Create(context.Background(), pv)
	if err != nil {
		e.t.Fatal(err)
	}
	out.Status.Phase = core.VolumeAvailable
	if claim != nil {
		out.Status.Phase = core.VolumeBound
	}
	if out, err = pvs.UpdateStatus(context.Background(), out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func withClaim(claim string) podOpt {
	return withSpec(func(s *core.PodSpec) {
		s.Volumes = append(s.Volumes, core.Volume{Name: "data", VolumeSource: core.VolumeSource{
			PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	})
}

func TestVolumeBinding(t *testing.T) {
	// The cluster's objects exist before the scheduler starts, so that its synced caches
	// hold them all (capacities included) when the first pod comes.
	srv := harness.StartServer(t, harness.ServerOptions{})
	cl, err := client.New(srv.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, c: cl, pods: client.For[core.Pod](cl, podsR), nodes: client.For[core.Node](cl, nodesR), events: client.For[core.Event](cl, eventsR)}
	e.addNode("n1", "4", "8Gi")
	e.addNode("n2", "4", "8Gi", localDir)
	e.addNode("n3", "4", "8Gi", localDir)
	wffc := storage.VolumeBindingWaitForFirstConsumer
	if _, err := client.For[storage.StorageClass](e.c, scR).Create(context.Background(), &storage.StorageClass{
		ObjectMeta: meta.ObjectMeta{Name: manual}, Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &wffc}); err != nil {
		t.Fatal(err)
	}
	// Two CSI classes: the driver of one asks for capacity tracking.
	for class, driver := range map[string]string{"csi-untracked": "untracked.example.com", "csi-tracked": "tracked.example.com"} {
		if _, err := client.For[storage.StorageClass](e.c, scR).Create(context.Background(), &storage.StorageClass{
			ObjectMeta: meta.ObjectMeta{Name: class}, Provisioner: driver, VolumeBindingMode: &wffc}); err != nil {
			t.Fatal(err)
		}
	}
	yes := true
	if _, err := client.For[storage.CSIDriver](e.c, client.Resource{Group: storage.GroupName, Version: "v1", Resource: "csidrivers"}).Create(context.Background(),
		&storage.CSIDriver{ObjectMeta: meta.ObjectMeta{Name: "tracked.example.com"}, Spec: storage.CSIDriverSpec{StorageCapacity: &yes}}); err != nil {
		t.Fatal(err)
	}
	// Capacity of the default class is published: n2 has 1Gi of room, n3 100Gi.
	for node, size := range map[string]string{"n2": "1Gi", "n3": "100Gi"} {
		q := resource.MustParse(size)
		if _, err := client.For[storage.CSIStorageCapacity](e.c, capR).Create(context.Background(), &storage.CSIStorageCapacity{
			ObjectMeta: meta.ObjectMeta{Name: "cap-" + node, Namespace: "kube-system"}, StorageClassName: storage.DefaultClassName, Capacity: &q,
			NodeTopology: &meta.LabelSelector{MatchLabels: map[string]string{core.LabelHostname: node}}}); err != nil {
			t.Fatal(err)
		}
	}
	e.sched = e.startScheduler(nil, scheduler.LeaderElection{})
	e.waitCachedNodes(3)

	// A claim bound to a local volume pins its pod to the volume's node.
	bound := e.addClaim("bound", manual, "1Gi", "pv-n1")
	e.addLocalPV("pv-n1", "n1", manual, "1Gi", bound)
	e.addPod("uses-bound", withClaim("bound"))
	if n := e.waitBound("uses-bound"); n != "n1" {
		t.Fatalf("pod of a volume on n1 went to %s", n)
	}

	// An unbound WaitForFirstConsumer claim with a static volume: the pod goes where the
	// volume is, and the scheduler gives the volume to the claim.
	e.addLocalPV("pv-n3", "n3", manual, "5Gi", nil)
	static := e.addClaim("static", manual, "2Gi", "")
	e.addPod("uses-static", withClaim("static"))
	if n := e.waitBound("uses-static"); n != "n3" {
		t.Fatalf("pod of the only matching volume (n3) went to %s", n)
	}
	harness.Eventually(t, 20*time.Second, "pv-n3 given to the claim", func() (bool, string) {
		pv, _ := client.For[core.PersistentVolume](e.c, pvR).Get(context.Background(), "", "pv-n3")
		return pv.Spec.ClaimRef != nil && pv.Spec.ClaimRef.UID == static.UID, ""
	})
	// No volume is left for a second claim of the class.
	e.addClaim("static-2", manual, "2Gi", "")
	e.addPod("uses-static-2", withClaim("static-2"))
	e.waitUnschedulableSaying("uses-static-2", "didn't find available persistent volumes to bind")

	// Dynamic: the default class provisions on a node that has a local volume directory;
	// the scheduler annotates the claim with the node it chose.
	e.addClaim("dynamic", storage.DefaultClassName, "1Gi", "")
	e.addPod("uses-dynamic", withClaim("dynamic"))
	n := e.waitBound("uses-dynamic")
	if n == "n1" {
		t.Fatal("n1 has no local volume directory")
	}
	c, _ := client.For[core.PersistentVolumeClaim](e.c, pvcR).Get(context.Background(), "default", "dynamic")
	if c.Annotations[core.AnnSelectedNode] != n {
		t.Fatalf("selected-node %q, pod on %s", c.Annotations[core.AnnSelectedNode], n)
	}

	// Capacity: only n3 has room for 50Gi, no node for 500Gi.
	e.addClaim("big", storage.DefaultClassName, "50Gi", "")
	e.addPod("uses-big", withClaim("big"))
	if n := e.waitBound("uses-big"); n != "n3" {
		t.Fatalf("50Gi went to %s, only n3 has room", n)
	}
	e.addClaim("huge", storage.DefaultClassName, "500Gi", "")
	e.addPod("uses-huge", withClaim("huge"))
	e.waitUnschedulableSaying("uses-huge", "did not have enough free storage")

	// A CSI driver's capacity counts only when its CSIDriver asks for tracking: without one
	// a claim of any size is provisioned; with storageCapacity and nothing published, no
	// node has room.
	e.addClaim("csi-untracked", "csi-untracked", "1Ti", "")
	e.addPod("uses-csi-untracked", withClaim("csi-untracked"))
	e.waitBound("uses-csi-untracked")
	e.addClaim("csi-tracked", "csi-tracked", "1Gi", "")
	e.addPod("uses-csi-tracked", withClaim("csi-tracked"))
	e.waitUnschedulableSaying("uses-csi-tracked", "did not have enough free storage")

	// An unbound claim of an Immediate class: the pod waits for the PV controller.
	e.addClaim("immediate", "", "1Gi", "")
	e.addPod("uses-immediate", withClaim("immediate"))
	e.waitUnschedulableSaying("uses-immediate", "pod has unbound immediate PersistentVolumeClaims")
	// A claim that does not exist.
	e.addPod("uses-missing", withClaim("missing"))
	e.waitUnschedulableSaying("uses-missing", `persistentvolumeclaim "missing" not found`)
	// A volume whose node went away: the pod stays Pending and says why.
	lost := e.addClaim("lost", manual, "1Gi", "pv-gone")
	e.addLocalPV("pv-gone", "gone", manual, "1Gi", lost)
	e.addPod("uses-lost", withClaim("lost"))
	e.waitUnschedulableSaying("uses-lost", `persistentvolume "pv-gone" of claim "lost" is on node "gone", which does not exist`)
}
