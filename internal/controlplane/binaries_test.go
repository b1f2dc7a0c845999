package controlplane

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The binaries of test processes that are gone are removed; a live process's are kept.
func TestRemoveStaleBinaries(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	gone := filepath.Join(tmp, binPrefix+"999999999-x") // no such process
	live := filepath.Join(tmp, fmt.Sprintf("%s%d-x", binPrefix, os.Getppid()))
	for _, d := range []string{gone, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeStaleBinaries()
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the directory of a process that is gone was kept")
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the directory of a live process was removed: %v", err)
	}
}
