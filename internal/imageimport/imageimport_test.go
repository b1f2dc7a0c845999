package imageimport

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	tw.WriteHeader(&tar.Header{Name: "index.json", Mode: 0o644, Size: 2})
	tw.Write([]byte("{}"))
	tw.Close()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"tar", write("ok.tar", tb.Bytes()), ""},
		{"gzip", write("ok.tar.gz", []byte{0x1f, 0x8b, 8, 0, 0}), ""},
		{"missing", filepath.Join(dir, "nope.tar"), "no such file or directory"},
		{"directory", dir, "is not a file: give an image archive"},
		{"empty", write("empty.tar", nil), "0 bytes is too short for a tar archive"},
		{"text", write("notes.txt", bytes.Repeat([]byte("hello\n"), 200)), "is not an image archive: not a tar archive"},
	} {
		err := CheckFile(tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
