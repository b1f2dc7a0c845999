package containerd

// A container's own stdin and terminal (kubectl attach -it, kubectl debug -it): a container
// created with TTY gets a terminal, whose output the shim hands to the logger like any
// stdout, and with Stdin too a FIFO the shim copies into that terminal (the process sees
// EOF only when told to close it); attaching writes into that FIFO.
//
// Without a terminal there is no stdin to attach to: the shim runs the logger binary with
// the process's stdout and stderr and gives the process no stdin at all.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

func (r *Runtime) stdinPath(id string) string { return filepath.Join(r.fifoDir, id+".stdin") }

// withStdio adds the stdin FIFO and the terminal a container's labels ask for to the IO
// its task is created with.
func (r *Runtime) withStdio(creator cio.Creator, id string, labels map[string]string) (cio.Creator, error) {
	tty := labels[labelTTY] == "true"
	stdin := tty && labels[labelStdin] == "true"
	if !tty {
		return creator, nil
	}
	path := ""
	if stdin {
		path = r.stdinPath(id)
		if err := unix.Mkfifo(path, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("stdin fifo: %w", err)
		}
	}
	return func(id string) (cio.IO, error) {
		io, err := creator(id)
		if err != nil {
			return nil, err
		}
		return &stdioIO{IO: io, stdin: path, terminal: tty}, nil
	}, nil
}

// stdioIO is an IO whose config names a stdin FIFO and asks for a terminal.
type stdioIO struct {
	cio.IO
	stdin    string
	terminal bool
}

func (s *stdioIO) Config() cio.Config {
	c := s.IO.Config()
	c.Stdin, c.Terminal = s.stdin, s.terminal
	return c
}

func (r *Runtime) AttachStdin(ctx context.Context, id string, stdin io.Reader, resize <-chan runtime.TerminalSize) error {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, id)
	if err != nil {
		return err
	}
	labels, err := c.Labels(nctx)
	if err != nil {
		return err
	}
	task, err := c.Task(nctx, nil)
	if err != nil {
		return fmt.Errorf("container %s is not running: %w", id, err)
	}
	if resize != nil && labels[labelTTY] == "true" {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-resize:
					if !ok {
						return
					}
					_ = task.Resize(nctx, uint32(sz.Width), uint32(sz.Height))
				}
			}
		}()
	}
	if stdin == nil {
		<-ctx.Done()
		return nil
	}
	if labels[labelStdin] != "true" || labels[labelTTY] != "true" {
		return fmt.Errorf("container %s was not created with stdin and tty: %w", id, runtime.ErrNotSupported)
	}
	// The shim holds the FIFO's read end: opening the write end does not block.
	f, err := os.OpenFile(r.stdinPath(id), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open stdin: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(f, stdin)
		done <- err
	}()
	select {
	case <-ctx.Done():
		f.Close()
		return nil
	case <-done:
	}
	f.Close()
	if labels[labelStdinOnce] == "true" {
		return task.CloseIO(context.WithoutCancel(nctx), ctrd.WithStdinCloser)
	}
	return nil
}
