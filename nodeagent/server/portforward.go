package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/moby/spdystream"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// portForward serves kubectl port-forward: SPDY (portforward.k8s.io), directly or
// tunnelled in WebSocket binary messages. Every forwarded connection is a pair of
// streams with the same requestID: an error stream, where a failure is reported as
// text, and a data stream, connected to the pod's port.
func (s *Server) portForward(w http.ResponseWriter, r *http.Request) {
	ns, name := r.PathValue("namespace"), r.PathValue("pod")
	pod := s.Pods(ns, name)
	if pod == nil {
		writeStatus(w, http.StatusNotFound, meta.ReasonNotFound, fmt.Sprintf("pod %s/%s not found on this node", ns, name))
		return
	}
	sandbox, err := s.readySandbox(r.Context(), pod)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	h := &pairer{ctx: ctx, forward: func(p *streamPair) { s.forwardPair(ctx, pod, sandbox, p) }, pairs: map[string]*streamPair{}}
	var (
		sc     *spdystream.Connection
		closer io.Closer
	)
	switch {
	case isWebSocket(r):
		conn, err := upgradeWebSocket(w, r, []string{spdyTunnelPrefix + protoPortForward})
		if err != nil {
			return
		}
		nc := &wsNetConn{conn: conn}
		if sc, err = spdystream.NewConnection(nc, true); err != nil {
			nc.Close()
			return
		}
		closer = nc
		go sc.Serve(h.stream)
	case isSPDY(r):
		var err error
		sc, closer, _, err = upgradeSPDY(w, r, []string{protoPortForward}, h.stream)
		if err != nil {
			return
		}
	default:
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest,
			"upgrade required: WebSocket ("+spdyTunnelPrefix+protoPortForward+") or SPDY/3.1")
		return
	}
	// Forward until the client closes the connection.
	<-sc.CloseChan()
	cancel()
	h.resetAll()
	closer.Close()
}

// readySandbox is the pod's running sandbox.
func (s *Server) readySandbox(ctx context.Context, pod *core.Pod) (string, error) {
	sbs, err := s.Runtime.ListPodSandboxes(ctx, pod.UID)
	if err != nil {
		return "", err
	}
	var best *runtime.Sandbox
	for _, sb := range sbs {
		if sb.State == runtime.SandboxReady && (best == nil || sb.Attempt > best.Attempt) {
			best = sb
		}
	}
	if best == nil {
		return "", fmt.Errorf("pod %s/%s has no running sandbox", pod.Namespace, pod.Name)
	}
	return best.ID, nil
}

// forwardPair connects a pair's data stream to its port in the pod.
func (s *Server) forwardPair(ctx context.Context, pod *core.Pod, sandbox string, p *streamPair) {
	defer p.data.Close()
	defer p.errStream.Close()
	port, err := strconv.ParseUint(p.data.Headers().Get(headerPort), 10, 16)
	if err == nil && port == 0 {
		err = fmt.Errorf("port must be between 1 and 65535")
	}
	if err == nil {
		err = s.Runtime.PortForward(ctx, sandbox, int32(port), p.data)
	}
	if err != nil {
		fmt.Fprintf(p.errStream, "error forwarding port %d to pod %s, uid %v: %v", port, pod.Name, pod.UID, err)
	}
}

// streamPair is a forwarded connection's two streams.
type streamPair struct {
	id              string
	data, errStream *spdystream.Stream
	timer           *time.Timer
}

// pairer collects the streams of a port-forward connection into pairs.
type pairer struct {
	ctx     context.Context
	forward func(*streamPair)
	mu      sync.Mutex
	pairs   map[string]*streamPair
}

func (h *pairer) stream(st *spdystream.Stream) {
	if err := st.SendReply(http.Header{}, false); err != nil {
		return
	}
	typ := st.Headers().Get(headerStreamType)
	id := st.Headers().Get(headerRequestID)
	if id == "" {
		// Clients before requestID open the error stream, then the data stream.
		switch typ {
		case "error":
			id = strconv.Itoa(int(st.Identifier()))
		case "data":
			id = strconv.Itoa(int(st.Identifier()) - 2)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.pairs[id]
	if p == nil {
		p = &streamPair{id: id}
		h.pairs[id] = p
		p.timer = time.AfterFunc(streamCreationTimeout, func() { h.expire(p) })
	}
	switch {
	case typ == "error" && p.errStream == nil:
		p.errStream = st
	case typ == "data" && p.data == nil:
		p.data = st
	default:
		_ = st.Reset()
		return
	}
	if p.errStream != nil && p.data != nil {
		p.timer.Stop()
		delete(h.pairs, id)
		go h.forward(p)
	}
}

// expire gives up on a pair whose second stream never came.
func (h *pairer) expire(p *streamPair) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pairs[p.id] != p {
		return
	}
	delete(h.pairs, p.id)
	if p.errStream != nil {
		fmt.Fprintf(p.errStream, "timed out waiting for the data stream of request %s", p.id)
		_ = p.errStream.Reset()
	}
	if p.data != nil {
		_ = p.data.Reset()
	}
}

func (h *pairer) resetAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, p := range h.pairs {
		p.timer.Stop()
		for _, st := range []*spdystream.Stream{p.data, p.errStream} {
			if st != nil {
				_ = st.Reset()
			}
		}
		delete(h.pairs, id)
	}
}
