package apiserver

// pods/log over WebSocket, as the API server upstream serves it (wsstream.Reader): a
// GET with a WebSocket upgrade gets the log as messages, one per read, and a normal
// close at its end. The subprotocol says how: binary.k8s.io (or none) sends binary
// messages of the log's bytes, base64.binary.k8s.io text messages of them in base64
// (for clients that cannot read binary frames). The log is fetched from the node agent
// first, so its errors are still Statuses, before any upgrade.

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-sh/skiff/api/meta"
)

const (
	protoLogBinary = "binary.k8s.io"
	protoLogBase64 = "base64.binary.k8s.io"
	// logSocketWriteTimeout bounds one message to a client that stopped reading.
	logSocketWriteTimeout = 2 * time.Minute
)

// isWebSocketUpgrade reports whether req asks for a WebSocket.
func isWebSocketUpgrade(req *http.Request) bool {
	return websocket.IsWebSocketUpgrade(req)
}

// negotiateLogProtocol picks the client's first subprotocol that the log stream speaks;
// a client that offers none gets binary, as upstream.
func negotiateLogProtocol(offered []string) (string, bool) {
	if len(offered) == 0 {
		return "", true
	}
	for _, p := range offered {
		if p == protoLogBinary || p == protoLogBase64 {
			return p, true
		}
	}
	return "", false
}

// serveLogSocket upgrades req and sends body in messages until it ends or the client
// goes away (cancel stops the node agent's stream).
func serveLogSocket(w http.ResponseWriter, req *http.Request, body io.Reader, cancel func()) {
	proto, ok := negotiateLogProtocol(websocket.Subprotocols(req))
	if !ok {
		offered, _ := json.Marshal(websocket.Subprotocols(req))
		writeError(w, errBadRequest("unable to upgrade: unable to negotiate protocol: client supports "+string(offered)+
			`, server supports ["`+protoLogBinary+`","`+protoLogBase64+`"]`))
		return
	}
	var chosen []string
	if proto != "" {
		chosen = []string{proto}
	}
	up := websocket.Upgrader{Subprotocols: chosen, ReadBufferSize: 1024, WriteBufferSize: 32<<10 + 1024,
		// Authenticated and authorized like any request; a browser's origin adds nothing.
		CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, req, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	// The client sends nothing but control frames; reading them notices its close.
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	b64 := proto == protoLogBase64
	buf := make([]byte, 32<<10)
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(logSocketWriteTimeout))
			var werr error
			if b64 {
				werr = conn.WriteMessage(websocket.TextMessage, []byte(base64.StdEncoding.EncodeToString(buf[:n])))
			} else {
				werr = conn.WriteMessage(websocket.BinaryMessage, buf[:n])
			}
			if werr != nil {
				return
			}
		}
		if rerr != nil {
			msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
			if rerr != io.EOF {
				// The stream broke (node agent gone): say so in the close frame.
				st, _ := json.Marshal(meta.Status{Status: meta.StatusFailure, Message: rerr.Error()})
				msg = websocket.FormatCloseMessage(websocket.CloseInternalServerErr, truncateClose(string(st)))
			}
			_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(2*time.Second))
			return
		}
	}
}

// truncateClose keeps a close reason within a control frame's 125 bytes.
func truncateClose(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
