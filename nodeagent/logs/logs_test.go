package logs

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeLog(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "0.log")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	out, errw := NewWriters(f)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out.w.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	out.Write([]byte("one\ntwo\n"))
	errw.Write([]byte("oops\n"))
	out.Write([]byte("three"))
	out.Flush()
	f.Close()
	return p
}

func TestRead(t *testing.T) {
	p := writeLog(t)
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"all", Options{TailLines: -1}, "one\ntwo\noops\nthree"},
		{"tail 2", Options{TailLines: 2}, "oops\nthree"},
		{"tail 0", Options{TailLines: 0}, ""},
		{"stderr only", Options{TailLines: -1, Stream: "stderr"}, "oops\n"},
		{"since", Options{TailLines: -1, Since: time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)}, "oops\nthree"},
		{"timestamps", Options{TailLines: 1, Timestamps: true}, "2026-01-01T00:00:04Z three"},
		{"limit bytes", Options{TailLines: -1, LimitBytes: 6}, "one\ntw"},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := Read(context.Background(), p, tc.o, &b, nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if b.String() != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}

func TestLongLinesAreSplitIntoPartialRecords(t *testing.T) {
	var buf bytes.Buffer
	out, _ := NewWriters(&buf)
	long := bytes.Repeat([]byte("x"), maxRecord+10)
	out.Write(append(long, '\n'))
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 2 {
		t.Fatalf("%d records, want 2", len(lines))
	}
	first, _ := ParseRecord(lines[0])
	second, _ := ParseRecord(lines[1])
	if !first.Partial || second.Partial || len(first.Content)+len(second.Content) != len(long) {
		t.Errorf("records: partial=%v/%v sizes %d+%d", first.Partial, second.Partial, len(first.Content), len(second.Content))
	}
}
