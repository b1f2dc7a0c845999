package apiserver_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/test/harness"
)

// wsDialer dials the test API server as its administrator.
func wsDialer(a *api, protocols ...string) *websocket.Dialer {
	tc := a.hc.Transport.(*http.Transport).TLSClientConfig.Clone()
	tc.NextProtos = nil // HTTP/1.1: a WebSocket upgrade is not HTTP/2
	return &websocket.Dialer{Subprotocols: protocols, HandshakeTimeout: 10 * time.Second, TLSClientConfig: tc}
}

func wsBase(a *api) string { return "wss" + strings.TrimPrefix(a.base, "https") }

// readLogSocket reads a log WebSocket to its close: the messages' data (decoded when
// base64) and the close code.
func readLogSocket(t *testing.T, conn *websocket.Conn, b64 bool) (string, int) {
	t.Helper()
	var out strings.Builder
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		typ, msg, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read: %v (after %q)", err, out.String())
			}
			return out.String(), ce.Code
		}
		if b64 {
			if typ != websocket.TextMessage {
				t.Fatalf("base64 protocol sent message type %d", typ)
			}
			d, err := base64.StdEncoding.DecodeString(string(msg))
			if err != nil {
				t.Fatalf("message %q is not base64: %v", msg, err)
			}
			msg = d
		} else if typ != websocket.BinaryMessage {
			t.Fatalf("binary protocol sent message type %d", typ)
		}
		out.Write(msg)
	}
}

// pods/log with a WebSocket upgrade (the conformance suite's "should support retrieving
// logs from the container over websockets"): binary.k8s.io, base64.binary.k8s.io and no
// subprotocol at all; errors before the upgrade are Statuses; a followed log streams
// records as they are written and stops when the client closes.
func TestPodLogWebSocket(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	rt := startNode(t, a, "n1")
	createPod(t, a, "one", "n1", "c")
	createPod(t, a, "two", "n1", "a", "b")
	appendLog := func(text string) {
		f, err := os.OpenFile(filepath.Join(rt.logDir, "one-c.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(text)
	}
	appendLog(logLine("stdout", "container is alive") + logLine("stderr", "and well"))
	url := wsBase(a) + "/api/v1/namespaces/default/pods/one/log"

	for _, tc := range []struct {
		protos []string
		want   string
		b64    bool
	}{
		{[]string{"binary.k8s.io"}, "binary.k8s.io", false},
		{[]string{"base64.binary.k8s.io"}, "base64.binary.k8s.io", true},
		{[]string{"v9.nothing", "base64.binary.k8s.io", "binary.k8s.io"}, "base64.binary.k8s.io", true},
		{nil, "", false},
	} {
		conn, resp, err := wsDialer(a, tc.protos...).Dial(url, nil)
		if err != nil {
			t.Fatalf("%v: %v %v", tc.protos, resp, err)
		}
		if conn.Subprotocol() != tc.want {
			t.Errorf("%v: negotiated %q, want %q", tc.protos, conn.Subprotocol(), tc.want)
		}
		got, code := readLogSocket(t, conn, tc.b64)
		conn.Close()
		if got != "container is alive\nand well\n" || code != websocket.CloseNormalClosure {
			t.Errorf("%v: read %q, close %d", tc.protos, got, code)
		}
	}

	// Options pass through as for a plain GET.
	conn, _, err := wsDialer(a, "binary.k8s.io").Dial(url+"?tailLines=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := readLogSocket(t, conn, false); got != "and well\n" {
		t.Errorf("tailLines=1: %q", got)
	}
	conn.Close()

	// Errors: no upgrade, a Status.
	for _, tc := range []struct {
		path, proto string
		code        int
		msg         string
	}{
		{"one/log", "v4.channel.k8s.io", 400, `unable to negotiate protocol: client supports ["v4.channel.k8s.io"]`},
		{"two/log", "binary.k8s.io", 400, "a container name must be specified for pod two"},
		{"nope/log", "binary.k8s.io", 404, `pods "nope" not found`},
		{"one/log?previous=true", "binary.k8s.io", 400, "previous terminated container"},
	} {
		_, resp, err := wsDialer(a, tc.proto).Dial(wsBase(a)+"/api/v1/namespaces/default/pods/"+tc.path, nil)
		if err == nil || resp == nil {
			t.Errorf("%s %s: upgraded", tc.path, tc.proto)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		var st meta.Status
		if resp.StatusCode != tc.code || json.Unmarshal(b, &st) != nil || st.Kind != "Status" || !strings.Contains(st.Message, tc.msg) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.path, tc.proto, resp.StatusCode, b, tc.code, tc.msg)
		}
	}

	// Following: records arrive as written; the client's close ends the stream (the
	// next GET still works, so nothing was left holding the log).
	conn, _, err = wsDialer(a, "binary.k8s.io").Dial(url+"?follow=true&tailLines=0", nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for _, text := range []string{"third", "fourth"} {
		appendLog(logLine("stdout", text))
		_, msg, err := conn.ReadMessage()
		if err != nil || string(msg) != text+"\n" {
			t.Fatalf("followed %q, %v; want %q", msg, err, text)
		}
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	conn.Close()
	if code, b := a.raw("GET", "/api/v1/namespaces/default/pods/one/log?tailLines=1", "", nil); code != 200 || string(b) != "fourth\n" {
		t.Errorf("after the followed socket: %d %q", code, b)
	}
}

// pods/exec over the channel protocols kubectl no longer uses but other clients (and the
// conformance suite's "should support remote command execution over websockets") do,
// through the API server's relay: channel.k8s.io and base64.channel.k8s.io, the
// session's empty opening message, and an unknown subprotocol refused with a Status.
func TestPodExecLegacyWebSocket(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	startNode(t, a, "n1")
	createPod(t, a, "one", "n1", "c")
	url := wsBase(a) + "/api/v1/namespaces/default/pods/one/exec?command=cat&command=0&stdout=true&stderr=true"
	for _, proto := range []string{"channel.k8s.io", "base64.channel.k8s.io"} {
		conn, resp, err := wsDialer(a, proto).Dial(url, nil)
		if err != nil {
			t.Fatalf("%s: %v %v", proto, resp, err)
		}
		if conn.Subprotocol() != proto {
			t.Errorf("negotiated %q, want %q", conn.Subprotocol(), proto)
		}
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		var msgs []string
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
					t.Fatalf("%s: read: %v", proto, err)
				}
				break
			}
			if proto == "base64.channel.k8s.io" {
				d, err := base64.StdEncoding.DecodeString(string(msg[1:]))
				if err != nil {
					t.Fatalf("%q: %v", msg, err)
				}
				msg = append([]byte{msg[0] - '0'}, d...)
			}
			msgs = append(msgs, string(msg))
		}
		conn.Close()
		// The opening (empty, stdout), stderr's "err", and on success nothing on the error
		// channel: what the conformance client accepts.
		if strings.Join(msgs, "|") != "\x01|\x02err" {
			t.Errorf("%s: messages %q", proto, msgs)
		}
	}
	_, resp, err := wsDialer(a, "v1.nothing").Dial(url, nil)
	if err == nil || resp == nil {
		t.Fatal("unknown subprotocol: upgraded")
	}
	b, _ := io.ReadAll(resp.Body)
	var st meta.Status
	if resp.StatusCode != 400 || json.Unmarshal(b, &st) != nil || st.Kind != "Status" || !strings.Contains(st.Message, "unable to negotiate protocol") {
		t.Errorf("unknown subprotocol: %d %s", resp.StatusCode, b)
	}
}
