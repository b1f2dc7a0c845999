package nodeagent

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/resource"
)

func TestRoundRoom(t *testing.T) {
	const gi = int64(1) << 30
	for _, tc := range []struct{ free, total, want int64 }{
		{free: 57*gi + 123456, total: 100 * gi, want: 57 * gi},
		{free: 100 * gi, total: 100 * gi, want: 100 * gi},
		{free: 0, total: 100 * gi, want: 0},
		{free: 5<<20 + 7, total: 10 << 20, want: 5 << 20}, // small filesystems: 1MiB steps
	} {
		if got := roundRoom(tc.free, tc.total); got != tc.want {
			t.Errorf("roundRoom(%d, %d) = %d, want %d", tc.free, tc.total, got, tc.want)
		}
	}
}

// Before the first volume the directory does not exist: the room is that of its parent's
// filesystem.
func TestLocalVolumeRoomOfMissingDir(t *testing.T) {
	got, err := localVolumeRoom(filepath.Join(t.TempDir(), "local-volumes", "not-yet"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := strconv.ParseInt(got, 10, 64); err != nil || n < 0 {
		t.Fatalf("room %q (%v)", got, err)
	}
	if q, err := resource.ParseQuantity(got); err != nil || q.Sign() < 0 {
		t.Fatalf("room %q is not a quantity: %v", got, err)
	}
}

func TestSimLocalVolumeRoom(t *testing.T) {
	if got := simLocalVolumeRoom(core.ResourceList{core.ResourceEphemeralStorage: resource.MustParse("2Ti")}); got != strconv.FormatInt(2<<40, 10) {
		t.Fatalf("sim room %s", got)
	}
	if got := simLocalVolumeRoom(nil); got != strconv.FormatInt(1<<40, 10) {
		t.Fatalf("sim default room %s", got)
	}
}
