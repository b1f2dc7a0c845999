package validation

import (
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/api/storage"
)

func TestValidateStorageClass(t *testing.T) {
	valid := func() *storage.StorageClass {
		return &storage.StorageClass{ObjectMeta: objectMeta("standard", ""), Provisioner: "skiff.dev/local",
			ReclaimPolicy: ptr(core.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr(storage.VolumeBindingWaitForFirstConsumer)}
	}
	runCreateCases(t, valid, false, []objectCase[storage.StorageClass]{
		{name: "valid"},
		{name: "no provisioner", mutate: func(c *storage.StorageClass) { c.Provisioner = "" }, want: []string{"provisioner" + required}},
		{name: "bad provisioner", mutate: func(c *storage.StorageClass) { c.Provisioner = "a/b/c" }, want: []string{"provisioner" + invalid}},
		{name: "recycle", mutate: func(c *storage.StorageClass) { c.ReclaimPolicy = ptr(core.PersistentVolumeReclaimRecycle) }, want: []string{"reclaimPolicy" + notSupported}},
		{name: "binding mode", mutate: func(c *storage.StorageClass) { c.VolumeBindingMode = ptr(storage.VolumeBindingMode("Later")) }, want: []string{"volumeBindingMode" + notSupported}},
		{name: "empty parameter", mutate: func(c *storage.StorageClass) { c.Parameters = map[string]string{"": "x"} }, want: []string{"parameters" + invalid}},
		{name: "topology without values", mutate: func(c *storage.StorageClass) {
			c.AllowedTopologies = []core.TopologySelectorTerm{{MatchLabelExpressions: []core.TopologySelectorLabelRequirement{{Key: "zone"}}}}
		}, want: []string{"allowedTopologies[0].matchLabelExpressions[0].values" + required}},
	})
	runUpdateCases(t, valid, false, []updateCase[storage.StorageClass]{
		{name: "annotate", mutate: func(c *storage.StorageClass) {
			c.Annotations = map[string]string{storage.IsDefaultStorageClassAnnotation: "false"}
		}},
		{name: "expansion", mutate: func(c *storage.StorageClass) { c.AllowVolumeExpansion = ptr(true) }},
		{name: "provisioner", mutate: func(c *storage.StorageClass) { c.Provisioner = "other" }, want: []string{"provisioner" + forbidden}},
		{name: "parameters", mutate: func(c *storage.StorageClass) { c.Parameters = map[string]string{"a": "b"} }, want: []string{"parameters" + forbidden}},
		{name: "reclaim", mutate: func(c *storage.StorageClass) { c.ReclaimPolicy = ptr(core.PersistentVolumeReclaimRetain) }, want: []string{"reclaimPolicy" + forbidden}},
		{name: "binding", mutate: func(c *storage.StorageClass) { c.VolumeBindingMode = ptr(storage.VolumeBindingImmediate) }, want: []string{"volumeBindingMode" + invalid}},
	})
}

func TestValidateCSIKinds(t *testing.T) {
	driver := func() *storage.CSIDriver {
		return &storage.CSIDriver{ObjectMeta: objectMeta("csi.example.com", ""), Spec: storage.CSIDriverSpec{
			AttachRequired: ptr(true), PodInfoOnMount: ptr(false), StorageCapacity: ptr(false), SELinuxMount: ptr(false)}}
	}
	runCreateCases(t, driver, false, []objectCase[storage.CSIDriver]{
		{name: "valid"},
		{name: "attach unset", mutate: func(d *storage.CSIDriver) { d.Spec.AttachRequired = nil }, want: []string{"spec.attachedRequired" + required}},
		{name: "mode", mutate: func(d *storage.CSIDriver) { d.Spec.VolumeLifecycleModes = []storage.VolumeLifecycleMode{"Sometimes"} }, want: []string{"spec.volumeLifecycleModes" + notSupported}},
		{name: "short token", mutate: func(d *storage.CSIDriver) {
			d.Spec.TokenRequests = []storage.TokenRequest{{Audience: "a", ExpirationSeconds: ptr[int64](60)}}
		},
			want: []string{"spec.tokenRequests[0].expirationSeconds" + invalid}},
	})
	runUpdateCases(t, driver, false, []updateCase[storage.CSIDriver]{
		{name: "attach", mutate: func(d *storage.CSIDriver) { d.Spec.AttachRequired = ptr(false) }, want: []string{"spec.attachedRequired" + invalid}},
	})
	node := func() *storage.CSINode {
		return &storage.CSINode{ObjectMeta: objectMeta("node-1", ""), Spec: storage.CSINodeSpec{Drivers: []storage.CSINodeDriver{
			{Name: "csi.example.com", NodeID: "n1", TopologyKeys: []string{"topology.kubernetes.io/zone"}}}}}
	}
	runCreateCases(t, node, false, []objectCase[storage.CSINode]{
		{name: "valid"},
		{name: "no node id", mutate: func(n *storage.CSINode) { n.Spec.Drivers[0].NodeID = "" }, want: []string{"spec.drivers[0].nodeID" + required}},
		{name: "duplicate", mutate: func(n *storage.CSINode) { n.Spec.Drivers = append(n.Spec.Drivers, n.Spec.Drivers[0]) }, want: []string{"spec.drivers[1].name" + duplicate}},
	})
	runUpdateCases(t, node, false, []updateCase[storage.CSINode]{
		{name: "allocatable", mutate: func(n *storage.CSINode) {
			n.Spec.Drivers[0].Allocatable = &storage.VolumeNodeResources{Count: ptr[int32](3)}
		}},
		{name: "node id", mutate: func(n *storage.CSINode) { n.Spec.Drivers[0].NodeID = "n2" }, want: []string{"spec.drivers" + invalid}},
	})
	va := func() *storage.VolumeAttachment {
		return &storage.VolumeAttachment{ObjectMeta: objectMeta("va-1", ""), Spec: storage.VolumeAttachmentSpec{
			Attacher: "csi.example.com", NodeName: "node-1", Source: storage.VolumeAttachmentSource{PersistentVolumeName: ptr("pv-1")}}}
	}
	runCreateCases(t, va, false, []objectCase[storage.VolumeAttachment]{
		{name: "valid"},
		{name: "no source", mutate: func(v *storage.VolumeAttachment) { v.Spec.Source = storage.VolumeAttachmentSource{} }, want: []string{"spec.source" + required}},
		{name: "no attacher", mutate: func(v *storage.VolumeAttachment) { v.Spec.Attacher = "" }, want: []string{"spec.attacher" + required}},
	})
	runUpdateCases(t, va, false, []updateCase[storage.VolumeAttachment]{
		{name: "attached", mutate: func(v *storage.VolumeAttachment) { v.Status.Attached = true }},
		{name: "node", mutate: func(v *storage.VolumeAttachment) { v.Spec.NodeName = "node-2" }, want: []string{"spec" + invalid}},
	})
	capacity := func() *storage.CSIStorageCapacity {
		q := resource.MustParse("10Gi")
		return &storage.CSIStorageCapacity{ObjectMeta: objectMeta("cap-1", "kube-system"), StorageClassName: "standard", Capacity: &q,
			NodeTopology: &meta.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/hostname": "node-1"}}}
	}
	runCreateCases(t, capacity, true, []objectCase[storage.CSIStorageCapacity]{
		{name: "valid"},
		{name: "negative", mutate: func(c *storage.CSIStorageCapacity) { q := resource.MustParse("-1"); c.Capacity = &q }, want: []string{"capacity" + invalid}},
		{name: "class", mutate: func(c *storage.CSIStorageCapacity) { c.StorageClassName = "Bad_Name" }, want: []string{"storageClassName" + invalid}},
	})
	runUpdateCases(t, capacity, true, []updateCase[storage.CSIStorageCapacity]{
		{name: "capacity", mutate: func(c *storage.CSIStorageCapacity) { q := resource.MustParse("1Gi"); c.Capacity = &q }},
		{name: "class", mutate: func(c *storage.CSIStorageCapacity) { c.StorageClassName = "fast" }, want: []string{"storageClassName" + invalid}},
	})
}
