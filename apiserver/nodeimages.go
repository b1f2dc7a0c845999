package apiserver

// nodes/images: POST /api/v1/nodes/NAME/images with an image archive as the body (docker
// save or OCI layout, application/x-tar or gzip) loads it into that node's containerd, so
// that a cluster needs no registry for images built locally (`skiff image import`). The API
// server relays the body to the node agent's POST /images (nodeagent/server/images.go) with
// its kubelet client certificate, exactly as pods/exec and pods/log reach the node agent;
// the answer is the loaded images' names, one a line.
//
// Authorization is its own subresource and verb, `create` on `nodes/images`, rather than
// `nodes/proxy`: nodes/proxy is the whole kubelet API (exec into any pod on the node), which
// a CI job that only loads images should not need, and an importer is powerful in its own
// way (a loaded image replaces what IfNotPresent pods of that name run), so a cluster
// administrator grants it on purpose — the bootstrap ClusterRole `skiff:image-importer`
// holds it, with reading nodes to find them. Kubernetes has no such subresource; the
// kubelet has no such endpoint either (images come from registries there).

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// subImages is the nodes subresource that loads image archives.
const subImages = "images"

// serveNodeImages relays an image archive to the node's agent.
func (s *Server) serveNodeImages(w http.ResponseWriter, req *http.Request, r *request) {
	if r.verb != "create" {
		writeError(w, errMethodNotAllowed(r.verb+" is not supported on nodes/images: POST an image archive"))
		return
	}
	node := &core.Node{}
	if err := s.store.Get(req.Context(), r.kind.Key("", r.name), node); err != nil {
		writeError(w, toAPIError(r.kind, r.name, err))
		return
	}
	if strings.HasPrefix(node.Status.NodeInfo.ContainerRuntimeVersion, simRuntime) {
		writeError(w, errBadRequest(fmt.Sprintf("node %s is simulated (sim runtime): it has no images to load into", node.Name)))
		return
	}
	loc, aerr := s.nodeAgentURL(node)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !node.IsReady() {
		// The agent may still answer; if it does not, this says why.
		w.Header().Add("Warning", `299 - "node `+node.Name+` is not Ready"`)
	}
	tr, err := s.nodeTransport()
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	defer tr.CloseIdleConnections()
	// Loading a big archive takes a while after its last byte is sent.
	tr.ResponseHeaderTimeout = 0
	loc.Path = "/images"
	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, loc.String(), req.Body)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	out.ContentLength = req.ContentLength
	out.Header.Set("Content-Type", req.Header.Get("Content-Type"))
	resp, err := tr.RoundTrip(out)
	if err != nil {
		writeError(w, errNodeUnreachable(err))
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	msg := strings.TrimSpace(string(b))
	switch resp.StatusCode {
	case http.StatusOK:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	case http.StatusRequestEntityTooLarge:
		writeError(w, newStatus(resp.StatusCode, meta.ReasonRequestEntityTooLarge, msg, nil))
	default:
		writeError(w, nodeError(resp.StatusCode, msg))
	}
}
