package server

// The streaming endpoints, on the kubelet's paths, which the API server relays
// pods/exec, pods/attach and pods/portforward to (it forwards the upgrade untouched):
//
//	GET|POST /exec/{namespace}/{pod}/{container}?command=...&stdin=&stdout=&stderr=&tty=
//	GET|POST /attach/{namespace}/{pod}/{container}?stdin=&stdout=&stderr=&tty=
//	GET|POST /portForward/{namespace}/{pod}
//
// Two transports, chosen by the request's upgrade:
//
//   - WebSocket (what kubectl ≥ 1.31 tries first). exec and attach speak
//     v5.channel.k8s.io (or v4): every binary message is one channel byte — 0 stdin,
//     1 stdout, 2 stderr, 3 error, 4 resize — then data; v5 adds 255 CLOSE, whose
//     next byte names the channel the client is done writing (stdin's EOF).
//     Port-forward speaks SPDY/3.1+portforward.k8s.io: the SPDY protocol below,
//     carried in WebSocket binary messages.
//   - SPDY/3.1 (kubectl's fallback): exec and attach open one SPDY stream per channel,
//     named by their streamType header (error, stdin, stdout, stderr, resize), with
//     v5..v2.channel.k8s.io negotiated in X-Stream-Protocol-Version; port-forward
//     (portforward.k8s.io) opens an error stream and a data stream per connection,
//     paired by their requestID header, each naming the pod's port.
//
// The error channel ends a session: v4 and later send a metav1.Status (Success, or
// Failure with reason NonZeroExitCode and an ExitCode cause, from which kubectl takes
// its own exit code); v2 and v3 send a plain-text message on failure only.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/logs"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Subprotocols of the streaming endpoints.
const (
	protoChannelV5   = "v5.channel.k8s.io"
	protoChannelV4   = "v4.channel.k8s.io"
	protoChannelV3   = "v3.channel.k8s.io"
	protoChannelV2   = "v2.channel.k8s.io"
	protoPortForward = "portforward.k8s.io"
	// spdyTunnelPrefix marks a WebSocket subprotocol that carries SPDY (port-forward).
	spdyTunnelPrefix = "SPDY/3.1+"
)

// firstSizeWait is how long exec with a terminal waits for the client's window size.
const firstSizeWait = time.Second

// streamRequest is what a client asks of exec or attach.
type streamRequest struct {
	stdin, stdout, stderr, tty bool
	command                    []string
}

func parseStreamRequest(r *http.Request, exec bool) (*streamRequest, error) {
	q := r.URL.Query()
	sr := &streamRequest{
		stdin: isTrue(q.Get("stdin")), stdout: isTrue(q.Get("stdout")),
		stderr: isTrue(q.Get("stderr")), tty: isTrue(q.Get("tty")),
		command: q["command"],
	}
	if sr.tty {
		sr.stderr = false // a terminal has one output stream
	}
	if !sr.stdin && !sr.stdout && !sr.stderr {
		return nil, errors.New("you must specify at least one of stdin, stdout, stderr")
	}
	if exec && len(sr.command) == 0 {
		return nil, errors.New("you must specify at least one command for the container")
	}
	return sr, nil
}

// exitError is a process's non-zero exit.
type exitError struct {
	code int
	cmd  []string
}

func (e *exitError) Error() string {
	return fmt.Sprintf("command terminated with non-zero exit code: error executing command %v, exit code %d", e.cmd, e.code)
}

// sessionStatus is what the error channel carries at the end of a session (v4 and later).
func sessionStatus(err error) *meta.Status {
	st := &meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: meta.StatusSuccess}
	if err == nil {
		return st
	}
	st.Status, st.Message = meta.StatusFailure, err.Error()
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		st.Reason = "NonZeroExitCode"
		st.Details = &meta.StatusDetails{Causes: []meta.StatusCause{{Type: "ExitCode", Message: strconv.Itoa(ee.code)}}}
	case errors.Is(err, runtime.ErrNotSupported):
		st.Reason, st.Code = meta.ReasonBadRequest, http.StatusBadRequest
	default:
		st.Reason, st.Code = meta.ReasonInternalError, http.StatusInternalServerError
	}
	return st
}

// writeStatus answers a request that is not upgraded with a Status (which the API
// server passes on to kubectl).
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	st := meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status: meta.StatusFailure, Code: int32(code), Reason: reason, Message: msg}
	b, _ := json.Marshal(&st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

// runningContainer finds the newest instance of the container the request names, and
// answers the request itself when there is none running.
func (s *Server) runningContainer(w http.ResponseWriter, r *http.Request) (*core.Pod, *runtime.Container, bool) {
	ns, name, cname := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	pod := s.Pods(ns, name)
	if pod == nil {
		writeStatus(w, http.StatusNotFound, meta.ReasonNotFound, fmt.Sprintf("pod %s/%s not found on this node", ns, name))
		return nil, nil, false
	}
	if !hasContainer(pod, cname) {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, fmt.Sprintf("container %s is not valid for pod %s", cname, name))
		return nil, nil, false
	}
	cs, err := s.Runtime.ListContainers(r.Context(), pod.UID)
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, meta.ReasonInternalError, err.Error())
		return nil, nil, false
	}
	var instances []*runtime.Container
	for _, c := range cs {
		if c.Name == cname {
			instances = append(instances, c)
		}
	}
	sortNewest(instances)
	if len(instances) == 0 || instances[0].State != runtime.ContainerRunning {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, fmt.Sprintf("container %q in pod %q is not running", cname, name))
		return nil, nil, false
	}
	return pod, instances[0], true
}

// session is one exec or attach, whatever the transport: the streams the client asked
// for (nil otherwise), and finish, which reports the outcome and ends the session.
type session struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	resize         <-chan runtime.TerminalSize
	finish         func(error)
}

// serveSession upgrades the request to a session and runs fn in it. ctx ends when the
// client goes away.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, sr *streamRequest, fn func(ctx context.Context, sess *session) error) {
	var (
		sess *session
		ctx  context.Context
		err  error
	)
	switch {
	case isWebSocket(r):
		ctx, sess, err = s.webSocketSession(w, r, sr)
	case isSPDY(r):
		ctx, sess, err = s.spdySession(w, r, sr)
	default:
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest,
			"upgrade required: WebSocket ("+protoChannelV5+") or SPDY/3.1")
		return
	}
	if err != nil {
		if s.Log != nil {
			s.Log.Debug("stream upgrade failed", "path", r.URL.Path, "err", err)
		}
		return // the transport has answered
	}
	sess.finish(fn(ctx, sess))
}

func (s *Server) exec(w http.ResponseWriter, r *http.Request) {
	sr, err := parseStreamRequest(r, true)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, err.Error())
		return
	}
	_, c, ok := s.runningContainer(w, r)
	if !ok {
		return
	}
	s.serveSession(w, r, sr, func(ctx context.Context, sess *session) error {
		o := runtime.ExecOptions{Cmd: sr.command, TTY: sr.tty,
			Stdin: sess.stdin, Stdout: sess.stdout, Stderr: sess.stderr, Resize: sess.resize}
		if sess.resize != nil {
			// kubectl sends its window's size first thing: give the terminal that size
			// from the start, or a quick `stty size` would see 0x0.
			select {
			case sz := <-sess.resize:
				o.Size = &sz
			case <-time.After(firstSizeWait):
			case <-ctx.Done():
			}
		}
		code, err := s.Runtime.Exec(ctx, c.ID, o)
		if err != nil {
			return fmt.Errorf("error executing command in container: %w", err)
		}
		if code != 0 {
			return &exitError{code: code, cmd: sr.command}
		}
		return nil
	})
}

// attach streams what the container writes from now on, read from its log (the
// container's own stdio belongs to the log writer), and with stdin copies the client's
// input into the container's stdin (which it must have been created with: stdin: true).
func (s *Server) attach(w http.ResponseWriter, r *http.Request) {
	sr, err := parseStreamRequest(r, false)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, err.Error())
		return
	}
	pod, c, ok := s.runningContainer(w, r)
	if !ok {
		return
	}
	if spec := containerSpec(pod, c.Name); sr.stdin && (spec == nil || !spec.Stdin) {
		// Only a container created with stdin has one to attach to (runtime/containerd/attach.go).
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest,
			fmt.Sprintf("container %s in pod %s was not started with stdin: true: it has no stdin to attach to", c.Name, pod.Name))
		return
	}
	if c.LogPath == "" {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, "container has no log to attach to")
		return
	}
	s.serveSession(w, r, sr, func(ctx context.Context, sess *session) error {
		exited := func() bool {
			cur, err := s.Runtime.ListContainers(context.Background(), pod.UID)
			if err != nil {
				return true
			}
			for _, x := range cur {
				if x.ID == c.ID {
					return x.State == runtime.ContainerExited
				}
			}
			return true
		}
		var wg sync.WaitGroup
		// Output from now on: what the log holds from this instant (not from where its end
		// is once the reader has opened it, which input sent meanwhile may already be past).
		from := logs.Options{Follow: true, TailLines: -1, Since: time.Now()}
		if sess.stdin != nil || sess.resize != nil {
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				if err := s.Runtime.AttachStdin(actx, c.ID, sess.stdin, sess.resize); err != nil && s.Log != nil {
					s.Log.Debug("attach stdin", "container", c.ID, "err", err)
				}
			}()
		}
		follow := func(stream string, w io.Writer) {
			if w == nil {
				return
			}
			o := from
			o.Stream = stream
			wg.Go(func() { _ = logs.Read(ctx, c.LogPath, o, w, exited) })
		}
		if sr.tty {
			follow("", sess.stdout)
		} else {
			follow("stdout", sess.stdout)
			follow("stderr", sess.stderr)
		}
		wg.Wait()
		return nil
	})
}

func isWebSocket(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "websocket")
}

func isSPDY(r *http.Request) bool {
	return headerHas(r.Header, "Connection", "upgrade") && headerHas(r.Header, "Upgrade", "spdy/3.1")
}

// headerHas reports whether a comma-separated header holds token (case-insensitive).
func headerHas(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// negotiate picks the first of the client's protocols the server speaks.
func negotiate(client, server []string) (string, bool) {
	for _, c := range client {
		for _, p := range strings.Split(c, ",") {
			p = strings.TrimSpace(p)
			for _, sp := range server {
				if p == sp {
					return p, true
				}
			}
		}
	}
	return "", false
}
