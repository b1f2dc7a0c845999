package validation

import (
	"strings"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

func validConfigMap() *core.ConfigMap {
	return &core.ConfigMap{
		ObjectMeta: objectMeta("web-config", "default"),
		Data:       map[string]string{"app.conf": "x=1", "LOG_LEVEL": "debug"},
		BinaryData: map[string][]byte{"logo.png": {0x89, 0x50}},
	}
}

func TestValidateConfigMap(t *testing.T) {
	runCreateCases(t, validConfigMap, true, []objectCase[core.ConfigMap]{
		{name: "valid"},
		{name: "bad key", mutate: func(c *core.ConfigMap) { c.Data["a/b"] = "" }, want: []string{"data[a/b]" + invalid}},
		{name: "dot-dot key", mutate: func(c *core.ConfigMap) { c.BinaryData[".."] = nil }, want: []string{"binaryData[..]" + invalid}},
		{name: "key in both", mutate: func(c *core.ConfigMap) { c.Data["logo.png"] = "" }, want: []string{"data[logo.png]" + invalid}},
		{name: "too big", mutate: func(c *core.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", core.MaxSecretSize)
		}, want: []string{"[]" + tooLong}},
	})
}

func TestValidateConfigMapTooLongMessage(t *testing.T) {
	c := validConfigMap()
	c.Data["big"] = strings.Repeat("x", core.MaxSecretSize)
	if got, want := Validate(c, true).ToAggregate().Error(), "[]: Too long: may not be more than 1048576 bytes"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestValidateConfigMapUpdate(t *testing.T) {
	immutable := func() *core.ConfigMap { c := validConfigMap(); c.Immutable = ptr(true); return c }
	runUpdateCases(t, validConfigMap, true, []updateCase[core.ConfigMap]{
		{name: "data may change", mutate: func(c *core.ConfigMap) { c.Data["x"] = "y" }},
		{name: "may become immutable", mutate: func(c *core.ConfigMap) { c.Immutable = ptr(true) }},
	})
	runUpdateCases(t, immutable, true, []updateCase[core.ConfigMap]{
		{name: "metadata may change", mutate: func(c *core.ConfigMap) { c.Labels = map[string]string{"a": "b"} }},
		{name: "data frozen", mutate: func(c *core.ConfigMap) { c.Data["x"] = "y" }, want: []string{"data" + forbidden}},
		{name: "binaryData frozen", mutate: func(c *core.ConfigMap) { c.BinaryData = nil }, want: []string{"binaryData" + forbidden}},
		{name: "stays immutable", mutate: func(c *core.ConfigMap) { c.Immutable = ptr(false) }, want: []string{"immutable" + forbidden}},
	})
}

func validSecret() *core.Secret {
	return &core.Secret{
		ObjectMeta: objectMeta("web-tls", "default"),
		Type:       core.SecretTypeTLS,
		Data:       map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key")},
	}
}

func TestValidateSecret(t *testing.T) {
	runCreateCases(t, validSecret, true, []objectCase[core.Secret]{
		{name: "valid"},
		{name: "stringData counts", mutate: func(s *core.Secret) { delete(s.Data, "tls.key"); s.StringData = map[string]string{"tls.key": "k"} }},
		{name: "bad key", mutate: func(s *core.Secret) { s.Data["a b"] = nil }, want: []string{"data[a b]" + invalid}},
		{name: "bad stringData key", mutate: func(s *core.Secret) { s.StringData = map[string]string{"a/b": ""} }, want: []string{"stringData[a/b]" + invalid}},
		{name: "too big", mutate: func(s *core.Secret) { s.Data["big"] = make([]byte, core.MaxSecretSize) }, want: []string{"data" + tooLong}},
		{name: "tls needs key", mutate: func(s *core.Secret) { delete(s.Data, "tls.key") }, want: []string{"data[tls.key]" + required}},
		{name: "dockerconfigjson must be JSON", mutate: func(s *core.Secret) {
			s.Type, s.Data = core.SecretTypeDockerConfigJson, map[string][]byte{".dockerconfigjson": []byte("{")}
		}, want: []string{"data[.dockerconfigjson]" + invalid}},
		{name: "service account token needs the account", mutate: func(s *core.Secret) { s.Type = core.SecretTypeServiceAccountToken }, want: []string{
			"metadata.annotations[kubernetes.io/service-account.name]" + required}},
	})
}

func TestValidateSecretUpdate(t *testing.T) {
	runUpdateCases(t, validSecret, true, []updateCase[core.Secret]{
		{name: "data may change", mutate: func(s *core.Secret) { s.Data["tls.crt"] = []byte("new") }},
		{name: "type is immutable", mutate: func(s *core.Secret) { s.Type = core.SecretTypeOpaque }, want: []string{"type" + invalid}},
	})
	old, s := validSecret(), validSecret()
	old.Immutable, s.Immutable = ptr(true), ptr(true)
	s.Data["tls.crt"] = []byte("new")
	wantErrs(t, ValidateUpdate(s, old, true), "data"+forbidden)
}

func TestValidateNamespace(t *testing.T) {
	valid := func() *core.Namespace {
		return &core.Namespace{ObjectMeta: objectMeta("team-a", ""), Spec: core.NamespaceSpec{Finalizers: []core.FinalizerName{core.FinalizerKubernetes}}}
	}
	runCreateCases(t, valid, false, []objectCase[core.Namespace]{
		{name: "valid"},
		{name: "name is a DNS label", mutate: func(n *core.Namespace) { n.Name = "team.a" }, want: []string{"metadata.name" + invalid}},
		{name: "no namespace of its own", mutate: func(n *core.Namespace) { n.Namespace = "default" }, want: []string{"metadata.namespace" + forbidden}},
		{name: "spec finalizer", mutate: func(n *core.Namespace) { n.Spec.Finalizers = []core.FinalizerName{"cleanup"} }, want: []string{"spec.finalizers[0]" + invalid}},
	})
	runUpdateCases(t, valid, false, []updateCase[core.Namespace]{
		{name: "labels", mutate: func(n *core.Namespace) { n.Labels = map[string]string{"team": "a"} }},
		{name: "rename", mutate: func(n *core.Namespace) { n.Name = "team-b" }, want: []string{"metadata.name" + invalid}},
	})
}

func validNode() *core.Node {
	return &core.Node{
		ObjectMeta: objectMeta("node-1", ""),
		Spec: core.NodeSpec{
			PodCIDR:  "10.244.1.0/24",
			PodCIDRs: []string{"10.244.1.0/24"},
			Taints:   []core.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: core.TaintEffectNoSchedule}},
		},
		Status: core.NodeStatus{Capacity: core.ResourceList{core.ResourceCPU: resource.MustParse("4")}},
	}
}

func TestValidateNode(t *testing.T) {
	runCreateCases(t, validNode, false, []objectCase[core.Node]{
		{name: "valid"},
		{name: "name", mutate: func(n *core.Node) { n.Name = "Node_1" }, want: []string{"metadata.name" + invalid}},
		{name: "taint effect required", mutate: func(n *core.Node) { n.Spec.Taints[0].Effect = "" }, want: []string{"spec.taints[0].effect" + required}},
		{name: "taint effect", mutate: func(n *core.Node) { n.Spec.Taints[0].Effect = "NoAdmit" }, want: []string{"spec.taints[0].effect" + notSupported}},
		{name: "taint key", mutate: func(n *core.Node) { n.Spec.Taints[0].Key = "bad key" }, want: []string{"spec.taints[0].key" + invalid}},
		{name: "taint value", mutate: func(n *core.Node) { n.Spec.Taints[0].Value = "a b" }, want: []string{"spec.taints[0].value" + invalid}},
		{name: "duplicate taint", mutate: func(n *core.Node) { n.Spec.Taints = append(n.Spec.Taints, n.Spec.Taints[0]) }, want: []string{"spec.taints[1]" + duplicate}},
		{name: "same key, other effect", mutate: func(n *core.Node) {
			n.Spec.Taints = append(n.Spec.Taints, core.Taint{Key: n.Spec.Taints[0].Key, Effect: core.TaintEffectNoExecute})
		}},
		{name: "pod CIDR", mutate: func(n *core.Node) { n.Spec.PodCIDR = "10.244.1.0" }, want: []string{"spec.podCIDR" + invalid}},
		{name: "pod CIDRs", mutate: func(n *core.Node) { n.Spec.PodCIDRs = []string{"10.244.1.0/24", "x"} }, want: []string{"spec.podCIDRs[1]" + invalid}},
		{name: "negative capacity", mutate: func(n *core.Node) {
			n.Status.Capacity[core.ResourceCPU] = resource.MustParse("-1")
		}, want: []string{"status.capacity[cpu]" + invalid}},
	})
	noCIDR := func() *core.Node { n := validNode(); n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil; return n }
	runUpdateCases(t, noCIDR, false, []updateCase[core.Node]{
		{name: "pod CIDR may be set once", mutate: func(n *core.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"} }},
	})
	runUpdateCases(t, validNode, false, []updateCase[core.Node]{
		{name: "cordon", mutate: func(n *core.Node) { n.Spec.Unschedulable = true }},
		{name: "pod CIDR fixed", mutate: func(n *core.Node) { n.Spec.PodCIDR, n.Spec.PodCIDRs = "10.244.2.0/24", []string{"10.244.2.0/24"} }, want: []string{
			"spec.podCIDR" + forbidden, "spec.podCIDRs" + forbidden}},
	})
}

func TestValidateServiceAccount(t *testing.T) {
	valid := func() *core.ServiceAccount { return &core.ServiceAccount{ObjectMeta: objectMeta("builder", "ci")} }
	runCreateCases(t, valid, true, []objectCase[core.ServiceAccount]{
		{name: "valid"},
		{name: "name", mutate: func(s *core.ServiceAccount) { s.Name = "Builder" }, want: []string{"metadata.name" + invalid}},
		{name: "pull secret name", mutate: func(s *core.ServiceAccount) {
			s.ImagePullSecrets = []core.LocalObjectReference{{Name: "Reg_Creds"}}
		}, want: []string{"imagePullSecrets[0].name" + invalid}},
	})
}

func TestValidateEvent(t *testing.T) {
	valid := func() *core.Event {
		return &core.Event{
			ObjectMeta:     objectMeta("web.17a3", "default"),
			InvolvedObject: core.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
			Reason:         "Scheduled", Type: core.EventTypeNormal,
		}
	}
	runCreateCases(t, valid, true, []objectCase[core.Event]{
		{name: "valid"},
		{name: "cluster-scoped object in default", mutate: func(e *core.Event) { e.InvolvedObject = core.ObjectReference{Kind: "Node", Name: "node-1"} }},
		{name: "namespace mismatch", mutate: func(e *core.Event) { e.InvolvedObject.Namespace = "kube-system" }, want: []string{"involvedObject.namespace" + invalid}},
		{name: "new-style event needs reporter", mutate: func(e *core.Event) {
			e.EventTime = meta.MicroTime{Time: time.Now()}
			e.Action = "Binding"
		}, want: []string{"reportingComponent" + required, "reportingComponent" + invalid, "reportingComponent" + invalid, "reportingInstance" + required}},
	})
}

func TestValidateEndpoints(t *testing.T) {
	valid := func() *core.Endpoints {
		return &core.Endpoints{ObjectMeta: objectMeta("web", "default"), Subsets: []core.EndpointSubset{{
			Addresses: []core.EndpointAddress{{IP: "10.244.1.5"}},
			Ports:     []core.EndpointPort{{Name: "http", Port: 80, Protocol: core.ProtocolTCP}},
		}}}
	}
	runCreateCases(t, valid, true, []objectCase[core.Endpoints]{
		{name: "valid"},
		{name: "address", mutate: func(e *core.Endpoints) { e.Subsets[0].Addresses[0].IP = "pod-1" }, want: []string{"subsets[0].addresses[0].ip" + invalid}},
		{name: "port", mutate: func(e *core.Endpoints) { e.Subsets[0].Ports[0].Port = 0 }, want: []string{"subsets[0].ports[0].port" + invalid}},
	})
}

func validPV() *core.PersistentVolume {
	return &core.PersistentVolume{
		ObjectMeta: objectMeta("pv-1", ""),
		Spec: core.PersistentVolumeSpec{
			Capacity:               core.ResourceList{core.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:            []core.PersistentVolumeAccessMode{core.ReadWriteOnce},
			PersistentVolumeSource: core.PersistentVolumeSource{HostPath: &core.HostPathVolumeSource{Path: "/srv/pv-1"}},
		},
	}
}

func TestValidatePersistentVolume(t *testing.T) {
	runCreateCases(t, validPV, false, []objectCase[core.PersistentVolume]{
		{name: "valid"},
		{name: "access modes required", mutate: func(p *core.PersistentVolume) { p.Spec.AccessModes = nil }, want: []string{"spec.accessModes" + required}},
		{name: "access mode", mutate: func(p *core.PersistentVolume) {
			p.Spec.AccessModes = []core.PersistentVolumeAccessMode{"ReadSometimes"}
		}, want: []string{"spec.accessModes" + notSupported}},
		{name: "capacity required", mutate: func(p *core.PersistentVolume) { p.Spec.Capacity = nil }, want: []string{"spec.capacity" + notSupported}},
		{name: "source required", mutate: func(p *core.PersistentVolume) { p.Spec.HostPath = nil }, want: []string{"spec" + required}},
		{name: "one source", mutate: func(p *core.PersistentVolume) {
			p.Spec.NFS = &core.NFSVolumeSource{Server: "nfs", Path: "/x"}
		}, want: []string{"spec.nfs" + forbidden}},
		{name: "local needs node affinity", mutate: func(p *core.PersistentVolume) {
			p.Spec.HostPath, p.Spec.Local = nil, &core.LocalVolumeSource{Path: "/mnt/disk"}
		}, want: []string{"spec.nodeAffinity" + required}},
	})
	runUpdateCases(t, validPV, false, []updateCase[core.PersistentVolume]{
		{name: "reclaim policy", mutate: func(p *core.PersistentVolume) {
			p.Spec.PersistentVolumeReclaimPolicy = core.PersistentVolumeReclaimDelete
		}},
		{name: "source is immutable", mutate: func(p *core.PersistentVolume) { p.Spec.HostPath.Path = "/srv/other" }, want: []string{"spec.persistentvolumesource" + forbidden}},
	})
}

func validPVC() *core.PersistentVolumeClaim {
	return &core.PersistentVolumeClaim{
		ObjectMeta: objectMeta("data", "default"),
		Spec: core.PersistentVolumeClaimSpec{
			AccessModes: []core.PersistentVolumeAccessMode{core.ReadWriteOnce},
			Resources:   core.VolumeResourceRequirements{Requests: core.ResourceList{core.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
}

func TestValidatePersistentVolumeClaim(t *testing.T) {
	runCreateCases(t, validPVC, true, []objectCase[core.PersistentVolumeClaim]{
		{name: "valid"},
		{name: "access modes required", mutate: func(p *core.PersistentVolumeClaim) { p.Spec.AccessModes = nil }, want: []string{"spec.accessModes" + required}},
		{name: "ReadWriteOncePod is exclusive", mutate: func(p *core.PersistentVolumeClaim) {
			p.Spec.AccessModes = append(p.Spec.AccessModes, core.ReadWriteOncePod)
		}, want: []string{"spec.accessModes" + forbidden}},
		{name: "storage request required", mutate: func(p *core.PersistentVolumeClaim) { p.Spec.Resources.Requests = nil }, want: []string{"spec.resources[storage]" + required}},
		{name: "storage request positive", mutate: func(p *core.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[core.ResourceStorage] = resource.MustParse("0")
		}, want: []string{"spec.resources[storage]" + invalid}},
	})
	runUpdateCases(t, validPVC, true, []updateCase[core.PersistentVolumeClaim]{
		{name: "grow", mutate: func(p *core.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[core.ResourceStorage] = resource.MustParse("2Gi")
		}},
		{name: "bind", mutate: func(p *core.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }},
		{name: "shrink", mutate: func(p *core.PersistentVolumeClaim) {
			p.Spec.Resources.Requests[core.ResourceStorage] = resource.MustParse("512Mi")
		}, want: []string{"spec.resources.requests.storage" + forbidden}},
		{name: "access modes fixed", mutate: func(p *core.PersistentVolumeClaim) {
			p.Spec.AccessModes = []core.PersistentVolumeAccessMode{core.ReadWriteMany}
		}, want: []string{"spec" + forbidden}},
		// Retroactive default class assignment: a class where there was none.
		{name: "class set where none was", mutate: func(p *core.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr("standard") }},
		{name: "class set to no class", mutate: func(p *core.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr("") }, want: []string{"spec" + forbidden}},
	})
	// A class, once set (by the field or the beta annotation), does not change.
	for _, tc := range []struct {
		name           string
		oldClass, beta *string
		newClass       string
		want           []string
	}{
		{name: "class changed", oldClass: ptr("gold"), newClass: "silver", want: []string{"spec" + forbidden}},
		{name: "beta annotation upgraded to the field", beta: ptr("gold"), newClass: "gold"},
		{name: "beta annotation contradicted", beta: ptr("gold"), newClass: "silver", want: []string{"spec" + forbidden}},
	} {
		old, pvc := validPVC(), validPVC()
		old.Spec.StorageClassName = tc.oldClass
		if tc.beta != nil {
			old.Annotations = map[string]string{core.BetaStorageClassAnnotation: *tc.beta}
			pvc.Annotations = map[string]string{core.BetaStorageClassAnnotation: *tc.beta}
		}
		pvc.Spec.StorageClassName = ptr(tc.newClass)
		t.Run(tc.name, func(t *testing.T) { wantErrs(t, ValidateUpdate(pvc, old, true), tc.want...) })
	}
}

func TestValidateQuotaAndLimits(t *testing.T) {
	quota := func() *core.ResourceQuota {
		return &core.ResourceQuota{ObjectMeta: objectMeta("q", "default"), Spec: core.ResourceQuotaSpec{Hard: core.ResourceList{core.ResourcePods: resource.MustParse("10")}}}
	}
	runCreateCases(t, quota, true, []objectCase[core.ResourceQuota]{
		{name: "valid"},
		{name: "negative", mutate: func(q *core.ResourceQuota) { q.Spec.Hard[core.ResourcePods] = resource.MustParse("-1") }, want: []string{"spec.hard[pods]" + invalid}},
	})
	limits := func() *core.LimitRange {
		return &core.LimitRange{ObjectMeta: objectMeta("l", "default"), Spec: core.LimitRangeSpec{Limits: []core.LimitRangeItem{{
			Type: core.LimitTypeContainer,
			Min:  core.ResourceList{core.ResourceCPU: resource.MustParse("100m")},
			Max:  core.ResourceList{core.ResourceCPU: resource.MustParse("2")},
		}}}}
	}
	runCreateCases(t, limits, true, []objectCase[core.LimitRange]{
		{name: "valid"},
		{name: "type", mutate: func(l *core.LimitRange) { l.Spec.Limits[0].Type = "Node" }, want: []string{"spec.limits[0].type" + notSupported}},
		{name: "min above max", mutate: func(l *core.LimitRange) {
			l.Spec.Limits[0].Min[core.ResourceCPU] = resource.MustParse("3")
		}, want: []string{"spec.limits[0].min[cpu]" + invalid}},
	})
}
