package server

import (
	"archive/tar"
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func tarOf(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 2})
	tw.Write([]byte("{}"))
	tw.Close()
	return buf.Bytes()
}

func TestCheckArchive(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string // "" accepts
	}{
		{"tar", tarOf(t, "manifest.json"), ""},
		{"gzip", []byte{0x1f, 0x8b, 8, 0}, ""},
		{"empty", nil, "the upload is empty"},
		{"short", []byte("hello"), "5 bytes is too short for a tar archive"},
		{"text", bytes.Repeat([]byte("not an image\n"), 100), "not a tar archive (docker save or OCI layout)"},
	} {
		r := bufio.NewReaderSize(bytes.NewReader(tc.in), 4096)
		err := checkArchive(r)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if tc.want == "" {
			// Nothing was consumed: the importer reads the archive from its first byte.
			if n, _ := r.Peek(len(tc.in)); !bytes.Equal(n, tc.in) {
				t.Errorf("%s: the check consumed the stream", tc.name)
			}
		}
	}
}
