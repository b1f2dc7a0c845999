package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminConfigSaysWhatIsMissing: a data dir that holds no cluster is a clear error.
func TestAdminConfigSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.Mkdir(bad, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "kubeconfig"), []byte("not: [a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{filepath.Join(dir, "nope"), "data dir " + filepath.Join(dir, "nope") + " does not exist: start a cluster with `skiff up --data-dir"},
		{file, "is not a directory"},
		{empty, "no cluster in " + empty + ": " + filepath.Join(empty, "kubeconfig") + " does not exist"},
		{bad, "the admin kubeconfig " + filepath.Join(bad, "kubeconfig") + ":"},
	} {
		_, err := adminConfig(tc.dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("adminConfig(%s) = %v, want an error containing %q", tc.dir, err, tc.want)
		}
	}
}
