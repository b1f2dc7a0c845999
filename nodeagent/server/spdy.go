package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/moby/spdystream"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

const (
	// streamCreationTimeout bounds how long a SPDY client takes to open a session's
	// streams (or the second stream of a port-forward pair).
	streamCreationTimeout = 30 * time.Second
	// spdyCloseGrace is how long the client has to close a finished session's connection.
	spdyCloseGrace = 10 * time.Second
)

// Stream headers of the SPDY protocols.
const (
	headerStreamType = "streamType"
	headerPort       = "port"
	headerRequestID  = "requestID"
	headerProtocol   = "X-Stream-Protocol-Version"
)

// upgradeSPDY answers a SPDY/3.1 upgrade, negotiating one of protocols, and serves the
// SPDY connection with handler. A request whose upgrade cannot be accepted is answered
// with a Status and an error is returned.
func upgradeSPDY(w http.ResponseWriter, r *http.Request, protocols []string, handler spdystream.StreamHandler) (*spdystream.Connection, net.Conn, string, error) {
	offered := r.Header.Values(headerProtocol)
	proto, ok := negotiate(offered, protocols)
	if !ok {
		if len(offered) > 0 {
			msg := fmt.Sprintf("unable to upgrade: unable to negotiate protocol: client supports %v, server supports %v", offered, protocols)
			writeStatus(w, http.StatusForbidden, meta.ReasonForbidden, msg)
			return nil, nil, "", errors.New(msg)
		}
		proto = protocols[len(protocols)-1] // an old client that names none
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeStatus(w, http.StatusInternalServerError, meta.ReasonInternalError, "unable to upgrade: "+err.Error())
		return nil, nil, "", err
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n" +
		headerProtocol + ": " + proto + "\r\n\r\n"
	if _, err := conn.Write([]byte(resp)); err != nil {
		conn.Close()
		return nil, nil, "", err
	}
	nc := &bufferedConn{Conn: conn, r: brw.Reader}
	sc, err := spdystream.NewConnection(nc, true)
	if err != nil {
		nc.Close()
		return nil, nil, "", err
	}
	go sc.Serve(handler)
	return sc, nc, proto, nil
}

// bufferedConn reads what the HTTP server had buffered before the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// spdySession upgrades to SPDY with a channel protocol and waits for the client to open
// the streams the request asked for.
func (s *Server) spdySession(w http.ResponseWriter, r *http.Request, sr *streamRequest) (context.Context, *session, error) {
	streams := make(chan *spdystream.Stream, 8)
	accept := func(st *spdystream.Stream) {
		if err := st.SendReply(http.Header{}, false); err != nil {
			return
		}
		select {
		case streams <- st:
		default:
			_ = st.Reset() // more streams than any session has
		}
	}
	sc, nc, proto, err := upgradeSPDY(w, r, []string{protoChannelV5, protoChannelV4, protoChannelV3, protoChannelV2}, accept)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{"error": true, "stdin": sr.stdin, "stdout": sr.stdout, "stderr": sr.stderr,
		"resize": sr.tty && proto != protoChannelV2}
	got := map[string]*spdystream.Stream{}
	n := 0
	for _, w := range want {
		if w {
			n++
		}
	}
	timeout := time.NewTimer(streamCreationTimeout)
	defer timeout.Stop()
	for len(got) < n {
		select {
		case st := <-streams:
			typ := st.Headers().Get(headerStreamType)
			if !want[typ] || got[typ] != nil {
				_ = st.Reset()
				continue
			}
			got[typ] = st
		case <-timeout.C:
			sc.Close()
			nc.Close()
			return nil, nil, fmt.Errorf("timed out waiting for the client to open its streams (has %d of %d)", len(got), n)
		case <-sc.CloseChan():
			nc.Close()
			return nil, nil, errors.New("connection closed before the streams were open")
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-sc.CloseChan():
		case <-ctx.Done():
		}
		cancel()
	}()
	// Only streams that exist go into the session (a nil *Stream is not a nil io.Reader).
	sess := &session{}
	if st := got["stdin"]; st != nil {
		sess.stdin = st
	}
	if st := got["stdout"]; st != nil {
		sess.stdout = st
	}
	if st := got["stderr"]; st != nil {
		sess.stderr = st
	}
	if st := got["resize"]; st != nil {
		resize := make(chan runtime.TerminalSize, 1)
		sess.resize = resize
		go func() {
			dec := json.NewDecoder(st)
			for {
				var sz runtime.TerminalSize
				if err := dec.Decode(&sz); err != nil {
					return
				}
				select {
				case <-resize:
				default:
				}
				resize <- sz
			}
		}()
	}
	sess.finish = func(err error) {
		errStream := got["error"]
		switch {
		case proto == protoChannelV5 || proto == protoChannelV4:
			b, _ := json.Marshal(sessionStatus(err))
			_, _ = errStream.Write(b)
		case err != nil:
			_, _ = io.WriteString(errStream, err.Error())
		}
		for _, typ := range []string{"stdout", "stderr", "error"} {
			if st := got[typ]; st != nil {
				_ = st.Close()
			}
		}
		// The client closes the connection once it has read every stream to its end.
		select {
		case <-sc.CloseChan():
		case <-time.After(spdyCloseGrace):
		}
		for _, st := range got {
			_ = st.Reset()
		}
		sc.Close()
		nc.Close()
		cancel()
	}
	return ctx, sess, nil
}
