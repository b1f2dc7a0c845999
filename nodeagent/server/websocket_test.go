package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-sh/skiff/api/meta"
)

func TestFrameCodec(t *testing.T) {
	if got := string(encodeBase64Frame(1, []byte("hi"))); got != "1aGk=" {
		t.Errorf("base64 frame = %q, want 1aGk=", got)
	}
	if got := string(encodeBase64Frame(3, nil)); got != "3" {
		t.Errorf("empty base64 frame = %q", got)
	}
	for _, tc := range []struct {
		name   string
		typ    int
		msg    string
		b64    bool
		ch     byte
		data   string
		wantOK bool
	}{
		{"binary", websocket.BinaryMessage, "\x00abc", false, 0, "abc", true},
		{"binary close", websocket.BinaryMessage, "\xff\x00", false, 255, "\x00", true},
		{"binary protocol, text message", websocket.TextMessage, "\x00abc", false, 0, "", false},
		{"empty", websocket.BinaryMessage, "", false, 0, "", false},
		{"base64", websocket.TextMessage, "0aGk=", true, 0, "hi", true},
		{"base64 resize", websocket.TextMessage, "4" + base64.StdEncoding.EncodeToString([]byte(`{"Width":1}`)), true, 4, `{"Width":1}`, true},
		{"base64, bad data", websocket.TextMessage, "0!!", true, 0, "", false},
		{"base64, not a digit", websocket.TextMessage, "xaGk=", true, 0, "", false},
		{"base64 protocol, binary message", websocket.BinaryMessage, "0aGk=", true, 0, "", false},
	} {
		ch, data, ok := decodeFrame(tc.typ, []byte(tc.msg), tc.b64)
		if ok != tc.wantOK || ok && (ch != tc.ch || string(data) != tc.data) {
			t.Errorf("%s: decodeFrame = %d %q %v, want %d %q %v", tc.name, ch, data, ok, tc.ch, tc.data, tc.wantOK)
		}
	}
}

// legacyResult is what a client of any channel protocol read: the messages of each
// channel, decoded, and the raw error channel.
type legacyResult struct {
	opening  int // channel of the first message, which must be empty
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	errorMsg []byte
	msgs     int
}

func legacyRead(t *testing.T, conn *websocket.Conn, b64 bool) *legacyResult {
	t.Helper()
	res := &legacyResult{opening: -1}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("read: %v", err)
			}
			return res
		}
		ch, data, ok := decodeFrame(typ, msg, b64)
		if !ok {
			t.Fatalf("message %q does not fit the protocol (base64 %v)", msg, b64)
		}
		if res.msgs++; res.msgs == 1 {
			if len(data) != 0 {
				t.Fatalf("opening message on channel %d carries %q", ch, data)
			}
			res.opening = int(ch)
			continue
		}
		switch ch {
		case chanStdout:
			res.stdout.Write(data)
		case chanStderr:
			res.stderr.Write(data)
		case chanError:
			res.errorMsg = append(res.errorMsg, data...)
		default:
			t.Fatalf("message on channel %d", ch)
		}
	}
}

// Each channel subprotocol (and none at all, which is channel.k8s.io) runs a command
// that succeeds and one that fails: v4 and later report both on the error channel as a
// Status, the older ones only the failure, as text.
func TestExecWebSocketProtocols(t *testing.T) {
	ts, _ := newTestServer(t)
	for _, tc := range []struct {
		proto  string
		b64    bool
		status bool
	}{
		{protoChannelV5, false, true},
		{protoChannelV4, false, true},
		{protoChannelV4Base64, true, true},
		{protoChannelV1, false, false},
		{protoChannelV1Base64, true, false},
		{"", false, false},
	} {
		for _, code := range []string{"0", "3"} {
			d := websocket.Dialer{}
			if tc.proto != "" {
				d.Subprotocols = []string{tc.proto}
			}
			conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=cat&command="+code+"&stdout=true&stderr=true"), nil)
			if err != nil {
				t.Fatalf("%q: %v", tc.proto, err)
			}
			if conn.Subprotocol() != tc.proto {
				t.Errorf("%q: negotiated %q", tc.proto, conn.Subprotocol())
			}
			res := legacyRead(t, conn, tc.b64)
			conn.Close()
			if res.opening != chanStdout || res.stderr.String() != "err" {
				t.Errorf("%q exit %s: opening on %d, stderr %q", tc.proto, code, res.opening, res.stderr.String())
			}
			switch {
			case tc.status:
				var st meta.Status
				if err := json.Unmarshal(res.errorMsg, &st); err != nil {
					t.Fatalf("%q: error channel %q: %v", tc.proto, res.errorMsg, err)
				}
				want := meta.StatusSuccess
				if code != "0" {
					want = meta.StatusFailure
				}
				if st.Status != want || code != "0" && (st.Reason != "NonZeroExitCode" || st.Details.Causes[0].Message != code) {
					t.Errorf("%q exit %s: status %+v", tc.proto, code, st)
				}
			case code == "0":
				if len(res.errorMsg) != 0 {
					t.Errorf("%q: success wrote %q on the error channel", tc.proto, res.errorMsg)
				}
			default:
				if !strings.Contains(string(res.errorMsg), "exit code 3") {
					t.Errorf("%q: error channel %q, want the exit code's message", tc.proto, res.errorMsg)
				}
			}
		}
	}
}

// Stdin reaches the process in the base64 protocols (decoded) as in the binary ones,
// and a client that closes the connection ends the session's stdin.
func TestExecWebSocketBase64Stdin(t *testing.T) {
	ts, _ := newTestServer(t)
	for _, proto := range []string{protoChannelV1Base64, protoChannelV4Base64, protoChannelV1} {
		b64 := proto != protoChannelV1
		d := websocket.Dialer{Subprotocols: []string{proto}}
		conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=line&command=0&stdin=true&stdout=true"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{"hello ", "world\n"} {
			if b64 {
				err = conn.WriteMessage(websocket.TextMessage, encodeBase64Frame(chanStdin, []byte(part)))
			} else {
				err = conn.WriteMessage(websocket.BinaryMessage, append([]byte{chanStdin}, part...))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		res := legacyRead(t, conn, b64)
		conn.Close()
		if res.stdout.String() != "hello world\n" {
			t.Errorf("%s: stdout %q", proto, res.stdout.String())
		}
	}
	// A client that goes away mid-session: the process sees its stdin end.
	d := websocket.Dialer{Subprotocols: []string{protoChannelV1}}
	conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=line&command=0&stdin=true&stdout=true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.WriteMessage(websocket.BinaryMessage, append([]byte{chanStdin}, "no newline"...))
	conn.Close()
}

func TestWebSocketUnknownSubprotocol(t *testing.T) {
	ts, _ := newTestServer(t)
	for _, path := range []string{"/exec/default/p/app?command=x&stdout=true"} {
		d := websocket.Dialer{Subprotocols: []string{"v9.channel.k8s.io", "binary.k8s.io"}}
		_, resp, err := d.Dial(wsURL(ts, path), nil)
		if err == nil || resp == nil {
			t.Fatalf("%s: upgraded", path)
		}
		b, _ := io.ReadAll(resp.Body)
		var st meta.Status
		if resp.StatusCode != 400 || json.Unmarshal(b, &st) != nil || st.Kind != "Status" || st.Code != 400 ||
			!strings.Contains(st.Message, `client supports ["v9.channel.k8s.io","binary.k8s.io"]`) ||
			!strings.Contains(st.Message, protoChannelV1Base64) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	// Port-forward has no default protocol: a client offering none is refused.
	_, resp, err := websocket.DefaultDialer.Dial(wsURL(ts, "/portForward/default/p"), nil)
	if err == nil || resp.StatusCode != 400 {
		t.Errorf("port-forward without a subprotocol: %v", err)
	}
}
