package volumes

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
)

func TestLocalVolumeLifecycle(t *testing.T) {
	m, o := newManager(t)
	dir := filepath.Join(m.LocalDir, "pvc-1")
	pv := &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: "pvc-1", Finalizers: []string{"kubernetes.io/pv-protection"},
		Annotations: map[string]string{core.AnnDynamicallyProvisioned: storage.LocalProvisioner}},
		Spec: core.PersistentVolumeSpec{PersistentVolumeSource: core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: dir}}}}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"}, Spec: core.PodSpec{Volumes: []core.Volume{
		{Name: "data", VolumeSource: core.VolumeSource{PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: "data", ReadOnly: true}}}}}}
	o.pvs = map[string]*core.PersistentVolume{"pvc-1": pv}
	o.claims = map[string]*core.PersistentVolumeClaim{"data": {ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "ns"},
		Status: core.PersistentVolumeClaimStatus{Phase: core.ClaimPending}}}

	// Not bound yet: the pod waits, and says for what.
	if _, err := m.Setup(context.Background(), pod); err == nil || !strings.Contains(err.Error(), `persistentvolumeclaim "data" is not bound`) {
		t.Fatalf("unbound claim: %v", err)
	}
	o.claims["data"].Spec.VolumeName, o.claims["data"].Status.Phase = "pvc-1", core.ClaimBound
	mounts, err := m.Setup(context.Background(), pod)
	if err != nil {
		t.Fatal(err)
	}
	if got := mounts["data"]; got.HostPath != dir || !got.ReadOnly {
		t.Fatalf("mount %+v", got)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("volume directory: %v", err)
	}
	// The node held the volume before making its directory; a second setup writes nothing.
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	if want := []string{"pvc-1: kubernetes.io/pv-protection,skiff.dev/local-volume"}; !slices.Equal(o.updates, want) {
		t.Fatalf("updates %q, want %q", o.updates, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "data.txt"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory whose volume this node cannot read is left alone.
	stray := filepath.Join(m.LocalDir, "unknown")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}

	// Cleanup leaves live volumes alone...
	if err := m.CleanupLocalVolumes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data.txt")); err != nil {
		t.Fatal("data of a live volume removed")
	}
	// ...and removes a deleted one's data, then lets it go.
	now := meta.NewTime(time.Now())
	o.pvs["pvc-1"].DeletionTimestamp = &now
	if err := m.CleanupLocalVolumes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data of a deleted volume kept: %v", err)
	}
	if _, err := os.Stat(stray); err != nil {
		t.Fatal("stray directory removed")
	}
	if last := o.updates[len(o.updates)-1]; last != "pvc-1: kubernetes.io/pv-protection" {
		t.Fatalf("last update %q", last)
	}
}

func TestEphemeralClaimMustBeThePods(t *testing.T) {
	m, o := newManager(t)
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"}, Spec: core.PodSpec{Volumes: []core.Volume{
		{Name: "scratch", VolumeSource: core.VolumeSource{Ephemeral: &core.EphemeralVolumeSource{}}}}}}
	o.pvs = map[string]*core.PersistentVolume{"pv": {ObjectMeta: meta.ObjectMeta{Name: "pv"},
		Spec: core.PersistentVolumeSpec{PersistentVolumeSource: core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: t.TempDir()}}}}}
	claim := &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "web-scratch", Namespace: "ns"},
		Spec: core.PersistentVolumeClaimSpec{VolumeName: "pv"}, Status: core.PersistentVolumeClaimStatus{Phase: core.ClaimBound}}
	o.claims = map[string]*core.PersistentVolumeClaim{"web-scratch": claim}
	if _, err := m.Setup(context.Background(), pod); err == nil || !strings.Contains(err.Error(), "pod is not owner") {
		t.Fatalf("foreign claim: %v", err)
	}
	yes := true
	claim.OwnerReferences = []meta.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "pod-uid", Controller: &yes}}
	if _, err := m.Setup(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
}
