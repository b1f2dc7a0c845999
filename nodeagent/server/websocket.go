package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// Channels of the v4/v5.channel.k8s.io WebSocket protocols.
const (
	chanStdin  = 0
	chanStdout = 1
	chanStderr = 2
	chanError  = 3
	chanResize = 4
	chanClose  = 255 // v5: the next byte is a channel the client has finished writing
)

const (
	// wsBufferSize fits kubectl's largest message: 32 KiB of data and the channel byte.
	wsBufferSize = 32<<10 + 1024
	// wsWriteTimeout bounds one write to a client that stopped reading.
	wsWriteTimeout = 2 * time.Minute
	// wsCloseGrace is how long the client has to answer our close frame.
	wsCloseGrace = 2 * time.Second
)

// wsProtocol is how one channel subprotocol of exec and attach frames its messages and
// ends a session (k8s.io/apimachinery's wsstream and the kubelet's remotecommand).
type wsProtocol struct {
	// base64: text messages, the channel as an ASCII digit ('0'+channel) and then the
	// data in base64 (for clients that cannot send binary frames); else binary messages,
	// the channel byte and then the data.
	base64 bool
	// status: the error channel carries a metav1.Status at the end, Success too (v4 and
	// later); else only a failure's message, as text, and nothing on success.
	status bool
	// closeSignal: v5's CLOSE (255) message, the client's half-close of a channel.
	closeSignal bool
}

// Channel subprotocols of exec and attach over WebSocket, in the order the server
// prefers them. A client that offers no subprotocol gets channel.k8s.io, as upstream.
const (
	protoChannelV4Base64 = "v4.base64.channel.k8s.io"
	protoChannelV1       = "channel.k8s.io"
	protoChannelV1Base64 = "base64.channel.k8s.io"
)

var channelProtocols = map[string]wsProtocol{
	protoChannelV5:       {status: true, closeSignal: true},
	protoChannelV4:       {status: true},
	protoChannelV4Base64: {base64: true, status: true},
	protoChannelV1:       {},
	protoChannelV1Base64: {base64: true},
	"":                   {},
}

var channelProtocolNames = []string{protoChannelV5, protoChannelV4, protoChannelV4Base64, protoChannelV1, protoChannelV1Base64}

// upgradeWebSocket completes the WebSocket handshake with one of protocols (the
// client's first that the server speaks), or answers with a Status when the client
// offers none of them. "" among protocols accepts a client that offers no subprotocol.
func upgradeWebSocket(w http.ResponseWriter, r *http.Request, protocols []string) (*websocket.Conn, error) {
	offered := websocket.Subprotocols(r)
	if len(offered) == 0 {
		offered = []string{""}
	}
	proto, ok := negotiate(offered, protocols)
	if !ok {
		var supported []string
		for _, p := range protocols {
			if p != "" {
				supported = append(supported, p)
			}
		}
		msg := "unable to upgrade: unable to negotiate protocol: client supports " +
			jsonList(websocket.Subprotocols(r)) + ", server supports " + jsonList(supported)
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, msg)
		return nil, errors.New(msg)
	}
	var chosen []string
	if proto != "" {
		chosen = []string{proto} // the client's preference, not gorilla's server-order pick
	}
	up := websocket.Upgrader{
		Subprotocols: chosen, ReadBufferSize: wsBufferSize, WriteBufferSize: wsBufferSize,
		// The API server authorized the request; browsers do not come here.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return up.Upgrade(w, r, nil) // on failure it has answered
}

func jsonList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

// channelConn writes channel messages to a WebSocket, one writer at a time.
type channelConn struct {
	conn   *websocket.Conn
	base64 bool
	mu     sync.Mutex
}

func (c *channelConn) write(ch byte, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if c.base64 {
		return c.conn.WriteMessage(websocket.TextMessage, encodeBase64Frame(ch, p))
	}
	w, err := c.conn.NextWriter(websocket.BinaryMessage)
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte{ch}); err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	return w.Close()
}

// encodeBase64Frame is a base64 protocol's message: the channel as a digit, then p.
func encodeBase64Frame(ch byte, p []byte) []byte {
	out := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p)))
	out[0] = '0' + ch
	base64.StdEncoding.Encode(out[1:], p)
	return out
}

// decodeFrame splits a client's message into its channel and data; ok is false for a
// message that does not fit the protocol (dropped, as upstream does).
func decodeFrame(typ int, msg []byte, b64 bool) (ch byte, data []byte, ok bool) {
	if len(msg) == 0 {
		return 0, nil, false
	}
	if !b64 {
		return msg[0], msg[1:], typ == websocket.BinaryMessage
	}
	if typ != websocket.TextMessage || msg[0] < '0' || msg[0] > '9' {
		return 0, nil, false
	}
	data, err := base64.StdEncoding.DecodeString(string(msg[1:]))
	if err != nil {
		return 0, nil, false
	}
	return msg[0] - '0', data, true
}

// channelWriter is one output channel as an io.Writer.
type channelWriter struct {
	c  *channelConn
	ch byte
}

func (w channelWriter) Write(p []byte) (int, error) {
	if err := w.c.write(w.ch, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// webSocketSession upgrades to one of the channel protocols and returns the session.
func (s *Server) webSocketSession(w http.ResponseWriter, r *http.Request, sr *streamRequest) (context.Context, *session, error) {
	conn, err := upgradeWebSocket(w, r, append(channelProtocolNames, ""))
	if err != nil {
		return nil, nil, err
	}
	proto := channelProtocols[conn.Subprotocol()]
	// The request's context lasts as long as the handler, which runs the whole session.
	ctx, cancel := context.WithCancel(r.Context())
	conn.SetReadLimit(1 << 20)
	cc := &channelConn{conn: conn, base64: proto.base64}
	sess := &session{}
	var stdinR *io.PipeReader
	var stdinW *io.PipeWriter
	if sr.stdin {
		stdinR, stdinW = io.Pipe()
		sess.stdin = stdinR
	}
	if sr.stdout {
		sess.stdout = channelWriter{cc, chanStdout}
	}
	if sr.stderr {
		sess.stderr = channelWriter{cc, chanStderr}
	}
	var resize chan runtime.TerminalSize
	if sr.tty {
		resize = make(chan runtime.TerminalSize, 1)
		sess.resize = resize
	}
	// As the kubelet does: an empty message on the first channel the client reads tells
	// it the session is open (the conformance suite's legacy clients skip it).
	switch {
	case sr.stdout:
		_ = cc.write(chanStdout, nil)
	case sr.stderr:
		_ = cc.write(chanStderr, nil)
	default:
		_ = cc.write(chanError, nil)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		// The client went away (or answered our close): stop what runs for it.
		defer cancel()
		readChannels(conn, proto, stdinW, resize)
	}()
	sess.finish = func(err error) {
		if stdinR != nil {
			stdinR.Close() // unblocks a read loop writing stdin nobody reads any more
		}
		switch {
		case proto.status:
			b, _ := json.Marshal(sessionStatus(err))
			_ = cc.write(chanError, b)
		case err != nil:
			// The protocols before v4 carry a failure's message only.
			_ = cc.write(chanError, []byte(err.Error()))
		}
		// A normal close is how the client learns that every stream has ended.
		_ = conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wsCloseGrace))
		select {
		case <-readDone:
		case <-time.After(wsCloseGrace):
		}
		conn.Close()
		cancel()
	}
	return ctx, sess, nil
}

// stdinQueue is how many stdin messages wait for the process to read them before the
// connection stops being read: enough that a resize sent behind a little typed input
// is not held up by a process that has not started reading yet.
const stdinQueue = 64

// readChannels reads the client's messages until the connection ends: stdin data goes
// to stdin (through a queue, so that it never holds up the other channels), terminal
// sizes to resize (only the latest is kept), and v5's CLOSE of the stdin channel ends
// stdin.
func readChannels(conn *websocket.Conn, proto wsProtocol, stdinW *io.PipeWriter, resize chan runtime.TerminalSize) {
	var stdin chan []byte
	if stdinW != nil {
		stdin = make(chan []byte, stdinQueue)
		defer func() {
			if stdin != nil {
				close(stdin)
			}
		}()
		go func(queue <-chan []byte) {
			for b := range queue {
				if _, err := stdinW.Write(b); err != nil {
					break // the process is done with its stdin
				}
			}
			stdinW.Close()
			for range queue {
			}
		}(stdin)
	}
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		ch, data, ok := decodeFrame(typ, msg, proto.base64)
		if !ok {
			continue
		}
		switch ch {
		case chanStdin:
			if stdin != nil && len(data) > 0 {
				stdin <- data
			}
		case chanResize:
			var sz runtime.TerminalSize
			if resize != nil && json.Unmarshal(data, &sz) == nil {
				select {
				case <-resize:
				default:
				}
				resize <- sz
			}
		case chanClose:
			if proto.closeSignal && len(data) == 1 && data[0] == chanStdin && stdin != nil {
				close(stdin)
				stdin = nil
			}
		}
	}
}

// wsNetConn is a WebSocket as a byte stream, for SPDY tunnelled in binary messages
// (kubectl's port-forward over WebSocket): each Write is one message.
type wsNetConn struct {
	conn      *websocket.Conn
	reader    io.Reader // the message being read
	wmu       sync.Mutex
	closeOnce sync.Once
}

var _ net.Conn = (*wsNetConn)(nil)

func (c *wsNetConn) Read(p []byte) (int, error) {
	for {
		if c.reader == nil {
			typ, r, err := c.conn.NextReader()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) && ce.Code == websocket.CloseNormalClosure {
					return 0, io.EOF
				}
				return 0, err
			}
			if typ != websocket.BinaryMessage {
				return 0, errors.New("tunnel: unexpected WebSocket text message")
			}
			c.reader = r
		}
		n, err := c.reader.Read(p)
		if errors.Is(err, io.EOF) {
			c.reader = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

func (c *wsNetConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.conn.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *wsNetConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		_ = c.conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		err = c.conn.Close()
	})
	return err
}

func (c *wsNetConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *wsNetConn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *wsNetConn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *wsNetConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
func (c *wsNetConn) SetDeadline(t time.Time) error {
	return errors.Join(c.conn.SetReadDeadline(t), c.conn.SetWriteDeadline(t))
}
