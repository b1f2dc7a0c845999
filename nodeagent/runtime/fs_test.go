package runtime

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirUsage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 100<<10)
	data[0] = 1 // not all zero: some filesystems would not allocate blocks otherwise
	for _, f := range []string{"x", "a/y", "a/b/z"} {
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A hard link counts once.
	if err := os.Link(filepath.Join(dir, "x"), filepath.Join(dir, "a", "x2")); err != nil {
		t.Fatal(err)
	}
	u, err := DirUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if u.Bytes < 300<<10 || u.Bytes > 400<<10 || u.Inodes != 6 {
		t.Errorf("usage %+v, want about 300KiB and 6 inodes (3 dirs, 3 files)", u)
	}
	if u, err := DirUsage(filepath.Join(dir, "missing")); err != nil || u != (DiskUsage{}) {
		t.Errorf("missing dir: %+v %v", u, err)
	}
}
