package e2e

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/skiff-sh/skiff/test/harness"
)

// The WebSocket clients the conformance suite uses, against real containers (its
// "should support retrieving logs from the container over websockets" and "should
// support remote command execution over websockets"): pods/log with binary.k8s.io
// following a container until it exits, and pods/exec over channel.k8s.io,
// base64.channel.k8s.io and v4.channel.k8s.io, a command that fails, and a subprotocol
// nobody speaks.
func TestWebSocketStreamsContainerd(t *testing.T) {
	needContainerd(t)
	api := harness.StartAPIServer(t, "--data-dir", t.TempDir())
	startAgent(t, api, "e2e-ws", "10.244.43.0/24")
	k := &harness.Kubectl{Kubeconfig: api.Kubeconfig}
	harness.Eventually(t, 60*time.Second, "node Ready", func() (bool, string) {
		out, _, _ := k.Exec([]string{"get", "node", "e2e-ws", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"}, "")
		return out == "True", out
	})
	k.RunStdin(t, `apiVersion: v1
kind: Pod
metadata: {name: alive}
spec:
  nodeName: e2e-ws
  restartPolicy: Never
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sh", "-c", "echo container is alive; sleep 5"]}
---
apiVersion: v1
kind: Pod
metadata: {name: sleeper}
spec:
  nodeName: e2e-ws
  containers:
  - {name: c, image: `+busyboxImage+`, command: ["sleep", "3600"]}
`, "apply", "-f", "-")
	for _, name := range []string{"alive", "sleeper"} {
		waitPod(t, k, name, "Running or done", func(p *podJSON) bool { return p.Status.Phase != "Pending" })
	}
	hc := api.HTTPClient(t)
	tlsCfg := hc.Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.NextProtos = nil // a WebSocket upgrade is HTTP/1.1
	base := "wss" + strings.TrimPrefix(api.URL, "https") + "/api/v1/namespaces/default/pods/"
	dial := func(t *testing.T, path, proto string) (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{Subprotocols: []string{proto}, TLSClientConfig: tlsCfg, HandshakeTimeout: 30 * time.Second}
		return d.Dial(base+path, nil)
	}
	// readAll reads messages until the server closes, failing on anything but a normal close.
	readAll := func(t *testing.T, conn *websocket.Conn) [][]byte {
		t.Helper()
		var msgs [][]byte
		conn.SetReadDeadline(time.Now().Add(60 * time.Second))
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
					t.Fatalf("read: %v (after %q)", err, msgs)
				}
				return msgs
			}
			msgs = append(msgs, msg)
		}
	}

	t.Run("logs over binary.k8s.io until the container exits", func(t *testing.T) {
		conn, resp, err := dial(t, "alive/log?follow=true", "binary.k8s.io")
		if err != nil {
			t.Fatalf("%v %v", resp, err)
		}
		defer conn.Close()
		var got strings.Builder
		for _, m := range readAll(t, conn) {
			got.Write(m)
		}
		if got.String() != "container is alive\n" {
			t.Errorf("log %q", got.String())
		}
	})

	exec := func(cmd ...string) string {
		q := url.Values{"command": cmd, "stdout": {"true"}, "stderr": {"true"}}
		return "sleeper/exec?" + q.Encode()
	}
	t.Run("exec over channel.k8s.io", func(t *testing.T) {
		conn, resp, err := dial(t, exec("echo", "remote execution test"), "channel.k8s.io")
		if err != nil {
			t.Fatalf("%v %v", resp, err)
		}
		defer conn.Close()
		// What the conformance client accepts: stdout messages, and one-byte (empty)
		// messages on other channels.
		var stdout strings.Builder
		for _, m := range readAll(t, conn) {
			switch {
			case len(m) > 0 && m[0] == 1:
				stdout.Write(m[1:])
			case len(m) > 1:
				t.Errorf("message on channel %d: %q", m[0], m[1:])
			}
		}
		if stdout.String() != "remote execution test\n" {
			t.Errorf("stdout %q", stdout.String())
		}
	})
	t.Run("a failing command over base64.channel.k8s.io", func(t *testing.T) {
		conn, resp, err := dial(t, exec("sh", "-c", "echo oops >&2; exit 3"), "base64.channel.k8s.io")
		if err != nil {
			t.Fatalf("%v %v", resp, err)
		}
		defer conn.Close()
		byChannel := map[byte]string{}
		for _, m := range readAll(t, conn) {
			d, err := base64.StdEncoding.DecodeString(string(m[1:]))
			if err != nil {
				t.Fatalf("message %q: %v", m, err)
			}
			byChannel[m[0]-'0'] += string(d)
		}
		if byChannel[2] != "oops\n" || !strings.Contains(byChannel[3], "exit code 3") {
			t.Errorf("stderr %q, error channel %q", byChannel[2], byChannel[3])
		}
	})
	t.Run("a missing executable over v4.channel.k8s.io", func(t *testing.T) {
		conn, resp, err := dial(t, exec("/no/such/binary"), "v4.channel.k8s.io")
		if err != nil {
			t.Fatalf("%v %v", resp, err)
		}
		defer conn.Close()
		var status struct{ Status, Message string }
		for _, m := range readAll(t, conn) {
			if len(m) > 1 && m[0] == 3 {
				if err := json.Unmarshal(m[1:], &status); err != nil {
					t.Fatalf("error channel %q: %v", m[1:], err)
				}
			}
		}
		if status.Status != "Failure" || status.Message == "" {
			t.Errorf("status %+v", status)
		}
	})
	t.Run("an unknown subprotocol", func(t *testing.T) {
		for _, path := range []string{exec("true"), "sleeper/log"} {
			_, resp, err := dial(t, path, "v9.nothing.k8s.io")
			if err == nil || resp == nil {
				t.Fatalf("%s: upgraded", path)
			}
			b, _ := io.ReadAll(resp.Body)
			var st struct{ Kind, Message string }
			if resp.StatusCode != 400 || json.Unmarshal(b, &st) != nil || st.Kind != "Status" || !strings.Contains(st.Message, "unable to negotiate protocol") {
				t.Errorf("%s: %d %s", path, resp.StatusCode, b)
			}
		}
	})
}
