package containerd

// A container's own stdin and terminal (kubectl attach -it, kubectl debug -it, kubectl
// run -i): a container created with TTY gets a terminal, whose output the shim hands to
// the logger like any stdout, and with Stdin too a FIFO the shim copies into that terminal
// (the process sees EOF only when told to close it); attaching writes into that FIFO.
//
// Stdin without a terminal: with a binary logger the shim gives the process no stdin at
// all, so such a container's stdio are three FIFOs instead (the shim's "fifo" IO): the
// shim copies the stdin FIFO into the process's stdin (holding it open until CloseIO)
// and its stdout and stderr into the other two, which a logger the agent starts itself
// (`skiff-nodeagent container-logger PATH STDOUT STDERR`, in its own session so that it
// outlives an agent restart, as the shim's logger would) copies into the log.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	ctrd "github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"golang.org/x/sys/unix"

	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

func (r *Runtime) stdinPath(id string) string { return filepath.Join(r.fifoDir, id+".stdin") }

// outputFIFOs are the stdout and stderr FIFOs of a container with stdin and no terminal.
func (r *Runtime) outputFIFOs(id string) (string, string) {
	return filepath.Join(r.fifoDir, id+".stdout"), filepath.Join(r.fifoDir, id+".stderr")
}

// pipeStdio makes the FIFOs of a container with stdin and no terminal, starts the logger
// that copies its output into logPath, and returns the IO its task is created with.
func (r *Runtime) pipeStdio(id, logPath string) (cio.Creator, error) {
	stdout, stderr := r.outputFIFOs(id)
	for _, p := range []string{r.stdinPath(id), stdout, stderr} {
		if err := unix.Mkfifo(p, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("stdio fifo: %w", err)
		}
	}
	cmd := exec.Command(r.o.LoggerBinary, "container-logger", logPath, stdout, stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("container logger: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped here while the agent runs; init's after a restart
	cfg := cio.Config{Stdin: r.stdinPath(id), Stdout: stdout, Stderr: stderr}
	return func(string) (cio.IO, error) { return fifoIO{cfg}, nil }, nil
}

// releaseLogger ends the logger of a container whose task never opened its FIFOs: an
// open of each for writing (and its close) ends the logger's wait and its stream.
func (r *Runtime) releaseLogger(id string) {
	stdout, stderr := r.outputFIFOs(id)
	for _, p := range []string{stdout, stderr} {
		if f, err := os.OpenFile(p, os.O_RDWR|unix.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// fifoIO is IO whose FIFOs the shim and the logger use; the agent holds none of them.
type fifoIO struct{ cfg cio.Config }

func (f fifoIO) Config() cio.Config { return f.cfg }
func (fifoIO) Cancel()              {}
func (fifoIO) Wait()                {}
func (fifoIO) Close() error         { return nil }

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
	if labels[labelStdin] != "true" {
		return fmt.Errorf("container %s was not created with stdin: %w", id, runtime.ErrNotSupported)
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
