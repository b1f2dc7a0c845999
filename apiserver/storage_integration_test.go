package apiserver_test

import (
	"slices"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// A cluster starts with the default class; a claim naming no class gets it and the
// pvc-protection finalizer; a claim of a class that does not allow expansion cannot grow.
func TestStorageClassesAndClaimAdmission(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	sc := a.must(200, "GET", "/apis/storage.k8s.io/v1/storageclasses/standard", "")
	if sc["provisioner"] != "skiff.dev/local" || sc["volumeBindingMode"] != "WaitForFirstConsumer" ||
		get(sc, "metadata", "annotations", "storageclass.kubernetes.io/is-default-class") != "true" {
		t.Fatalf("default class: %v", sc)
	}
	a.must(201, "POST", "/apis/storage.k8s.io/v1/storageclasses",
		`{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"fixed"},"provisioner":"example.com/x"}`)
	fixed := a.must(200, "GET", "/apis/storage.k8s.io/v1/storageclasses/fixed", "")
	if fixed["reclaimPolicy"] != "Delete" || fixed["volumeBindingMode"] != "Immediate" {
		t.Fatalf("class defaults: %v", fixed)
	}
	a.must(422, "POST", "/apis/storage.k8s.io/v1/storageclasses",
		`{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"bad"},"provisioner":"x","reclaimPolicy":"Recycle"}`)

	const pvcs = "/api/v1/namespaces/default/persistentvolumeclaims"
	claim := a.must(201, "POST", pvcs, `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data"},
		"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}`)
	if get(claim, "spec", "storageClassName") != "standard" {
		t.Fatalf("claim class: %v", claim["spec"])
	}
	fins, _ := get(claim, "metadata", "finalizers").([]any)
	if !slices.Contains(fins, any("kubernetes.io/pvc-protection")) {
		t.Fatalf("claim finalizers: %v", fins)
	}
	none := a.must(201, "POST", pvcs, `{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"none"},
		"spec":{"storageClassName":"","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}`)
	if get(none, "spec", "storageClassName") != "" {
		t.Fatalf("explicit empty class replaced: %v", none["spec"])
	}
	// Growing a claim that is not bound is refused by PersistentVolumeClaimResize.
	code, st := a.do("PATCH", pvcs+"/data", "application/merge-patch+json", []byte(`{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`))
	if code != 403 || st["message"] != `persistentvolumeclaims "data" is forbidden: Only bound persistent volume claims can be expanded` {
		t.Fatalf("growing a pending claim: %d %v", code, st["message"])
	}
}
