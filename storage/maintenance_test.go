package storage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/storagetest"
)

// A full database refuses writes with ErrNoSpace (never a crash), keeps what it had, takes
// deletes, and after maintenance (compact, defragment, disarm) takes writes again.
func TestFullDatabaseRecovers(t *testing.T) {
	ctx := context.Background()
	const quota = 16 << 20
	e, err := storage.StartEmbedded(ctx, t.TempDir(), storage.EmbeddedOptions{UnsafeNoFsync: true, QuotaBackendBytes: quota})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := storage.NewEtcd(e.Client(), storage.EtcdOptions{})
	big := strings.Repeat("x", 512<<10)
	var stored []string
	var full error
	for i := 0; i < 200 && full == nil; i++ {
		name := fmt.Sprintf("o%03d", i)
		err := s.Create(ctx, key("ns", name), storagetest.NewObject("ns", name, big))
		switch {
		case err == nil:
			stored = append(stored, name)
		case errors.Is(err, storage.ErrNoSpace):
			full = err
		default:
			t.Fatalf("create %s: %v", name, err)
		}
	}
	if full == nil {
		t.Fatalf("wrote %d × 512 KiB into a %d-byte quota without ErrNoSpace", len(stored), quota)
	}
	if !strings.Contains(full.Error(), "etcdserver: mvcc: database space exceeded") {
		t.Errorf("error %q does not carry etcd's message", full)
	}
	// What was acknowledged is there, and can be deleted to make room.
	n, err := s.Count(ctx, prefix)
	if err != nil || n != int64(len(stored)) {
		t.Fatalf("count %d (%v), want the %d acknowledged", n, err, len(stored))
	}
	for _, name := range stored {
		if _, err := s.Delete(ctx, key("ns", name), storagetest.New, nil); err != nil {
			t.Fatalf("delete %s while full: %v", name, err)
		}
	}
	// Still refused: the alarm stays until maintenance disarms it.
	if err := s.Create(ctx, key("ns", "after"), storagetest.NewObject("ns", "after", "v")); !errors.Is(err, storage.ErrNoSpace) {
		t.Fatalf("create before maintenance: %v, want ErrNoSpace", err)
	}
	if err := storage.MaintainOnce(ctx, e.Client(), e.Endpoint(), storage.MaintenanceOptions{Quota: quota}, slog.Default()); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, key("ns", "after"), storagetest.NewObject("ns", "after", "v")); err != nil {
		t.Fatalf("create after maintenance: %v", err)
	}
	st, err := e.Client().Status(ctx, e.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if st.DbSize > quota/2 {
		t.Errorf("database still %d bytes after defragmentation (quota %d)", st.DbSize, quota)
	}
}
