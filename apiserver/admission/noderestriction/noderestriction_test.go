package noderestriction

import (
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

func TestAdmit(t *testing.T) {
	n1 := &authn.User{Name: "system:node:n1", Groups: []string{"system:nodes"}}
	admin := &authn.User{Name: "admin", Groups: []string{"system:masters"}}
	pod := func(name, node string) *core.Pod {
		return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: name, Namespace: "app", UID: "uid-" + name}, Spec: core.PodSpec{NodeName: node}}
	}
	stored := map[string]*core.Pod{"mine": pod("mine", "n1"), "theirs": pod("theirs", "n2")}
	pods := func(_, name string) (*core.Pod, bool) { p, ok := stored[name]; return p, ok }
	nodeObj := func(name string, labels map[string]string, taints ...core.Taint) *core.Node {
		return &core.Node{ObjectMeta: meta.ObjectMeta{Name: name, Labels: labels}, Spec: core.NodeSpec{Taints: taints}}
	}
	selfLabels := map[string]string{"kubernetes.io/hostname": "n1", "kubernetes.io/os": "linux", "team": "a", "node.kubernetes.io/exclude-from-external-load-balancers": ""}
	mirror := pod("static", "n1")
	mirror.Annotations = map[string]string{MirrorPodAnnotation: "x"}
	mirrorWithSecret := pod("static2", "n1")
	mirrorWithSecret.Annotations = map[string]string{MirrorPodAnnotation: "x"}
	mirrorWithSecret.Spec.Volumes = []core.Volume{{Name: "s", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "s"}}}}
	token := func(kind, name, uid string) *authentication.TokenRequest {
		return &authentication.TokenRequest{Spec: authentication.TokenRequestSpec{BoundObjectRef: &authentication.BoundObjectReference{Kind: kind, Name: name, UID: uid}}}
	}
	taint := core.Taint{Key: "dedicated", Value: "gpu", Effect: core.TaintEffectNoSchedule}
	pv := func(finalizers ...string) *core.PersistentVolume {
		return &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: "pv-1", Finalizers: finalizers},
			Spec: core.PersistentVolumeSpec{PersistentVolumeSource: core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: "/data/pv-1"}}}}
	}
	moved := pv()
	moved.Spec.Local = &core.LocalVolumeSource{Path: "/etc"}
	for _, tc := range []struct {
		name string
		a    Attributes
		want string // "" = admitted; else part of the refusal
	}{
		{"admins are not nodes", Attributes{User: admin, Operation: Delete, Resource: "nodes", Name: "n2"}, ""},
		{"register itself", Attributes{User: n1, Operation: Create, Resource: "nodes", Object: nodeObj("n1", selfLabels)}, ""},
		{"register another node", Attributes{User: n1, Operation: Create, Resource: "nodes", Object: nodeObj("n2", nil)}, `not allowed to modify node "n2"`},
		{"register with a restricted label", Attributes{User: n1, Operation: Create, Resource: "nodes",
			Object: nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/secure": "true", "node-role.kubernetes.io/control-plane": ""})},
			"not allowed to set the following labels: node-restriction.kubernetes.io/secure, node-role.kubernetes.io/control-plane"},
		{"register with taints", Attributes{User: n1, Operation: Create, Resource: "nodes", Object: nodeObj("n1", nil, taint)}, ""},
		{"update its status", Attributes{User: n1, Operation: Update, Resource: "nodes", Subresource: "status", Name: "n1",
			Object: nodeObj("n1", selfLabels, taint), OldObject: nodeObj("n1", selfLabels, taint)}, ""},
		{"update another node's status", Attributes{User: n1, Operation: Update, Resource: "nodes", Subresource: "status", Name: "n2",
			Object: nodeObj("n2", nil), OldObject: nodeObj("n2", nil)}, `modify node "n2"`},
		{"remove its taints", Attributes{User: n1, Operation: Update, Resource: "nodes", Name: "n1",
			Object: nodeObj("n1", nil), OldObject: nodeObj("n1", nil, taint)}, "not allowed to modify taints"},
		{"keep a restricted label an admin set", Attributes{User: n1, Operation: Update, Resource: "nodes", Name: "n1",
			Object:    nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/secure": "true", "team": "b"}),
			OldObject: nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/secure": "true", "team": "a"})}, ""},
		{"remove a restricted label", Attributes{User: n1, Operation: Update, Resource: "nodes", Name: "n1",
			Object: nodeObj("n1", nil), OldObject: nodeObj("n1", map[string]string{"node-restriction.kubernetes.io/secure": "true"})}, "not allowed to modify labels"},
		{"delete itself", Attributes{User: n1, Operation: Delete, Resource: "nodes", Name: "n1", OldObject: nodeObj("n1", nil)}, ""},
		{"delete another node", Attributes{User: n1, Operation: Delete, Resource: "nodes", Name: "n2", OldObject: nodeObj("n2", nil)}, `modify node "n2"`},
		{"status of its pod", Attributes{User: n1, Operation: Update, Resource: "pods", Subresource: "status", Namespace: "app", Name: "mine",
			Object: stored["mine"], OldObject: stored["mine"]}, ""},
		{"status of another node's pod", Attributes{User: n1, Operation: Update, Resource: "pods", Subresource: "status", Namespace: "app", Name: "theirs",
			Object: stored["mine"], OldObject: stored["theirs"]}, "can only update pod status"},
		{"delete its pod", Attributes{User: n1, Operation: Delete, Resource: "pods", Namespace: "app", Name: "mine", OldObject: stored["mine"]}, ""},
		{"delete another node's pod", Attributes{User: n1, Operation: Delete, Resource: "pods", Namespace: "app", Name: "theirs", OldObject: stored["theirs"]}, "can only delete pods"},
		{"update a pod's spec", Attributes{User: n1, Operation: Update, Resource: "pods", Namespace: "app", Name: "mine", Object: stored["mine"], OldObject: stored["mine"]}, "not allowed to update pods"},
		{"evict its pod", Attributes{User: n1, Operation: Create, Resource: "pods", Subresource: "eviction", Namespace: "app", Name: "mine"}, ""},
		{"evict another node's pod", Attributes{User: n1, Operation: Create, Resource: "pods", Subresource: "eviction", Namespace: "app", Name: "theirs"}, "can only evict"},
		{"create a mirror pod", Attributes{User: n1, Operation: Create, Resource: "pods", Namespace: "app", Object: mirror}, ""},
		{"create an ordinary pod", Attributes{User: n1, Operation: Create, Resource: "pods", Namespace: "app", Object: pod("x", "n1")}, "can only create mirror pods"},
		{"mirror pod naming a secret", Attributes{User: n1, Operation: Create, Resource: "pods", Namespace: "app", Object: mirrorWithSecret}, "reference secrets"},
		{"its own lease", Attributes{User: n1, Operation: Create, Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease",
			Object: &coordination.Lease{ObjectMeta: meta.ObjectMeta{Name: "n1"}}}, ""},
		{"another node's lease", Attributes{User: n1, Operation: Create, Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-node-lease",
			Object: &coordination.Lease{ObjectMeta: meta.ObjectMeta{Name: "n2"}}}, `lease "n2"`},
		{"token bound to its pod", Attributes{User: n1, Operation: Create, Resource: "serviceaccounts", Subresource: "token", Namespace: "app", Name: "default",
			Object: token("Pod", "mine", "uid-mine")}, ""},
		{"token bound to another node's pod", Attributes{User: n1, Operation: Create, Resource: "serviceaccounts", Subresource: "token", Namespace: "app", Name: "default",
			Object: token("Pod", "theirs", "")}, "different node"},
		{"token bound to a stale pod uid", Attributes{User: n1, Operation: Create, Resource: "serviceaccounts", Subresource: "token", Namespace: "app", Name: "default",
			Object: token("Pod", "mine", "old")}, "does not match"},
		{"unbound token", Attributes{User: n1, Operation: Create, Resource: "serviceaccounts", Subresource: "token", Namespace: "app", Name: "default",
			Object: &authentication.TokenRequest{}}, "not bound to a pod"},
		{"hold its local volume", Attributes{User: n1, Operation: Update, Resource: "persistentvolumes", Name: "pv-1",
			Object: pv("kubernetes.io/pv-protection", "skiff.dev/local-volume"), OldObject: pv("kubernetes.io/pv-protection")}, ""},
		{"let its local volume go", Attributes{User: n1, Operation: Update, Resource: "persistentvolumes", Name: "pv-1",
			Object: pv(), OldObject: pv("skiff.dev/local-volume")}, ""},
		{"drop another finalizer", Attributes{User: n1, Operation: Update, Resource: "persistentvolumes", Name: "pv-1",
			Object: pv(), OldObject: pv("kubernetes.io/pv-protection")}, "except its skiff.dev/local-volume finalizer"},
		{"move a volume", Attributes{User: n1, Operation: Update, Resource: "persistentvolumes", Name: "pv-1",
			Object: moved, OldObject: pv()}, "except its skiff.dev/local-volume finalizer"},
		{"volume status", Attributes{User: n1, Operation: Update, Resource: "persistentvolumes", Subresource: "status", Name: "pv-1",
			Object: pv(), OldObject: pv()}, "not allowed to modify persistentvolumes"},
		{"token bound to a secret", Attributes{User: n1, Operation: Create, Resource: "serviceaccounts", Subresource: "token", Namespace: "app", Name: "default",
			Object: token("Secret", "s", "")}, "only pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Admit(tc.a, pods)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want a refusal about %q", err, tc.want)
			}
		})
	}
}
