package node

import (
	"context"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn"
	"github.com/skiff-sh/skiff/apiserver/authz"
)

func nodeUser(name string) *authn.User {
	return &authn.User{Name: "system:node:" + name, Groups: []string{"system:nodes", "system:authenticated"}}
}

func webPod(node string) *core.Pod {
	return &core.Pod{ObjectMeta: meta.ObjectMeta{Name: "web", Namespace: "app", UID: "u1"}, Spec: core.PodSpec{
		NodeName: node, ServiceAccountName: "runner", RuntimeClassName: ptrTo("sandboxed"),
		ImagePullSecrets: []core.LocalObjectReference{{Name: "regcred"}},
		Volumes: []core.Volume{
			{Name: "tls", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "tls"}}},
			{Name: "data", VolumeSource: core.VolumeSource{PersistentVolumeClaim: &core.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}},
			{Name: "proj", VolumeSource: core.VolumeSource{Projected: &core.ProjectedVolumeSource{Sources: []core.VolumeProjection{
				{ConfigMap: &core.ConfigMapProjection{LocalObjectReference: core.LocalObjectReference{Name: "settings"}}}}}}},
		},
		Containers: []core.Container{{Name: "c", Env: []core.EnvVar{{Name: "PW", ValueFrom: &core.EnvVarSource{
			SecretKeyRef: &core.SecretKeySelector{LocalObjectReference: core.LocalObjectReference{Name: "db"}, Key: "pw"}}}},
			EnvFrom: []core.EnvFromSource{{ConfigMapRef: &core.ConfigMapEnvSource{LocalObjectReference: core.LocalObjectReference{Name: "env"}}}}}},
	}}
}

func TestAuthorize(t *testing.T) {
	g := NewGraph()
	g.SetPod(webPod("n1"))
	g.SetPod(&core.Pod{ObjectMeta: meta.ObjectMeta{Name: "pending", Namespace: "app"}, Spec: core.PodSpec{
		Volumes: []core.Volume{{Name: "s", VolumeSource: core.VolumeSource{Secret: &core.SecretVolumeSource{SecretName: "unscheduled"}}}}}})
	z := New(g)
	res := func(verb, group, resource, sub, ns, name string) authz.Attributes {
		return authz.Attributes{User: nodeUser("n1"), Verb: verb, ResourceRequest: true, APIGroup: group, Resource: resource,
			Subresource: sub, Namespace: ns, Name: name}
	}
	for _, tc := range []struct {
		name string
		a    authz.Attributes
		want authz.Decision
	}{
		{"list pods", res("list", "", "pods", "", "", ""), authz.Allow},
		{"watch nodes", res("watch", "", "nodes", "", "", ""), authz.Allow},
		{"get services", res("get", "", "services", "", "app", "svc"), authz.Allow},
		{"list endpointslices", res("list", "discovery.k8s.io", "endpointslices", "", "", ""), authz.Allow},
		{"update node status", res("patch", "", "nodes", "status", "", "n1"), authz.Allow},
		{"update pod status", res("update", "", "pods", "status", "app", "web"), authz.Allow},
		{"create events", res("create", "", "events", "", "app", ""), authz.Allow},
		{"create csr", res("create", "certificates.k8s.io", "certificatesigningrequests", "", "", ""), authz.Allow},
		{"approve csr", res("update", "certificates.k8s.io", "certificatesigningrequests", "approval", "", "x"), authz.NoOpinion},
		{"secret of its pod (volume)", res("get", "", "secrets", "", "app", "tls"), authz.Allow},
		{"secret of its pod (env)", res("get", "", "secrets", "", "app", "db"), authz.Allow},
		{"watch one secret of its pod", res("watch", "", "secrets", "", "app", "regcred"), authz.Allow},
		{"configmap (projected)", res("get", "", "configmaps", "", "app", "settings"), authz.Allow},
		{"configmap (envFrom)", res("get", "", "configmaps", "", "app", "env"), authz.Allow},
		{"runtime class of its pod", res("get", "node.k8s.io", "runtimeclasses", "", "", "sandboxed"), authz.Allow},
		{"another runtime class", res("get", "node.k8s.io", "runtimeclasses", "", "", "other"), authz.NoOpinion},
		{"list runtime classes", res("list", "node.k8s.io", "runtimeclasses", "", "", ""), authz.NoOpinion},
		{"pvc", res("get", "", "persistentvolumeclaims", "", "app", "data"), authz.Allow},
		{"service account", res("get", "", "serviceaccounts", "", "app", "runner"), authz.Allow},
		{"token for its pods' account", res("create", "", "serviceaccounts", "token", "app", "runner"), authz.Allow},
		{"token for another account", res("create", "", "serviceaccounts", "token", "app", "default"), authz.NoOpinion},
		{"other secret", res("get", "", "secrets", "", "app", "other"), authz.NoOpinion},
		{"same name, other namespace", res("get", "", "secrets", "", "kube-system", "tls"), authz.NoOpinion},
		{"secret of an unscheduled pod", res("get", "", "secrets", "", "app", "unscheduled"), authz.NoOpinion},
		{"list all secrets", res("list", "", "secrets", "", "app", ""), authz.NoOpinion},
		{"update a secret of its pod", res("update", "", "secrets", "", "app", "tls"), authz.NoOpinion},
		{"own lease", res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n1"), authz.Allow},
		{"create lease", res("create", "coordination.k8s.io", "leases", "", "kube-node-lease", ""), authz.Allow},
		{"another node's lease", res("update", "coordination.k8s.io", "leases", "", "kube-node-lease", "n2"), authz.NoOpinion},
		{"lease elsewhere", res("get", "coordination.k8s.io", "leases", "", "kube-system", "n1"), authz.NoOpinion},
		{"list leases", res("list", "coordination.k8s.io", "leases", "", "kube-node-lease", ""), authz.NoOpinion},
		{"delete deployments", res("delete", "apps", "deployments", "", "app", "x"), authz.NoOpinion},
		{"pod exec", res("create", "", "pods", "exec", "app", "web"), authz.NoOpinion},
		{"not a node", authz.Attributes{User: &authn.User{Name: "system:node:n1"}, Verb: "get", ResourceRequest: true, Resource: "pods"}, authz.NoOpinion},
		{"node group, other name", authz.Attributes{User: &authn.User{Name: "jane", Groups: []string{"system:nodes"}}, Verb: "get", ResourceRequest: true, Resource: "pods"}, authz.NoOpinion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, reason, err := z.Authorize(context.Background(), tc.a)
			if err != nil || d != tc.want {
				t.Errorf("decision %v (%q, %v), want %v", d, reason, err, tc.want)
			}
		})
	}

	// Another node sees none of n1's objects.
	other := authz.Attributes{User: nodeUser("n2"), Verb: "get", ResourceRequest: true, Resource: "secrets", Namespace: "app", Name: "tls"}
	if d, _, _ := z.Authorize(context.Background(), other); d != authz.NoOpinion {
		t.Errorf("n2 reads n1's secret: %v", d)
	}
}

// The graph follows the pods: moved, changed and deleted pods take their edges with them,
// and a shared object stays readable while any pod of the node still refers to it.
func TestGraphFollowsPods(t *testing.T) {
	g := NewGraph()
	tls := Ref{Secret, "app", "tls"}
	p := webPod("n1")
	g.SetPod(p)
	twin := webPod("n1")
	twin.Name, twin.UID = "web-2", "u2"
	g.SetPod(twin)
	g.DeletePod(p)
	if !g.Related("n1", tls) {
		t.Fatal("secret still used by web-2, but not related")
	}
	twin.Spec.Volumes = nil
	g.SetPod(twin)
	if g.Related("n1", tls) {
		t.Fatal("no pod uses the secret any more, still related")
	}
	if !g.PodOnNode("n1", "app", "web-2", "u2") || g.PodOnNode("n1", "app", "web-2", "other-uid") || g.PodOnNode("n2", "app", "web-2", "") {
		t.Fatal("PodOnNode")
	}
	g.DeletePod(twin)
	if len(g.edges) != 0 || len(g.pods) != 0 || len(g.podsByNode) != 0 {
		t.Fatalf("leftovers: %v %v %v", g.edges, g.pods, g.podsByNode)
	}
	// The default ServiceAccount counts when none is named.
	g.SetPod(&core.Pod{ObjectMeta: meta.ObjectMeta{Name: "a", Namespace: "x"}, Spec: core.PodSpec{NodeName: "n3"}})
	if !g.Related("n3", Ref{ServiceAccount, "x", "default"}) {
		t.Fatal("default service account not related")
	}
	g.Reset()
	if g.Related("n3", Ref{ServiceAccount, "x", "default"}) {
		t.Fatal("Reset kept edges")
	}
}

func TestPersistentVolumeThroughClaim(t *testing.T) {
	g := NewGraph()
	z := New(g)
	g.SetPod(webPod("n1")) // uses claim app/data
	get := func(node, pv string) authz.Decision {
		d, _, _ := z.Authorize(context.Background(), authz.Attributes{User: nodeUser(node), Verb: "get", ResourceRequest: true, Resource: "persistentvolumes", Name: pv})
		return d
	}
	if get("n1", "pv-1") != authz.NoOpinion {
		t.Fatal("volume readable before any claim is bound to it")
	}
	claim := &core.PersistentVolumeClaim{ObjectMeta: meta.ObjectMeta{Name: "data", Namespace: "app"}, Spec: core.PersistentVolumeClaimSpec{VolumeName: "pv-1"}}
	g.SetClaim(claim)
	if get("n1", "pv-1") != authz.Allow {
		t.Error("n1 cannot read the volume of its pod's claim")
	}
	if get("n2", "pv-1") != authz.NoOpinion {
		t.Error("n2 reads n1's volume")
	}
	if get("n1", "pv-2") != authz.NoOpinion {
		t.Error("n1 reads an unrelated volume")
	}
	g.DeleteClaim(claim)
	if get("n1", "pv-1") != authz.NoOpinion {
		t.Error("volume still readable after its claim went")
	}
}

func TestLocalVolumesOfANode(t *testing.T) {
	g := NewGraph()
	z := New(g)
	do := func(verb, node, pv string) authz.Decision {
		d, _, _ := z.Authorize(context.Background(), authz.Attributes{User: nodeUser(node), Verb: verb, ResourceRequest: true, Resource: "persistentvolumes", Name: pv})
		return d
	}
	pinned := func(name, node, provisioner string) *core.PersistentVolume {
		return &core.PersistentVolume{ObjectMeta: meta.ObjectMeta{Name: name, Annotations: map[string]string{core.AnnDynamicallyProvisioned: provisioner}},
			Spec: core.PersistentVolumeSpec{PersistentVolumeSource: core.PersistentVolumeSource{Local: &core.LocalVolumeSource{Path: "/x"}},
				NodeAffinity: &core.VolumeNodeAffinity{Required: &core.NodeSelector{NodeSelectorTerms: []core.NodeSelectorTerm{{
					MatchExpressions: []core.NodeSelectorRequirement{{Key: core.LabelHostname, Operator: core.NodeSelectorOpIn, Values: []string{node}}}}}}}}}
	}
	g.SetVolume(pinned("mine", "n1", "skiff.dev/local"))
	g.SetVolume(pinned("static", "n1", "")) // not skiff's: nothing to clean up
	for _, tc := range []struct {
		verb, node, pv string
		want           authz.Decision
	}{
		{"get", "n1", "mine", authz.Allow},
		{"update", "n1", "mine", authz.Allow},
		{"patch", "n1", "mine", authz.Allow},
		{"delete", "n1", "mine", authz.NoOpinion},
		{"get", "n2", "mine", authz.NoOpinion},
		{"update", "n1", "static", authz.NoOpinion},
		{"list", "n1", "", authz.NoOpinion},
	} {
		if got := do(tc.verb, tc.node, tc.pv); got != tc.want {
			t.Errorf("%s %s by %s: %v, want %v", tc.verb, tc.pv, tc.node, got, tc.want)
		}
	}
	g.DeleteVolume(pinned("mine", "n1", "skiff.dev/local"))
	if do("get", "n1", "mine") != authz.NoOpinion {
		t.Error("a deleted volume still readable")
	}
}

func ptrTo[T any](v T) *T { return &v }
