package storage_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
)

// A key whose owner stops renewing disappears after its TTL; one removed goes at once; a
// renewal after the lease expired writes the key again under a new lease.
func TestLeasedKeys(t *testing.T) {
	e := storagetest.StartEtcd(t)
	ctx := context.Background()
	a := storage.NewLeasedKeys(e.Client(), "/registry/masterleases")
	b := storage.NewLeasedKeys(e.Client(), "/registry/masterleases/")
	changes := a.Changes(t.Context())
	if err := a.Renew(ctx, "10.0.0.1:6443", "10.0.0.1:6443", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.Renew(ctx, "10.0.0.2:6443", "10.0.0.2:6443", time.Minute); err != nil {
		t.Fatal(err)
	}
	list := func() []string {
		l, err := b.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if got := list(); !slices.Equal(got, []string{"10.0.0.1:6443", "10.0.0.2:6443"}) {
		t.Fatalf("List = %v", got)
	}
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no change notification for the keys written")
	}
	// a stops renewing: its key expires with its 1 s lease.
	storagetest.Eventually(t, 30*time.Second, "a's key to expire", func() bool {
		return slices.Equal(list(), []string{"10.0.0.2:6443"})
	})
	if err := a.Renew(ctx, "10.0.0.1:6443", "10.0.0.1:6443", time.Minute); err != nil {
		t.Fatalf("renew after expiry: %v", err)
	}
	if got := list(); !slices.Equal(got, []string{"10.0.0.1:6443", "10.0.0.2:6443"}) {
		t.Fatalf("after renewing an expired lease: List = %v", got)
	}
	if err := b.Remove(ctx, "10.0.0.2:6443"); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, []string{"10.0.0.1:6443"}) {
		t.Fatalf("after Remove: List = %v", got)
	}
}

// An etcd that is not there: WaitForQuorum gives up with a message naming it.
func TestWaitForQuorumNoEtcd(t *testing.T) {
	cli, err := storage.NewClient([]string{"http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	err = storage.WaitForQuorum(context.Background(), cli, []string{"http://127.0.0.1:1"}, time.Second, slog.Default())
	if err == nil || !strings.Contains(err.Error(), "etcd at http://127.0.0.1:1 did not answer with a leader") || !strings.Contains(err.Error(), "endpoint health") {
		t.Fatalf("err = %v", err)
	}
	e := storagetest.StartEtcd(t)
	if err := storage.WaitForQuorum(context.Background(), e.Client(), []string{e.Endpoint()}, time.Minute, slog.Default()); err != nil {
		t.Fatalf("a working etcd: %v", err)
	}
}
