package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/moby/spdystream"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
)

// fakeRuntime runs "processes" in Go: Exec's command is [name, exit code], where name
// "cat" copies stdin to stdout and writes "err" to stderr, "line" echoes a line of stdin,
// and "size" prints the first
// terminal size; PortForward echoes what it reads.
type fakeRuntime struct {
	runtime.Runtime
	mu    sync.Mutex
	ports []int32
}

func (f *fakeRuntime) ListContainers(context.Context, string) ([]*runtime.Container, error) {
	return []*runtime.Container{
		{ID: "old", Name: "app", Attempt: 0, State: runtime.ContainerExited},
		{ID: "app-1", Name: "app", Attempt: 1, State: runtime.ContainerRunning},
		{ID: "side-0", Name: "side", State: runtime.ContainerExited},
	}, nil
}

func (f *fakeRuntime) ListPodSandboxes(context.Context, string) ([]*runtime.Sandbox, error) {
	return []*runtime.Sandbox{{ID: "sb-1", Attempt: 1, State: runtime.SandboxReady}}, nil
}

func (f *fakeRuntime) Exec(ctx context.Context, id string, o runtime.ExecOptions) (int, error) {
	if id != "app-1" {
		return 0, fmt.Errorf("exec in %s", id)
	}
	code, _ := strconv.Atoi(o.Cmd[len(o.Cmd)-1])
	switch o.Cmd[0] {
	case "cat":
		if o.Stdin != nil {
			if _, err := io.Copy(o.Stdout, o.Stdin); err != nil {
				return 0, err
			}
		}
		if o.Stderr != nil {
			o.Stderr.Write([]byte("err"))
		}
	case "line": // echoes one line of stdin (for protocols with no stdin EOF)
		line, err := bufio.NewReader(o.Stdin).ReadString('\n')
		if err != nil {
			return 0, err
		}
		o.Stdout.Write([]byte(line))
	case "size":
		if o.Size == nil {
			return 0, errors.New("no initial terminal size")
		}
		fmt.Fprintf(o.Stdout, "%dx%d", o.Size.Width, o.Size.Height)
	case "unsupported":
		return 0, fmt.Errorf("exec is %w by the sim runtime", runtime.ErrNotSupported)
	}
	return code, nil
}

func (f *fakeRuntime) PortForward(ctx context.Context, sandbox string, port int32, stream io.ReadWriteCloser) error {
	f.mu.Lock()
	f.ports = append(f.ports, port)
	f.mu.Unlock()
	if port == 9 {
		return errors.New("connection refused")
	}
	_, err := io.Copy(stream, stream)
	return err
}

func newTestServer(t *testing.T) (*httptest.Server, *fakeRuntime) {
	t.Helper()
	rt := &fakeRuntime{}
	pod := &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec: core.PodSpec{Containers: []core.Container{{Name: "app"}, {Name: "side"}}}}
	s := &Server{Runtime: rt, Pods: func(ns, name string) *core.Pod {
		if ns == "default" && name == "p" {
			return pod
		}
		return nil
	}}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, rt
}

// wsResult is what a channel client read.
type wsResult struct {
	stdout, stderr bytes.Buffer
	status         meta.Status
}

func clientRead(t *testing.T, conn *websocket.Conn) *wsResult {
	t.Helper()
	res := &wsResult{}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("read: %v", err)
			}
			return res
		}
		if len(data) <= 1 {
			continue // the session's opening message, empty
		}
		switch data[0] {
		case chanStdout:
			res.stdout.Write(data[1:])
		case chanStderr:
			res.stderr.Write(data[1:])
		case chanError:
			if err := json.Unmarshal(data[1:], &res.status); err != nil {
				t.Fatalf("error channel %q: %v", data[1:], err)
			}
		}
	}
}

func wsURL(ts *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(ts.URL, "http") + path
}

func TestExecWebSocketV5(t *testing.T) {
	ts, _ := newTestServer(t)
	d := websocket.Dialer{Subprotocols: []string{protoChannelV5}}
	conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=cat&command=3&stdin=true&stdout=true&stderr=true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.Subprotocol() != protoChannelV5 {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	conn.WriteMessage(websocket.BinaryMessage, append([]byte{chanStdin}, "hello "...))
	conn.WriteMessage(websocket.BinaryMessage, append([]byte{chanStdin}, "world"...))
	conn.WriteMessage(websocket.BinaryMessage, []byte{chanClose, chanStdin})
	res := clientRead(t, conn)
	if res.stdout.String() != "hello world" || res.stderr.String() != "err" {
		t.Errorf("stdout %q stderr %q", res.stdout.String(), res.stderr.String())
	}
	st := res.status
	if st.Status != meta.StatusFailure || st.Reason != "NonZeroExitCode" || st.Details == nil ||
		len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != "3" {
		t.Errorf("status = %+v", st)
	}
}

func TestExecWebSocketSuccessAndResize(t *testing.T) {
	ts, _ := newTestServer(t)
	d := websocket.Dialer{Subprotocols: []string{protoChannelV5}}
	conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=size&command=0&stdout=true&tty=true&stderr=true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteMessage(websocket.BinaryMessage, append([]byte{chanResize}, `{"Width":120,"Height":40}`...))
	res := clientRead(t, conn)
	if res.stdout.String() != "120x40" || res.status.Status != meta.StatusSuccess {
		t.Errorf("stdout %q status %+v", res.stdout.String(), res.status)
	}
}

func TestExecNotSupported(t *testing.T) {
	ts, _ := newTestServer(t)
	d := websocket.Dialer{Subprotocols: []string{protoChannelV5}}
	conn, _, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=unsupported&stdout=true"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res := clientRead(t, conn)
	if res.status.Status != meta.StatusFailure || !strings.Contains(res.status.Message, "not supported by the sim runtime") {
		t.Errorf("status %+v", res.status)
	}
}

func TestStreamErrorsAreStatuses(t *testing.T) {
	ts, _ := newTestServer(t)
	for _, tc := range []struct {
		path string
		code int
		msg  string
	}{
		{"/exec/default/nope/app?command=x&stdout=true", 404, "pod default/nope not found"},
		{"/exec/default/p/nope?command=x&stdout=true", 400, "container nope is not valid for pod p"},
		{"/exec/default/p/side?command=x&stdout=true", 400, `container "side" in pod "p" is not running`},
		{"/exec/default/p/app?stdout=true", 400, "at least one command"},
		{"/exec/default/p/app?command=x", 400, "at least one of stdin, stdout, stderr"},
		{"/attach/default/p/app?stdin=true&stdout=true", 400, "was not started with stdin: true"},
		{"/portForward/default/nope", 404, "not found"},
	} {
		d := websocket.Dialer{Subprotocols: []string{protoChannelV5, spdyTunnelPrefix + protoPortForward}}
		_, resp, err := d.Dial(wsURL(ts, tc.path), nil)
		if err == nil || resp == nil {
			t.Errorf("%s: upgraded", tc.path)
			continue
		}
		var st meta.Status
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.code || json.Unmarshal(b, &st) != nil || !strings.Contains(st.Message, tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.path, resp.StatusCode, b, tc.code, tc.msg)
		}
	}
	// No protocol in common.
	d := websocket.Dialer{Subprotocols: []string{"v1.channel.k8s.io"}}
	if _, resp, err := d.Dial(wsURL(ts, "/exec/default/p/app?command=x&stdout=true"), nil); err == nil || resp.StatusCode != 400 {
		t.Errorf("unsupported subprotocol: err=%v", err)
	}
	// Not an upgrade.
	resp, err := http.Post(ts.URL+"/exec/default/p/app?command=x&stdout=true", "", nil)
	if err != nil || resp.StatusCode != 400 {
		t.Errorf("plain POST: %v %v", resp, err)
	}
}

// dialSPDY upgrades a request to SPDY/3.1 and returns the client connection.
func dialSPDY(t *testing.T, ts *httptest.Server, path string, protocols ...string) (*spdystream.Connection, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "POST " + path + " HTTP/1.1\r\nHost: node\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
	for _, p := range protocols {
		req += headerProtocol + ": " + p + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("upgrade: %s %s", resp.Status, b)
	}
	sc, err := spdystream.NewConnection(&bufferedConn{Conn: c, r: br}, false)
	if err != nil {
		t.Fatal(err)
	}
	go sc.Serve(spdystream.NoOpStreamHandler)
	t.Cleanup(func() { sc.Close() })
	return sc, resp.Header.Get(headerProtocol)
}

func createStream(t *testing.T, sc *spdystream.Connection, kv ...string) *spdystream.Stream {
	t.Helper()
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	st, err := sc.CreateStream(h, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WaitTimeout(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return st
}

func readAllTimeout(t *testing.T, r io.Reader) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	select {
	case s := <-done:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end")
	}
	return ""
}

func TestExecSPDY(t *testing.T) {
	ts, _ := newTestServer(t)
	sc, proto := dialSPDY(t, ts, "/exec/default/p/app?command=cat&command=7&stdin=true&stdout=true&stderr=true",
		protoChannelV5, protoChannelV4, protoChannelV3)
	if proto != protoChannelV5 {
		t.Errorf("negotiated %q", proto)
	}
	errStream := createStream(t, sc, headerStreamType, "error")
	stdin := createStream(t, sc, headerStreamType, "stdin")
	stdout := createStream(t, sc, headerStreamType, "stdout")
	stderr := createStream(t, sc, headerStreamType, "stderr")
	io.WriteString(stdin, "over spdy")
	stdin.Close()
	if got := readAllTimeout(t, stdout); got != "over spdy" {
		t.Errorf("stdout %q", got)
	}
	if got := readAllTimeout(t, stderr); got != "err" {
		t.Errorf("stderr %q", got)
	}
	var st meta.Status
	if b := readAllTimeout(t, errStream); json.Unmarshal([]byte(b), &st) != nil || st.Reason != "NonZeroExitCode" || st.Details.Causes[0].Message != "7" {
		t.Errorf("error stream %q", b)
	}
}

func TestExecSPDYProtocolMismatch(t *testing.T) {
	ts, _ := newTestServer(t)
	req, _ := http.NewRequest("POST", ts.URL+"/exec/default/p/app?command=x&stdout=true", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "SPDY/3.1")
	req.Header.Set(headerProtocol, "v9.channel.k8s.io")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "unable to negotiate protocol") {
		t.Errorf("%s %s", resp.Status, b)
	}
}

// forwardOne opens a port-forward stream pair, sends msg, half-closes, and returns what
// came back on the data and error streams.
func forwardOne(t *testing.T, sc *spdystream.Connection, id, port, msg string) (string, string) {
	t.Helper()
	errStream := createStream(t, sc, headerStreamType, "error", headerPort, port, headerRequestID, id)
	errStream.Close()
	data := createStream(t, sc, headerStreamType, "data", headerPort, port, headerRequestID, id)
	io.WriteString(data, msg)
	data.Close()
	return readAllTimeout(t, data), readAllTimeout(t, errStream)
}

func TestPortForwardSPDY(t *testing.T) {
	ts, rt := newTestServer(t)
	sc, proto := dialSPDY(t, ts, "/portForward/default/p", protoPortForward)
	if proto != protoPortForward {
		t.Errorf("negotiated %q", proto)
	}
	for i, msg := range []string{"first", "second"} {
		data, errMsg := forwardOne(t, sc, strconv.Itoa(i), "8080", msg)
		if data != msg || errMsg != "" {
			t.Errorf("echo %q: data %q error %q", msg, data, errMsg)
		}
	}
	_, errMsg := forwardOne(t, sc, "2", "9", "x")
	if !strings.Contains(errMsg, "error forwarding port 9 to pod p, uid uid-1: connection refused") {
		t.Errorf("error stream %q", errMsg)
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if fmt.Sprint(rt.ports) != "[8080 8080 9]" {
		t.Errorf("forwarded ports %v", rt.ports)
	}
}

func TestPortForwardWebSocketTunnel(t *testing.T) {
	ts, _ := newTestServer(t)
	d := websocket.Dialer{Subprotocols: []string{spdyTunnelPrefix + protoPortForward}}
	conn, _, err := d.Dial(wsURL(ts, "/portForward/default/p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if conn.Subprotocol() != spdyTunnelPrefix+protoPortForward {
		t.Fatalf("subprotocol %q", conn.Subprotocol())
	}
	nc := &wsNetConn{conn: conn}
	defer nc.Close()
	sc, err := spdystream.NewConnection(nc, false)
	if err != nil {
		t.Fatal(err)
	}
	go sc.Serve(spdystream.NoOpStreamHandler)
	defer sc.Close()
	big := strings.Repeat("tunnelled ", 20000) // several WebSocket messages
	data, errMsg := forwardOne(t, sc, "0", "80", big)
	if data != big || errMsg != "" {
		t.Errorf("echo of %d bytes: got %d bytes, error %q", len(big), len(data), errMsg)
	}
}
