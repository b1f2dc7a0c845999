// Package noderestriction is Kubernetes' NodeRestriction admission plugin: it limits what a
// node (system:node:NAME in system:nodes) may write to its own objects, which the Node
// authorizer cannot do since it never sees request bodies or stored objects:
//
//   - its own Node only (create, update, status, delete), without changing its taints and
//     without setting labels that steer workloads (node-restriction.kubernetes.io/, and
//     kubernetes.io/ or k8s.io/ labels other than the ones a node reports about itself);
//   - its own Lease;
//   - pods bound to it: status writes, deletion, eviction; creation of mirror pods only;
//   - ServiceAccount tokens bound to one of its pods;
//   - of its skiff.dev/local PersistentVolumes (which the Node authorizer lets it update),
//     only the skiff.dev/local-volume finalizer, added or removed.
package noderestriction

import (
	"context"

	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz/node"
)

// Operation is what a request does to an object.
type Operation string

const (
	Create Operation = "CREATE"
	Update Operation = "UPDATE" // PUT and PATCH
	Delete Operation = "DELETE"
)

// Attributes describe one write. Object is the object to be stored (nil for a delete),
// OldObject the stored one (nil for a create); both are the kind of Resource, or of the
// subresource's body (TokenRequest for serviceaccounts/token, nothing for pods/eviction).
type Attributes struct {
	User                         *authn.User
	Operation                    Operation
	Group, Resource, Subresource string
	Namespace, Name              string
	Object, OldObject            meta.Object
}

// PodGetter finds a stored pod (for writes whose body is not the pod).
type PodGetter func(namespace, name string) (*core.Pod, bool)

// MirrorPodAnnotation marks a pod a node made from a static manifest.
const MirrorPodAnnotation = "kubernetes.io/config.mirror"

// Error is a refusal; the API server answers it with 403 Forbidden.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func forbid(format string, args ...any) error { return &Error{Message: fmt.Sprintf(format, args...)} }

// Admit returns an *Error if a node may not make this write, nil otherwise (and for every
// user that is not a node).
func Admit(a Attributes, pods PodGetter) error {
	nodeName, ok := node.NodeName(a.User)
	if !ok {
		return nil
	}
	switch {
	case a.Group == "" && a.Resource == "pods":
		return admitPod(nodeName, a, pods)
	case a.Group == "" && a.Resource == "nodes":
		return admitNode(nodeName, a)
	case a.Group == "" && a.Resource == "persistentvolumes":
		return admitVolume(nodeName, a)
	case a.Group == "coordination.k8s.io" && a.Resource == "leases":
		if name := objectName(a); name != nodeName {
			return forbid("node %q is not allowed to modify lease %q", nodeName, name)
		}
	case a.Group == "" && a.Resource == "serviceaccounts" && a.Subresource == "token":
		return admitToken(nodeName, a, pods)
	}
	return nil
}

func objectName(a Attributes) string {
	if a.Object != nil && a.Object.GetObjectMeta().Name != "" {
		return a.Object.GetObjectMeta().Name
	}
	return a.Name
}

func admitPod(nodeName string, a Attributes, pods PodGetter) error {
	switch a.Subresource {
	case "":
		switch a.Operation {
		case Create:
			return admitMirrorPod(nodeName, a.Object.(*core.Pod))
		case Delete:
			if p, ok := a.OldObject.(*core.Pod); !ok || p.Spec.NodeName != nodeName {
				return forbid("node %q can only delete pods with spec.nodeName set to itself", nodeName)
			}
			return nil
		}
		return forbid("node %q is not allowed to %s pods", nodeName, strings.ToLower(string(a.Operation)))
	case "status":
		if p, ok := a.OldObject.(*core.Pod); !ok || p.Spec.NodeName != nodeName {
			return forbid("node %q can only update pod status for pods with spec.nodeName set to itself", nodeName)
		}
		return nil
	case "eviction":
		if p, ok := pods(a.Namespace, a.Name); !ok || p.Spec.NodeName != nodeName {
			return forbid("node %q can only evict pods with spec.nodeName set to itself", nodeName)
		}
		return nil
	}
	return forbid("node %q is not allowed to write pods/%s", nodeName, a.Subresource)
}

// admitMirrorPod: a node creates only mirror pods of itself, which may use no secrets,
// config maps, claims or service account (a node cannot grant itself access by naming them).
func admitMirrorPod(nodeName string, p *core.Pod) error {
	if _, ok := p.Annotations[MirrorPodAnnotation]; !ok {
		return forbid("pod does not have %q annotation, node %q can only create mirror pods", MirrorPodAnnotation, nodeName)
	}
	if p.Spec.NodeName != nodeName {
		return forbid("node %q can only create pods with spec.nodeName set to itself", nodeName)
	}
	for _, o := range p.OwnerReferences {
		if o.Kind != "Node" || o.Name != nodeName {
			return forbid("node %q can only create pods with an owner reference set to itself", nodeName)
		}
	}
	for _, r := range node.PodRefs(p) {
		if r.Kind == node.ServiceAccount && (p.Spec.ServiceAccountName == "" || p.Spec.ServiceAccountName == "default") && r.Name == "default" {
			continue // the implicit default is no reference
		}
		return forbid("node %q can not create pods that reference %s", nodeName, r.Kind)
	}
	return nil
}

func admitNode(nodeName string, a Attributes) error {
	if name := objectName(a); name != nodeName {
		return forbid("node %q is not allowed to modify node %q", nodeName, name)
	}
	switch a.Operation {
	case Create:
		n := a.Object.(*core.Node)
		if bad := forbiddenLabels(n.Labels); len(bad) > 0 {
			return forbid("node %q is not allowed to set the following labels: %s", nodeName, strings.Join(bad, ", "))
		}
	case Update:
		n, old := a.Object.(*core.Node), a.OldObject.(*core.Node)
		if !reflect.DeepEqual(emptyNil(n.Spec.Taints), emptyNil(old.Spec.Taints)) {
			return forbid("node %q is not allowed to modify taints", nodeName)
		}
		if bad := forbiddenLabels(modifiedLabels(n.Labels, old.Labels)); len(bad) > 0 {
			return forbid("node %q is not allowed to modify labels: %s", nodeName, strings.Join(bad, ", "))
		}
	}
	return nil
}

func emptyNil(t []core.Taint) []core.Taint {
	if len(t) == 0 {
		return nil
	}
	return t
}

// modifiedLabels are the labels added, removed or changed, with their new values.
func modifiedLabels(n, old map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range n {
		if ov, ok := old[k]; !ok || ov != v {
			out[k] = v
		}
	}
	for k, v := range old {
		if _, ok := n[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// nodeLabels are the kubernetes.io labels a node reports about itself (Kubernetes'
// kubelet labels); node.kubernetes.io/ and kubelet.kubernetes.io/ are free too.
var nodeLabels = []string{
	"kubernetes.io/hostname", "kubernetes.io/os", "kubernetes.io/arch", "kubernetes.io/instance-type",
	"beta.kubernetes.io/os", "beta.kubernetes.io/arch", "beta.kubernetes.io/instance-type",
	"node.kubernetes.io/instance-type", "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
	"failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
}

func inDomain(domain, d string) bool { return domain == d || strings.HasSuffix(domain, "."+d) }

// forbiddenLabels lists, sorted, the keys a node may not set: the node-restriction
// domain (labels an administrator uses to steer workloads to trusted nodes) and Kubernetes'
// own domains except the node's self-description.
func forbiddenLabels(labels map[string]string) []string {
	var bad []string
	for k := range labels {
		domain, _, ok := strings.Cut(k, "/")
		if !ok {
			continue
		}
		switch {
		case inDomain(domain, "node-restriction.kubernetes.io"):
			bad = append(bad, k)
		case inDomain(domain, "kubernetes.io") || inDomain(domain, "k8s.io"):
			if !slices.Contains(nodeLabels, k) && !inDomain(domain, "kubelet.kubernetes.io") && !inDomain(domain, "node.kubernetes.io") {
				bad = append(bad, k)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// admitToken: a node gets tokens only bound to one of its pods (the pod then authenticates
// with it, and the token dies with the pod).
func admitToken(nodeName string, a Attributes, pods PodGetter) error {
	tr, ok := a.Object.(*authentication.TokenRequest)
	if !ok || tr.Spec.BoundObjectRef == nil {
		return forbid("node requested token not bound to a pod")
	}
	ref := tr.Spec.BoundObjectRef
	if ref.Kind != "Pod" {
		return forbid("node requested token bound to a %s, only pods are allowed", ref.Kind)
	}
	p, ok := pods(a.Namespace, ref.Name)
	if !ok || p.Spec.NodeName != nodeName {
		return forbid("node requested token bound to a pod scheduled on a different node")
	}
	if ref.UID != "" && ref.UID != p.UID {
		return forbid("the UID in the bound object reference (%s) does not match the UID in record", ref.UID)
	}
	return nil
}

// Plugin is NodeRestriction on the admission chain.
type Plugin struct{ pods PodGetter }

// NewPlugin makes the plugin; pods finds stored pods for writes whose body is not the pod.
func NewPlugin(pods PodGetter) *Plugin { return &Plugin{pods: pods} }

func (*Plugin) Name() string { return "NodeRestriction" }

// Validate refuses a node's write to what is not its own, with a 403.
func (p *Plugin) Validate(_ context.Context, a *admission.Attributes) error {
	if a.User == nil || a.Kind == nil {
		return nil
	}
	err := Admit(Attributes{User: a.User, Operation: Operation(a.Operation), Group: a.Kind.Group, Resource: a.Kind.Resource,
		Subresource: a.Subresource, Namespace: a.Namespace, Name: a.Name, Object: a.Object, OldObject: a.OldObject}, p.pods)
	if err != nil {
		return admission.Forbidden(a, err.Error())
	}
	return nil
}

// admitVolume lets a node add or remove the skiff.dev/local-volume finalizer of a volume
// and change nothing else: the finalizer says the node holds the volume's data.
func admitVolume(nodeName string, a Attributes) error {
	pv, ok1 := a.Object.(*core.PersistentVolume)
	old, ok2 := a.OldObject.(*core.PersistentVolume)
	if a.Operation != Update || a.Subresource != "" || !ok1 || !ok2 {
		return forbid("node %q is not allowed to modify persistentvolumes except their %s finalizer", nodeName, storage.LocalVolumeFinalizer)
	}
	strip := func(v *core.PersistentVolume) core.PersistentVolume {
		cp := *v // shallow: only top-level fields are replaced below
		cp.Finalizers = slices.DeleteFunc(slices.Clone(v.Finalizers), func(f string) bool { return f == storage.LocalVolumeFinalizer })
		if len(cp.Finalizers) == 0 {
			cp.Finalizers = nil
		}
		cp.ResourceVersion, cp.ManagedFields, cp.Generation = "", nil, 0
		return cp
	}
	if a, b := strip(pv), strip(old); !reflect.DeepEqual(a, b) {
		return forbid("node %q is not allowed to modify persistentvolume %q except its %s finalizer", nodeName, old.Name, storage.LocalVolumeFinalizer)
	}
	return nil
}
