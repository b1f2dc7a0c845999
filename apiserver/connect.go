package apiserver

// CONNECT admission: exec, attach, port-forward and the proxy subresources pass through the
// admission chain before anything is opened, as kube-apiserver's connect handler does, so a
// validating webhook with operation CONNECT (or a policy) can refuse them. The object
// admitted is the request's options (PodExecOptions, PodAttachOptions, ...), decoded from
// the query as Kubernetes does.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// connectObject carries a connect's options through the chain: the options have no
// metadata, and webhooks are sent the options alone (their JSON).
type connectObject struct {
	options any
	typ     meta.TypeMeta
	om      meta.ObjectMeta
}

func (c *connectObject) GetTypeMeta() *meta.TypeMeta     { return &c.typ }
func (c *connectObject) GetObjectMeta() *meta.ObjectMeta { return &c.om }
func (c *connectObject) MarshalJSON() ([]byte, error)    { return json.Marshal(c.options) }

// connectOptions are the options of a connect to sub ("exec", "proxy", ...) of resource,
// read from the query (path is the proxied path).
func connectOptions(resource, sub string, q url.Values, path string) *connectObject {
	flag := func(k string) bool { b, _ := strconv.ParseBool(q.Get(k)); return b }
	tm := func(kind string) meta.TypeMeta { return meta.TypeMeta{APIVersion: "v1", Kind: kind} }
	var o any
	var typ meta.TypeMeta
	switch sub {
	case subExec:
		typ = tm("PodExecOptions")
		o = &core.PodExecOptions{TypeMeta: typ, Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"),
			TTY: flag("tty"), Container: q.Get("container"), Command: q["command"]}
	case subAttach:
		typ = tm("PodAttachOptions")
		o = &core.PodAttachOptions{TypeMeta: typ, Stdin: flag("stdin"), Stdout: flag("stdout"), Stderr: flag("stderr"),
			TTY: flag("tty"), Container: q.Get("container")}
	case subPortForward:
		typ = tm("PodPortForwardOptions")
		po := &core.PodPortForwardOptions{TypeMeta: typ}
		for _, p := range q["ports"] {
			if n, err := strconv.ParseInt(p, 10, 32); err == nil {
				po.Ports = append(po.Ports, int32(n))
			}
		}
		o = po
	default: // proxy
		switch resource {
		case "services":
			typ = tm("ServiceProxyOptions")
			o = &core.ServiceProxyOptions{TypeMeta: typ, Path: path}
		case "nodes":
			typ = tm("NodeProxyOptions")
			o = &core.NodeProxyOptions{TypeMeta: typ, Path: path}
		default:
			typ = tm("PodProxyOptions")
			o = &core.PodProxyOptions{TypeMeta: typ, Path: path}
		}
	}
	return &connectObject{options: o, typ: typ}
}

// admitConnect runs the admission chain for a connect; false when it was refused (the
// refusal is written).
func (s *Server) admitConnect(w http.ResponseWriter, req *http.Request, r *request, path string) bool {
	obj := connectOptions(r.kind.Resource, r.subresource, req.URL.Query(), path)
	a := admissionAttributes(req.Context(), admission.Connect, r.kind, r.subresource, r.namespace, r.name, obj, nil, false)
	if aerr := s.admit(req.Context(), a, nil); aerr != nil {
		writeError(w, aerr)
		return false
	}
	return true
}
