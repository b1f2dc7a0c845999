package containerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// PortForward dials port on localhost inside the sandbox's network namespace (as the
// CRI does, so a server bound to 127.0.0.1 in the pod is reachable too) and copies
// between that connection and stream until the pod's side is done sending.
func (r *Runtime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	nctx := r.ns(ctx)
	c, err := r.client.LoadContainer(nctx, sandboxID)
	if err != nil {
		return err
	}
	task, err := c.Task(nctx, nil)
	if err != nil {
		return fmt.Errorf("sandbox %s is not running: %w", sandboxID, err)
	}
	conn, err := dialInNetNS(fmt.Sprintf("/proc/%d/ns/net", task.Pid()), port)
	if err != nil {
		return err
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		// The client is done sending: pass the half-close on, so the server in the pod
		// sees EOF and can still answer.
		_, _ = io.Copy(conn, stream)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	})
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			conn.Close()
		case <-done:
		}
	}()
	_, err = io.Copy(stream, conn)
	close(done)
	// The pod's side ended: the caller closes stream, which ends the other copy.
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// dialInNetNS connects to localhost:port in the network namespace at nsPath. The socket
// is made on an OS thread switched into that namespace and keeps belonging to it after
// the thread switches back.
func dialInNetNS(nsPath string, port int32) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	res := make(chan result, 1)
	go func() {
		// A thread whose namespace cannot be restored must not run other goroutines:
		// returning without UnlockOSThread makes the Go runtime retire it.
		goruntime.LockOSThread()
		conn, restored, err := dialOnThread(nsPath, port)
		if restored {
			goruntime.UnlockOSThread()
		}
		res <- result{conn, err}
	}()
	r := <-res
	return r.conn, r.err
}

func dialOnThread(nsPath string, port int32) (conn net.Conn, restored bool, err error) {
	self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		return nil, true, fmt.Errorf("own network namespace: %w", err)
	}
	defer self.Close()
	target, err := os.Open(nsPath)
	if err != nil {
		return nil, true, fmt.Errorf("pod network namespace: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("enter pod network namespace: %w", err)
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err = d.Dial("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		var err6 error
		if conn, err6 = d.Dial("tcp6", net.JoinHostPort("::1", strconv.Itoa(int(port)))); err6 == nil {
			err = nil
		}
	}
	if serr := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); serr != nil {
		if conn != nil {
			conn.Close()
		}
		return nil, false, errors.Join(err, fmt.Errorf("leave pod network namespace: %w", serr))
	}
	if err != nil {
		return nil, true, fmt.Errorf("dial port %d in the pod: %w", port, err)
	}
	return conn, true, nil
}
