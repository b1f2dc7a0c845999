package logs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The logger of a container with stdin and no terminal opens its FIFOs itself, waits for
// their writer (the shim), records both streams, and ends when the writer closes them.
func TestFIFOLogger(t *testing.T) {
	dir := t.TempDir()
	out, errf, logPath := filepath.Join(dir, "c.stdout"), filepath.Join(dir, "c.stderr"), filepath.Join(dir, "log", "c.log")
	for _, p := range []string{out, errf} {
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- RunFIFOLogger(logPath, out, errf) }()
	// The shim's side: open for writing (which waits for the logger's open), write, close.
	for p, text := range map[string]string{out: "hello\n", errf: "oops\n"} {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(text)
		f.Close()
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the logger did not end when its FIFOs closed")
	}
	var b bytes.Buffer
	if err := Read(context.Background(), logPath, Options{TailLines: -1, Stream: "stdout"}, &b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "hello\n" {
		t.Errorf("stdout %q", b.String())
	}
	b.Reset()
	if err := Read(context.Background(), logPath, Options{TailLines: -1, Stream: "stderr"}, &b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "oops\n" {
		t.Errorf("stderr %q", b.String())
	}
}
