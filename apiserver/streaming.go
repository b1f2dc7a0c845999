package apiserver

// The pod subresources a node agent serves: the API server finds the pod's node (its
// InternalIP and status.daemonEndpoints.kubeletEndpoint.Port) and hands the request on.
//
//   - pods/log (GET) is proxied as a plain HTTP stream to /containerLogs, flushed as it
//     comes so that `kubectl logs -f` follows, or sent over WebSocket when the GET asks
//     for an upgrade (logsocket.go); a node agent's error becomes a Status.
//   - pods/exec, pods/attach and pods/portforward (GET for WebSocket, POST for SPDY)
//     are relayed untouched: the upgrade request goes to the node agent's /exec,
//     /attach or /portForward, and after its 101 Switching Protocols the two
//     connections are spliced, so the protocols (v5.channel.k8s.io, SPDY/3.1,
//     SPDY/3.1+portforward.k8s.io) are spoken end to end between kubectl and the node.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// Pod subresources served by the node agent.
const (
	subLog         = "log"
	subExec        = "exec"
	subAttach      = "attach"
	subPortForward = "portforward"
)

// subEphemeral is pods/ephemeralcontainers: a pod read and written through it changes only
// spec.ephemeralContainers, and only by adding (debug containers, kubectl debug).
const subEphemeral = "ephemeralcontainers"

func isNodeSubresource(sub string) bool {
	return sub == subLog || sub == subExec || sub == subAttach || sub == subPortForward
}

// logQuery are the pods/log options the node agent's /containerLogs understands.
var logQuery = []string{"follow", "previous", "tailLines", "sinceSeconds", "sinceTime", "timestamps", "limitBytes"}

// nodeDialTimeout bounds connecting to a node agent.
const nodeDialTimeout = 10 * time.Second

// serveNodeSubresource answers pods/log, exec, attach and portforward.
func (s *Server) serveNodeSubresource(w http.ResponseWriter, req *http.Request, r *request) {
	switch {
	case r.subresource == subLog && r.verb != "get":
		writeError(w, errMethodNotAllowed(r.verb+" is not supported on pods/log"))
		return
	case r.subresource != subLog && r.verb != "get" && r.verb != "create":
		writeError(w, errMethodNotAllowed(r.verb+" is not supported on pods/"+r.subresource))
		return
	}
	if r.subresource != subLog && !s.admitConnect(w, req, r, "") { // connect.go
		return
	}
	pod := &core.Pod{}
	if err := s.store.Get(req.Context(), r.kind.Key(r.namespace, r.name), pod); err != nil {
		writeError(w, toAPIError(r.kind, r.name, err))
		return
	}
	q := req.URL.Query()
	var container string
	if r.subresource != subPortForward {
		var aerr *apiError
		if container, aerr = podContainer(pod, q.Get("container")); aerr != nil {
			writeError(w, aerr)
			return
		}
	}
	base, aerr := s.nodeEndpoint(req.Context(), pod, r.subresource)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	target := *base
	pq := url.Values{}
	switch r.subresource {
	case subLog:
		target.Path = "/containerLogs/" + pod.Namespace + "/" + pod.Name + "/" + container
		for _, k := range logQuery {
			if v := q.Get(k); v != "" {
				pq.Set(k, v)
			}
		}
		target.RawQuery = pq.Encode()
		s.proxyLog(w, req, &target)
		return
	case subExec, subAttach:
		target.Path = "/" + r.subresource + "/" + pod.Namespace + "/" + pod.Name + "/" + container
	case subPortForward:
		target.Path = "/portForward/" + pod.Namespace + "/" + pod.Name
	}
	for k, v := range q {
		if k != "container" {
			pq[k] = v
		}
	}
	target.RawQuery = pq.Encode()
	s.relayStream(w, req, &target)
}

// podContainer resolves the container a request names: the only one when it names none.
func podContainer(pod *core.Pod, name string) (string, *apiError) {
	if name == "" {
		if len(pod.Spec.Containers) == 1 {
			return pod.Spec.Containers[0].Name, nil
		}
		names := func(cs []core.Container) string {
			l := make([]string, len(cs))
			for i, c := range cs {
				l[i] = c.Name
			}
			return "[" + strings.Join(l, " ") + "]"
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %s", pod.Name, names(pod.Spec.Containers))
		if len(pod.Spec.InitContainers) > 0 {
			msg += " or one of the init containers: " + names(pod.Spec.InitContainers)
		}
		return "", errBadRequest(msg)
	}
	for _, cs := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return name, nil
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return name, nil
		}
	}
	return "", errBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// simRuntime is how a simulated node's nodeInfo.containerRuntimeVersion begins.
const simRuntime = "sim://"

// nodeEndpoint is the base URL of the node agent running pod, for subresource sub.
func (s *Server) nodeEndpoint(ctx context.Context, pod *core.Pod, sub string) (*url.URL, *apiError) {
	if pod.Spec.NodeName == "" {
		return nil, errBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	nodes, ok := s.reg.Lookup("", "v1", "nodes")
	if !ok {
		return nil, errInternal(errors.New("nodes are not served"))
	}
	node := &core.Node{}
	if err := s.store.Get(ctx, nodes.Key("", pod.Spec.NodeName), node); err != nil {
		return nil, toAPIError(nodes, pod.Spec.NodeName, err)
	}
	if strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, simRuntime) {
		// Simulated nodes run no processes and serve no streams: say so rather than dial.
		what := map[string]string{subLog: "logs are", subExec: "exec is", subAttach: "attach is", subPortForward: "port forwarding is"}[sub]
		return nil, errBadRequest(fmt.Sprintf("%s not supported by the sim runtime: pod %s runs on simulated node %s, whose containers run no processes", what, pod.Name, node.Name))
	}
	return s.nodeAgentURL(node)
}

// nodeAgentURL is the base URL of the node's agent: its address and advertised port.
func (s *Server) nodeAgentURL(node *core.Node) (*url.URL, *apiError) {
	host := nodeHost(node)
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if host == "" || port <= 0 {
		return nil, errBadRequest(fmt.Sprintf("node %s has no address and port for its node agent", node.Name))
	}
	return &url.URL{Scheme: s.nodeScheme(), Host: net.JoinHostPort(host, strconv.Itoa(int(port)))}, nil
}

func errNodeUnreachable(err error) *apiError {
	return newStatus(http.StatusBadGateway, meta.ReasonInternalError, "error dialing backend: "+err.Error(), nil)
}

// proxyLog streams a container's log from its node agent: as a plain HTTP body, or
// over WebSocket when the request asks for an upgrade (logsocket.go).
func (s *Server) proxyLog(w http.ResponseWriter, req *http.Request, target *url.URL) {
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	tr, err := s.nodeTransport()
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(out)
	if err != nil {
		writeError(w, errNodeUnreachable(err))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		writeError(w, nodeError(resp.StatusCode, strings.TrimSpace(string(b))))
		return
	}
	if isWebSocketUpgrade(req) {
		serveLogSocket(w, req, resp.Body, cancel)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush() // kubectl logs -f waits for the headers, though no line may come for a while
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// nodeError is a node agent's plain-text error answer as a Status.
func nodeError(code int, msg string) *apiError {
	if msg == "" {
		msg = http.StatusText(code)
	}
	switch code {
	case http.StatusBadRequest:
		return errBadRequest(msg)
	case http.StatusNotFound:
		return newStatus(code, meta.ReasonNotFound, msg, nil)
	case http.StatusForbidden:
		return newStatus(code, meta.ReasonForbidden, msg, nil)
	}
	return newStatus(code, meta.ReasonInternalError, msg, nil)
}

// relayStream hands an upgrade request to the node agent and splices the connections
// once it has switched protocols; an answer that is not an upgrade (a Status from the
// node agent) is passed on as it is.
func (s *Server) relayStream(w http.ResponseWriter, req *http.Request, target *url.URL) {
	tr, err := s.nodeTransport()
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	defer tr.CloseIdleConnections()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = target
			pr.Out.Host = target.Host
			// The node agent trusts the API server; the user's credentials stay here.
			pr.Out.Header.Del("Authorization")
			pr.Out.Header.Del("Cookie")
		},
		Transport:     tr,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away
			}
			writeError(w, errNodeUnreachable(err))
		},
	}
	rp.ServeHTTP(w, req)
}
