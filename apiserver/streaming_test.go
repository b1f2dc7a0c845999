package apiserver_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/nodeagent/runtime"
	"github.com/skiff-sh/skiff/nodeagent/server"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/test/harness"
)

// The pod subresources a node agent serves, through the API server: a real node agent
// server (nodeagent/server) over a fake runtime, so no containers are needed. kubectl,
// when installed, drives exec and port-forward over both WebSocket and SPDY.

// fakeRuntime: each container logs to a file in the CRI format; Exec's command is
// [name, exit code] ("cat" copies stdin to stdout and writes "err" to stderr);
// PortForward echoes.
type fakeRuntime struct {
	runtime.Runtime
	logDir string
}

func (f *fakeRuntime) ListContainers(_ context.Context, uid string) ([]*runtime.Container, error) {
	var out []*runtime.Container
	for _, name := range []string{"c", "a", "b"} {
		out = append(out, &runtime.Container{ID: uid + "-" + name, Name: name, State: runtime.ContainerRunning,
			LogPath: filepath.Join(f.logDir, uid+"-"+name+".log")})
	}
	return out, nil
}

func (f *fakeRuntime) ListPodSandboxes(_ context.Context, uid string) ([]*runtime.Sandbox, error) {
	return []*runtime.Sandbox{{ID: uid + "-sandbox", State: runtime.SandboxReady}}, nil
}

func (f *fakeRuntime) Exec(_ context.Context, _ string, o runtime.ExecOptions) (int, error) {
	code, _ := strconv.Atoi(o.Cmd[len(o.Cmd)-1])
	if o.Cmd[0] == "cat" {
		if o.Stdin != nil {
			io.Copy(o.Stdout, o.Stdin)
		}
		if o.Stderr != nil {
			io.WriteString(o.Stderr, "err")
		}
	}
	return code, nil
}

func (f *fakeRuntime) PortForward(_ context.Context, _ string, port int32, stream io.ReadWriteCloser) error {
	_, err := io.Copy(stream, stream)
	return err
}

func logLine(stream, text string) string {
	return time.Now().UTC().Format(time.RFC3339Nano) + " " + stream + " F " + text + "\n"
}

// startNode runs a node agent server for the pods the API knows and registers its Node.
func startNode(t *testing.T, a *api, name string) *fakeRuntime {
	t.Helper()
	rt := &fakeRuntime{logDir: t.TempDir()}
	startNodeServer(t, a, name, &server.Server{Runtime: rt})
	return rt
}

// startNodeServer runs srv (its Runtime set) as the node agent of node name: it knows the
// pods the tests create, serves HTTPS as a real node does, and its Node is registered.
func startNodeServer(t *testing.T, a *api, name string, srv *server.Server) {
	t.Helper()
	srv.Pods = func(ns, pod string) *core.Pod {
		p := &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: pod, UID: pod},
			Spec: core.PodSpec{Containers: []core.Container{{Name: "c"}, {Name: "a"}, {Name: "b"}}}}
		return p
	}
	// As a real node: HTTPS with a serving certificate of the cluster CA, open only to the
	// API server's client certificate.
	certPEM, keyPEM, err := a.srv.PKI.CA.Issue(pki.NodeServing(name, net.IPv4(127, 0, 0, 1)))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(a.srv.PKI.CA.Cert)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener, srv.TLS = l, &server.TLS{Certificate: &pair, ClientCAs: pool}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Run(ctx)
	port := l.Addr().(*net.TCPAddr).Port
	registerNode(t, a, name, port)
}

func registerNode(t *testing.T, a *api, name string, port int) {
	t.Helper()
	a.must(201, "POST", "/api/v1/nodes", `{"apiVersion":"v1","kind":"Node","metadata":{"name":"`+name+`"}}`)
	code, m := a.do("PATCH", "/api/v1/nodes/"+name+"/status", "application/merge-patch+json", []byte(fmt.Sprintf(
		`{"status":{"addresses":[{"type":"Hostname","address":"nowhere.invalid"},{"type":"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":%d}}}}`, port)))
	if code != 200 {
		t.Fatalf("node status: %d %v", code, m)
	}
}

func createPod(t *testing.T, a *api, name, node string, containers ...string) {
	t.Helper()
	var cs []string
	for _, c := range containers {
		cs = append(cs, `{"name":"`+c+`","image":"busybox:1"}`)
	}
	nodeName := ""
	if node != "" {
		nodeName = `"nodeName":"` + node + `",`
	}
	a.must(201, "POST", "/api/v1/namespaces/default/pods", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"`+name+`"},
		"spec":{`+nodeName+`"containers":[`+strings.Join(cs, ",")+`]}}`)
}

func TestPodLogThroughNodeAgent(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	rt := startNode(t, a, "n1")
	createPod(t, a, "one", "n1", "c")
	createPod(t, a, "two", "n1", "a", "b")
	createPod(t, a, "pending", "", "c")
	writeLog := func(file, text string) {
		f, err := os.OpenFile(filepath.Join(rt.logDir, file), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		f.WriteString(text)
	}
	writeLog("one-c.log", logLine("stdout", "first")+logLine("stderr", "second"))
	writeLog("two-b.log", logLine("stdout", "from b"))

	if code, b := a.raw("GET", "/api/v1/namespaces/default/pods/one/log", "", nil); code != 200 || string(b) != "first\nsecond\n" {
		t.Errorf("log: %d %q", code, b)
	}
	if code, b := a.raw("GET", "/api/v1/namespaces/default/pods/one/log?tailLines=1&container=c", "", nil); code != 200 || string(b) != "second\n" {
		t.Errorf("log tailLines=1: %d %q", code, b)
	}
	if code, b := a.raw("GET", "/api/v1/namespaces/default/pods/two/log?container=b", "", nil); code != 200 || string(b) != "from b\n" {
		t.Errorf("log container=b: %d %q", code, b)
	}
	for _, tc := range []struct {
		path   string
		code   int
		reason string
		msg    string
	}{
		{"two/log", 400, "BadRequest", "a container name must be specified for pod two, choose one of: [a b]"},
		{"pending/log", 400, "BadRequest", "pod pending does not have a host assigned"},
		{"one/log?container=zzz", 400, "BadRequest", "container zzz is not valid for pod one"},
		{"nope/log", 404, "NotFound", `pods "nope" not found`},
		// The node agent's own errors come back as Statuses.
		{"one/log?previous=true", 400, "BadRequest", `previous terminated container "c" in pod "one" not found`},
		{"one/log?tailLines=x", 400, "BadRequest", "invalid tailLines"},
		{"two/log?container=a", 400, "BadRequest", "failed to open the log"},
		{"one/exec?command=x&stdout=true", 400, "BadRequest", "upgrade required"},
		{"two/exec?command=x&stdout=true", 400, "BadRequest", "a container name must be specified for pod two"},
		{"pending/portforward", 400, "BadRequest", "does not have a host assigned"},
	} {
		code, m := a.do("GET", "/api/v1/namespaces/default/pods/"+tc.path, "", nil)
		if code != tc.code || m["kind"] != "Status" || m["reason"] != tc.reason || !strings.Contains(fmt.Sprint(m["message"]), tc.msg) {
			t.Errorf("%s: %d %v, want %d %s %q", tc.path, code, m, tc.code, tc.reason, tc.msg)
		}
	}
	if code, m := a.do("POST", "/api/v1/namespaces/default/pods/one/log", "", nil); code != 405 {
		t.Errorf("POST log: %d %v", code, m)
	}

	// Following: each record arrives as it is written.
	req, _ := http.NewRequest("GET", a.base+"/api/v1/namespaces/default/pods/one/log?follow=true&tailLines=0", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := a.hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for _, text := range []string{"third", "fourth"} {
		writeLog("one-c.log", logLine("stdout", text))
		line, err := br.ReadString('\n')
		if err != nil || line != text+"\n" {
			t.Fatalf("followed %q, %v; want %q", line, err, text)
		}
	}
}

func TestPodStreamingDiscoveryAndUnreachableNode(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	_, b := a.raw("GET", "/api/v1", "", nil)
	for _, want := range []string{`"name":"pods/log"`, `"name":"pods/exec"`, `"name":"pods/attach"`, `"name":"pods/portforward"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("discovery lacks %s", want)
		}
	}
	// A node whose agent does not answer.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	registerNode(t, a, "gone", port)
	createPod(t, a, "p", "gone", "c")
	for _, sub := range []string{"log", "exec?command=x&stdout=true", "portforward"} {
		code, m := a.do("GET", "/api/v1/namespaces/default/pods/p/"+sub, "", nil)
		if code != http.StatusBadGateway || !strings.Contains(fmt.Sprint(m["message"]), "error dialing backend") {
			t.Errorf("%s on an unreachable node: %d %v", sub, code, m)
		}
	}
	// A simulated node: a clear refusal, without dialing.
	if code, m := a.do("PATCH", "/api/v1/nodes/gone/status", "application/merge-patch+json",
		[]byte(`{"status":{"nodeInfo":{"containerRuntimeVersion":"sim://0.1"}}}`)); code != 200 {
		t.Fatalf("node status: %d %v", code, m)
	}
	for sub, want := range map[string]string{"log": "logs are not supported by the sim runtime",
		"exec?command=x&stdout=true": "exec is not supported by the sim runtime", "portforward": "port forwarding is not supported by the sim runtime"} {
		code, m := a.do("GET", "/api/v1/namespaces/default/pods/p/"+sub, "", nil)
		if code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(m["message"]), want) {
			t.Errorf("%s on a sim node: %d %v", sub, code, m)
		}
	}
}

// TestKubectlStreamingThroughNodeAgent drives the real kubectl's exec and port-forward
// through the relay, over WebSocket and over SPDY.
func TestKubectlStreamingThroughNodeAgent(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl not installed")
	}
	a, s := newAPI(t, harness.ServerOptions{})
	startNode(t, a, "n1")
	createPod(t, a, "one", "n1", "c")
	// kubectl port-forward wants a running pod.
	if code, m := a.do("PATCH", "/api/v1/namespaces/default/pods/one/status", "application/merge-patch+json", []byte(`{"status":{"phase":"Running"}}`)); code != 200 {
		t.Fatalf("pod status: %d %v", code, m)
	}
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"websocket", nil},
		{"spdy", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false", "KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			k := &harness.Kubectl{Kubeconfig: s.Kubeconfig, Env: mode.env}
			out, errOut, err := k.Exec([]string{"exec", "-i", "one", "--", "cat", "3"}, "some input\n")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || out != "some input\n" || !strings.Contains(errOut, "err") {
				t.Errorf("kubectl exec: err=%v stdout=%q stderr=%q", err, out, errOut)
			}
			if out := k.Run(t, "exec", "one", "--", "true", "0"); out != "" {
				t.Errorf("kubectl exec true: %q", out)
			}

			local := freePort(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", s.Kubeconfig, "port-forward", "pod/one", fmt.Sprintf("%d:80", local))
			cmd.Env = append(os.Environ(), mode.env...)
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cancel()
				cmd.Wait()
			}()
			for i := 0; i < 2; i++ {
				var got string
				harness.Eventually(t, 20*time.Second, "an echo through port-forward", func() (bool, string) {
					c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), time.Second)
					if err != nil {
						return false, err.Error() + " " + stderr.String()
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(5 * time.Second))
					msg := fmt.Sprintf("ping %d\n", i)
					io.WriteString(c, msg)
					got, err = bufio.NewReader(c).ReadString('\n')
					return got == msg, fmt.Sprintf("%q %v %s", got, err, stderr.String())
				})
			}
		})
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
