package server

import (
	"context"
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

// upgradeWebSocket completes the WebSocket handshake with one of protocols, or answers
// with a Status when the client offers none of them.
func upgradeWebSocket(w http.ResponseWriter, r *http.Request, protocols []string) (*websocket.Conn, error) {
	if _, ok := negotiate(websocket.Subprotocols(r), protocols); !ok {
		msg := "unable to upgrade: unable to negotiate protocol: client supports " +
			jsonList(websocket.Subprotocols(r)) + ", server supports " + jsonList(protocols)
		writeStatus(w, http.StatusBadRequest, meta.ReasonBadRequest, msg)
		return nil, errors.New(msg)
	}
	up := websocket.Upgrader{
		Subprotocols: protocols, ReadBufferSize: wsBufferSize, WriteBufferSize: wsBufferSize,
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
	conn *websocket.Conn
	mu   sync.Mutex
}

func (c *channelConn) write(ch byte, p []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
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

// webSocketSession upgrades to v5 (or v4).channel.k8s.io and returns the session.
func (s *Server) webSocketSession(w http.ResponseWriter, r *http.Request, sr *streamRequest) (context.Context, *session, error) {
	conn, err := upgradeWebSocket(w, r, []string{protoChannelV5, protoChannelV4})
	if err != nil {
		return nil, nil, err
	}
	// The request's context lasts as long as the handler, which runs the whole session.
	ctx, cancel := context.WithCancel(r.Context())
	conn.SetReadLimit(1 << 20)
	cc := &channelConn{conn: conn}
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
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		// The client went away (or answered our close): stop what runs for it.
		defer cancel()
		readChannels(conn, conn.Subprotocol() == protoChannelV5, stdinW, resize)
	}()
	sess.finish = func(err error) {
		if stdinR != nil {
			stdinR.Close() // unblocks a read loop writing stdin nobody reads any more
		}
		b, _ := json.Marshal(sessionStatus(err))
		_ = cc.write(chanError, b)
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
func readChannels(conn *websocket.Conn, v5 bool, stdinW *io.PipeWriter, resize chan runtime.TerminalSize) {
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
		typ, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage || len(data) == 0 {
			continue
		}
		switch data[0] {
		case chanStdin:
			if stdin != nil && len(data) > 1 {
				stdin <- data[1:]
			}
		case chanResize:
			var sz runtime.TerminalSize
			if resize != nil && json.Unmarshal(data[1:], &sz) == nil {
				select {
				case <-resize:
				default:
				}
				resize <- sz
			}
		case chanClose:
			if v5 && len(data) == 2 && data[1] == chanStdin && stdin != nil {
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
