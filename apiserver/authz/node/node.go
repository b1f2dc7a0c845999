// Package node is the Node authorizer: what a node agent, authenticated as
// system:node:NAME in system:nodes, may do. As in Kubernetes it allows
//
//   - reads of what every node needs: nodes, pods, services, endpoints and endpoint slices;
//   - writes a node makes about itself: its Node and node status, its pods' status, mirror
//     pods, evictions, events, its Lease in kube-node-lease (by name), and
//     CertificateSigningRequests (to renew its certificate);
//   - get (and list/watch by name) of a Secret, ConfigMap, PersistentVolumeClaim or
//     ServiceAccount, and get of a RuntimeClass, only while a pod bound to the node refers
//     to it, get of a
//     PersistentVolume bound to such a claim, and ServiceAccount
//     tokens (serviceaccounts/token) only for the accounts its pods run as — a Graph built
//     from the pod watch;
//   - get, update and patch of the skiff.dev/local PersistentVolumes pinned to it (their
//     data is on its disk; NodeRestriction lets it change only their cleanup finalizer).
//
// Which Node, and whose pods, a write may touch is narrowed by NodeRestriction admission
// (apiserver/admission/noderestriction), which sees the objects. Anything else gets no
// opinion, so RBAC decides (and by default denies).
package node

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

// LeaseNamespace is where node heartbeats live.
const LeaseNamespace = "kube-node-lease"

// Authorizer decides node requests.
type Authorizer struct{ graph *Graph }

// New returns the authorizer over graph.
func New(graph *Graph) *Authorizer { return &Authorizer{graph: graph} }

// NodeName returns the node a user is, if it is one: system:node:NAME in system:nodes.
func NodeName(u *authn.User) (string, bool) {
	if u == nil || !u.InGroup(authn.GroupNodes) {
		return "", false
	}
	name, ok := strings.CutPrefix(u.Name, authn.NodeUserPrefix)
	return name, ok && name != ""
}

// rule is one static permission of every node.
type rule struct {
	group     string
	resources []string // "pods", "pods/status"
	verbs     []string
}

var (
	read  = []string{"get", "list", "watch"}
	write = []string{"create", "update", "patch"}
)

// rules are what every node may do whatever the object (NodeRestriction narrows writes).
var rules = []rule{
	{"", []string{"nodes", "pods", "services", "endpoints"}, read},
	{"discovery.k8s.io", []string{"endpointslices"}, read},
	{"", []string{"nodes"}, []string{"create", "update", "patch", "delete"}},
	{"", []string{"nodes/status", "pods/status"}, []string{"update", "patch"}},
	{"", []string{"pods"}, []string{"create", "delete"}}, // mirror pods; its own pods' final delete
	{"", []string{"pods/eviction"}, []string{"create"}},
	{"", []string{"events"}, []string{"create", "update", "patch"}},
	{"events.k8s.io", []string{"events"}, []string{"create", "update", "patch"}},
	{"certificates.k8s.io", []string{"certificatesigningrequests"}, []string{"create", "get", "list", "watch"}},
	{"authentication.k8s.io", []string{"tokenreviews"}, []string{"create"}},
	{"authorization.k8s.io", []string{"subjectaccessreviews", "localsubjectaccessreviews"}, []string{"create"}},
}

// Authorize implements authz.Authorizer.
func (z *Authorizer) Authorize(_ context.Context, a authz.Attributes) (authz.Decision, string, error) {
	node, ok := NodeName(a.User)
	if !ok || !a.ResourceRequest {
		return authz.NoOpinion, "", nil
	}
	res := a.Resource
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	switch {
	case a.APIGroup == "" && (res == Secret || res == ConfigMap || res == PVC || res == ServiceAccount):
		return z.readReferenced(node, a)
	case a.APIGroup == "" && res == "persistentvolumes":
		// Its local volumes a node may also update (NodeRestriction: only their
		// skiff.dev/local-volume finalizer), to hold them while it keeps their data.
		local := a.Name != "" && z.graph.LocalVolumeOf(node, a.Name)
		if local && (a.Verb == "get" || a.Verb == "update" || a.Verb == "patch") {
			return authz.Allow, "", nil
		}
		if a.Verb != "get" || a.Name == "" {
			return authz.NoOpinion, "can only get individual persistentvolumes", nil
		}
		if z.graph.VolumeRelated(node, a.Name) {
			return authz.Allow, "", nil
		}
		return authz.NoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
	case a.APIGroup == "" && res == "serviceaccounts/token":
		if a.Verb != "create" {
			return authz.NoOpinion, "can only create tokens", nil
		}
		return z.related(node, Ref{ServiceAccount, a.Namespace, a.Name})
	case a.APIGroup == "coordination.k8s.io" && res == "leases":
		return lease(node, a)
	case a.APIGroup == "node.k8s.io" && res == RuntimeClass:
		// Kubernetes' authorizeGet: the class of one of its pods, by name.
		if a.Verb != "get" || a.Name == "" {
			return authz.NoOpinion, "can only get individual resources of this type", nil
		}
		return z.related(node, Ref{RuntimeClass, "", a.Name})
	}
	for _, r := range rules {
		if r.group == a.APIGroup && slices.Contains(r.resources, res) && slices.Contains(r.verbs, a.Verb) {
			return authz.Allow, "", nil
		}
	}
	return authz.NoOpinion, "", nil
}

// readReferenced allows reading one named object a pod of the node refers to; a list or
// watch must name it (kubelet watches single objects with metadata.name).
func (z *Authorizer) readReferenced(node string, a authz.Attributes) (authz.Decision, string, error) {
	if !slices.Contains(read, a.Verb) {
		return authz.NoOpinion, "can only read " + a.Resource, nil
	}
	if a.Name == "" {
		return authz.NoOpinion, "can only get individual resources of this type", nil
	}
	return z.related(node, Ref{a.Resource, a.Namespace, a.Name})
}

func (z *Authorizer) related(node string, r Ref) (authz.Decision, string, error) {
	if z.graph.Related(node, r) {
		return authz.Allow, "", nil
	}
	return authz.NoOpinion, fmt.Sprintf("no relationship found between node '%s' and this object", node), nil
}

// lease allows a node its own heartbeat Lease, and nothing else in coordination.k8s.io.
func lease(node string, a authz.Attributes) (authz.Decision, string, error) {
	if a.Namespace != LeaseNamespace {
		return authz.NoOpinion, fmt.Sprintf("can only access leases in the %s namespace", LeaseNamespace), nil
	}
	switch a.Verb {
	case "create":
		// The name is in the body: NodeRestriction checks it.
		return authz.Allow, "", nil
	case "get", "update", "patch", "delete":
		if a.Name == node {
			return authz.Allow, "", nil
		}
		return authz.NoOpinion, "can only access node lease with the same name as the requesting node", nil
	}
	return authz.NoOpinion, "can only get, create, update, patch or delete its own lease", nil
}
