package containerd

// Running commands in containers: ExecSync for probes and hooks, Exec for kubectl exec and
// attach streams.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"syscall"
	"time"

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// ExecSync runs cmd in the container and returns its exit code and output.
func (r *Runtime) ExecSync(ctx context.Context, id string, cmd []string, timeout time.Duration) (*runtime.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var out boundedBuffer
	code, err := r.Exec(ctx, id, runtime.ExecOptions{Cmd: cmd, Stdout: &out, Stderr: &out})
	if err != nil {
		return nil, err
	}
	return &runtime.ExecResult{ExitCode: code, Output: out.Bytes()}, nil
}

// boundedBuffer keeps the first 16 KiB written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 16<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

// Exec runs a process in the container with the given streams and returns its exit code.
func (r *Runtime) Exec(ctx context.Context, id string, o runtime.ExecOptions) (int, error) {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, id)
	if err != nil {
		return 0, err
	}
	task, err := c.Task(nctx, nil)
	if err != nil {
		return 0, fmt.Errorf("container %s is not running: %w", id, err)
	}
	spec, err := c.Spec(nctx)
	if err != nil {
		return 0, err
	}
	pspec := *spec.Process
	pspec.Args, pspec.Terminal = o.Cmd, o.TTY
	if o.TTY && o.Size != nil {
		pspec.ConsoleSize = &specs.Box{Height: uint(o.Size.Height), Width: uint(o.Size.Width)}
	}
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || o.TTY {
		stderr = io.Discard // a terminal has one output stream
	}
	// The shim holds the stdin FIFO open itself: the process sees EOF only once it is
	// told to close it (CloseIO), which happens when the caller's stdin ends.
	var stdin io.Reader
	stdinEOF := make(chan struct{})
	if o.Stdin != nil {
		stdin = &eofReader{r: o.Stdin, eof: stdinEOF}
	}
	opts := []cio.Opt{cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(r.fifoDir)}
	if o.TTY {
		opts = append(opts, cio.WithTerminal)
	}
	execID := "exec-" + newID()[:16]
	// The process outlives ctx's cancellation long enough to be killed and deleted.
	bg := context.WithoutCancel(nctx)
	proc, err := task.Exec(bg, execID, &pspec, cio.NewCreator(opts...))
	if err != nil {
		return 0, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(bg, 10*time.Second)
		defer cancel()
		_, _ = proc.Delete(dctx, ctrd.WithProcessKill)
	}()
	wait, err := proc.Wait(bg)
	if err != nil {
		return 0, err
	}
	if err := proc.Start(bg); err != nil {
		return 0, fmt.Errorf("exec %q: %w", strings.Join(o.Cmd, " "), err)
	}
	exited := make(chan struct{})
	defer close(exited)
	if stdin != nil {
		go func() {
			select {
			case <-exited:
			case <-stdinEOF:
				_ = proc.CloseIO(bg, ctrd.WithStdinCloser)
			}
		}()
	}
	if o.TTY && o.Resize != nil {
		go func() {
			for {
				select {
				case <-exited:
					return
				case sz, ok := <-o.Resize:
					if !ok {
						return
					}
					_ = proc.Resize(bg, uint32(sz.Width), uint32(sz.Height))
				}
			}
		}()
	}
	select {
	case st := <-wait:
		if io := proc.IO(); io != nil {
			io.Wait()
		}
		code, _, err := st.Result()
		return int(code), err
	case <-ctx.Done():
		_ = proc.Kill(bg, syscall.SIGKILL)
		<-wait
		return 0, ctx.Err()
	}
}

// eofReader closes eof when r is read to its end.
type eofReader struct {
	r    io.Reader
	eof  chan struct{}
	once sync.Once
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil {
		e.once.Do(func() { close(e.eof) })
	}
	return n, err
}
