package apiserver

import (
	"context"
	"errors"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
)

// The allocator's keys are the ones the API serves the kinds under.
func TestAllocatorKeysAreTheKinds(t *testing.T) {
	reg := registry.Default()
	for prefix, res := range map[string]string{IPAddressPrefix: "ipaddresses", ServiceCIDRPrefix: "servicecidrs"} {
		k, ok := reg.Lookup(networking.GroupName, "v1", res)
		if !ok || k.Prefix("") != prefix {
			t.Errorf("%s: registry prefix %v, allocator uses %s", res, k, prefix)
		}
	}
}

// repair, at start-up: a Service's address recorded the old way becomes its IPAddress,
// an allocator's IPAddress no Service holds is released, a user's IPAddress stays.
func TestAllocatorRepair(t *testing.T) {
	ctx := context.Background()
	store, _ := storagetest.NewStore(t)
	a, err := newAllocator(store, "10.96.0.0/12", 30000, 32767)
	if err != nil {
		t.Fatal(err)
	}
	legacy := &allocation{TypeMeta: meta.TypeMeta{Kind: "RangeAllocation", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: "10.96.0.9"}, Owner: "default/old"}
	user := newIPAddress("10.96.0.30", "default/gw")
	delete(user.Labels, networking.LabelManagedBy)
	for key, obj := range map[string]meta.Object{
		legacyIPPrefix + "10.96.0.9": legacy,
		ipKey("10.96.0.20"):          newIPAddress("10.96.0.20", "default/gone"),
		ipKey("10.96.0.30"):          user,
	} {
		if err := store.Create(ctx, key, obj); err != nil {
			t.Fatal(err)
		}
	}
	old := &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "old"},
		Spec: core.ServiceSpec{Type: core.ServiceTypeClusterIP, ClusterIP: "10.96.0.9", ClusterIPs: []string{"10.96.0.9"}}}
	if err := a.repair(ctx, []meta.Object{old}); err != nil {
		t.Fatal(err)
	}
	got := &networking.IPAddress{}
	if err := store.Get(ctx, ipKey("10.96.0.9"), got); err != nil || ownerOf(got) != "default/old" {
		t.Errorf("10.96.0.9: %v, owner %q; want an IPAddress of default/old", err, ownerOf(got))
	}
	if err := store.Get(ctx, legacyIPPrefix+"10.96.0.9", &allocation{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("legacy record: %v, want it gone", err)
	}
	if err := store.Get(ctx, ipKey("10.96.0.20"), &networking.IPAddress{}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("orphan IPAddress: %v, want it released", err)
	}
	if err := store.Get(ctx, ipKey("10.96.0.30"), &networking.IPAddress{}); err != nil {
		t.Errorf("user's IPAddress: %v, want it kept", err)
	}
}
