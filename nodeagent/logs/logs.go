// Package logs writes and reads container logs in the CRI format the kubelet uses, one
// line per record:
//
//	2024-05-01T10:00:00.123456789Z stdout F hello world
//
// where F marks a full line and P a partial one (a long line is cut into records). Each
// container attempt logs to its own file, so `kubectl logs --previous` reads the one before.
//
// The writer side runs as a containerd "binary" logger (RunLogger): the containerd shim
// starts it with the container's stdout and stderr, so logging goes on while the agent
// itself is down or restarting.
package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// maxRecord is the longest record: longer lines are split into partial records.
const maxRecord = 16 << 10

// Writer writes CRI log records of one stream to a shared file.
type Writer struct {
	mu  *sync.Mutex
	out io.Writer
	now func() time.Time
}

// NewWriters returns the stdout and stderr writers of one log file.
func NewWriters(out io.Writer) (stdout, stderr *StreamWriter) {
	w := &Writer{mu: &sync.Mutex{}, out: out, now: time.Now}
	return &StreamWriter{w: w, stream: "stdout"}, &StreamWriter{w: w, stream: "stderr"}
}

// StreamWriter turns the bytes of one stream into records. Not safe for concurrent use
// (one per stream); the two streams of a file may write concurrently.
type StreamWriter struct {
	w      *Writer
	stream string
	buf    []byte
}

// Write buffers p and writes every complete line as a record.
func (s *StreamWriter) Write(p []byte) (int, error) {
	s.buf = append(s.buf, p...)
	for {
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		if i > maxRecord {
			if err := s.record(s.buf[:maxRecord], "P"); err != nil {
				return 0, err
			}
			s.buf = s.buf[maxRecord:]
			continue
		}
		if err := s.record(s.buf[:i], "F"); err != nil {
			return 0, err
		}
		s.buf = s.buf[i+1:]
	}
	for len(s.buf) >= maxRecord {
		if err := s.record(s.buf[:maxRecord], "P"); err != nil {
			return 0, err
		}
		s.buf = s.buf[maxRecord:]
	}
	return len(p), nil
}

// Flush writes a pending partial line (at EOF).
func (s *StreamWriter) Flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	err := s.record(s.buf, "P")
	s.buf = nil
	return err
}

func (s *StreamWriter) record(line []byte, tag string) error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	rec := make([]byte, 0, len(line)+48)
	rec = s.w.now().UTC().AppendFormat(rec, time.RFC3339Nano)
	rec = append(rec, ' ')
	rec = append(rec, s.stream...)
	rec = append(rec, ' ')
	rec = append(rec, tag...)
	rec = append(rec, ' ')
	rec = append(rec, line...)
	rec = append(rec, '\n')
	_, err := s.w.out.Write(rec)
	return err
}

// RunLogger is the containerd binary logger: fd 3 is the container's stdout, fd 4 its
// stderr, and closing fd 5 tells the shim the logger is ready. It copies both streams to
// path as CRI records until both close.
func RunLogger(path string) error {
	stdout, stderr, ready := os.NewFile(3, "stdout"), os.NewFile(4, "stderr"), os.NewFile(5, "ready")
	return copyToLog(path, func() { ready.Close() }, func() (*os.File, error) { return stdout, nil }, func() (*os.File, error) { return stderr, nil })
}

// RunFIFOLogger is the logger of a container whose stdio are FIFOs (one with stdin but
// no terminal, whose shim copies its output into the FIFOs instead of running a binary
// logger): it opens the FIFOs for reading — each open waits for the shim to open its end
// — and copies both streams to path as CRI records until the shim closes them.
func RunFIFOLogger(path, stdoutFIFO, stderrFIFO string) error {
	open := func(p string) func() (*os.File, error) {
		return func() (*os.File, error) { return os.OpenFile(p, os.O_RDONLY, 0) }
	}
	return copyToLog(path, nil, open(stdoutFIFO), open(stderrFIFO))
}

func copyToLog(path string, ready func(), stdout, stderr func() (*os.File, error)) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer f.Close()
	outW, errW := NewWriters(f)
	if ready != nil {
		ready()
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	copyStream := func(i int, open func() (*os.File, error), w *StreamWriter) {
		defer wg.Done()
		r, err := open()
		if err != nil {
			errs[i] = err
			return
		}
		defer r.Close()
		_, _ = io.Copy(w, r)
		_ = w.Flush()
	}
	wg.Add(2)
	go copyStream(0, stdout, outW)
	go copyStream(1, stderr, errW)
	wg.Wait()
	return errors.Join(errs...)
}

// Record is one parsed log record.
type Record struct {
	Time    time.Time
	Stream  string
	Partial bool
	Content []byte
}

// ParseRecord parses one line of a CRI log file (without its newline).
func ParseRecord(line []byte) (Record, error) {
	var r Record
	ts, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok {
		return r, errors.New("log record without a timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return r, fmt.Errorf("log record timestamp: %w", err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte(" "))
	if !ok {
		return r, errors.New("log record without a stream")
	}
	tag, content, _ := bytes.Cut(rest, []byte(" "))
	r.Time, r.Stream, r.Partial, r.Content = t, string(stream), string(tag) == "P", content
	return r, nil
}

// Options select what Read returns (kubectl logs' flags).
type Options struct {
	Follow     bool
	TailLines  int64 // < 0: all
	Since      time.Time
	Timestamps bool
	LimitBytes int64  // 0: no limit
	Stream     string // "", "stdout" or "stderr"
}

// Read writes the log at path to w as kubectl logs shows it. With Follow it keeps
// reading new records until ctx ends or done reports that the container has exited and
// the file is read to its end.
func Read(ctx context.Context, path string, o Options, w io.Writer, done func() bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if o.TailLines >= 0 {
		if err := seekTail(f, o.TailLines); err != nil {
			return err
		}
	}
	lw := &limitWriter{w: w, left: o.LimitBytes}
	br := bufio.NewReaderSize(f, 64<<10)
	var pending []byte // a line read up to EOF without its newline yet
	for {
		line, err := br.ReadBytes('\n')
		if err == nil {
			line = append(pending, line[:len(line)-1]...)
			pending = nil
			if werr := emit(lw, line, o); werr != nil {
				return werr
			}
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		pending = append(pending, line...)
		if !o.Follow {
			return nil
		}
		if done != nil && done() {
			// Exited: read what it wrote last, then stop.
			if rest, _ := io.ReadAll(br); len(rest) > 0 {
				for _, l := range bytes.Split(append(pending, rest...), []byte("\n")) {
					if len(l) > 0 {
						if werr := emit(lw, l, o); werr != nil {
							return werr
						}
					}
				}
			}
			return nil
		}
		if f, ok := w.(interface{ Flush() }); ok {
			f.Flush()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errLimit = errors.New("log limit reached")

type limitWriter struct {
	w    io.Writer
	left int64 // 0: unlimited; -1: exhausted
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left == 0 {
		return l.w.Write(p)
	}
	if l.left < 0 {
		return 0, errLimit
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	if l.left == 0 {
		l.left = -1
	}
	return n, err
}

func emit(w *limitWriter, line []byte, o Options) error {
	r, err := ParseRecord(line)
	if err != nil {
		return nil // a torn record (the file was cut): skip it
	}
	if !o.Since.IsZero() && r.Time.Before(o.Since) {
		return nil
	}
	if o.Stream != "" && o.Stream != r.Stream {
		return nil
	}
	var b []byte
	if o.Timestamps {
		b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
	}
	b = append(b, r.Content...)
	if !r.Partial {
		b = append(b, '\n')
	}
	if _, err := w.Write(b); err != nil {
		if errors.Is(err, errLimit) {
			return nil
		}
		return err
	}
	return nil
}

// seekTail positions f at the start of its last n lines.
func seekTail(f *os.File, n int64) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if n == 0 {
		_, err := f.Seek(size, io.SeekStart)
		return err
	}
	const chunk = 32 << 10
	var newlines int64
	pos := size
	buf := make([]byte, chunk)
	for pos > 0 {
		step := min(int64(chunk), pos)
		pos -= step
		if _, err := f.ReadAt(buf[:step], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := step - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				continue
			}
			if pos+i == size-1 {
				continue // the file's final newline ends the last line
			}
			newlines++
			if newlines == n {
				_, err := f.Seek(pos+i+1, io.SeekStart)
				return err
			}
		}
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}

// Tail returns the content of the last lines of a log (at most maxBytes), for the
// FallbackToLogsOnError termination message.
func Tail(path string, lines int64, maxBytes int) string {
	var b strings.Builder
	_ = Read(context.Background(), path, Options{TailLines: lines}, &b, nil)
	s := b.String()
	if len(s) > maxBytes {
		s = s[len(s)-maxBytes:]
	}
	return s
}
