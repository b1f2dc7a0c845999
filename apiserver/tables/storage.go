package tables

import (
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
)

// storageClassPrinter: the default class's name carries " (default)", as kubectl shows it.
var storageClassPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Provisioner", "string", "provisioner indicates the type of the provisioner."),
	column("ReclaimPolicy", "string", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
	column("VolumeBindingMode", "string", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature."),
	column("AllowVolumeExpansion", "string", "allowVolumeExpansion shows whether the storage class allow volume expand."),
	ageColumn,
}, func(sc *storage.StorageClass, now time.Time) meta.TableRow {
	name := sc.Name
	if storage.IsDefaultAnnotation(sc) {
		name += " (default)"
	}
	return meta.TableRow{Cells: []any{name, sc.Provisioner,
		derefOr(sc.ReclaimPolicy, string(core.PersistentVolumeReclaimDelete)),
		derefOr(sc.VolumeBindingMode, string(storage.VolumeBindingImmediate)),
		boolOr(sc.AllowVolumeExpansion, false), age(sc.CreationTimestamp, now)}}
})

var volumeAttachmentPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Attacher", "string", "attacher indicates the name of the volume driver that MUST handle this request. This is the name returned by GetPluginName()."),
	column("PV", "string", "persistentVolumeName represents the name of the persistent volume to attach."),
	column("Node", "string", "nodeName represents the node that the volume should be attached to."),
	column("Attached", "boolean", "attached indicates the volume is successfully attached. This field must only be set by the entity completing the attach operation, i.e. the external-attacher."),
	ageColumn,
}, func(va *storage.VolumeAttachment, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{va.Name, va.Spec.Attacher, derefOr(va.Spec.Source.PersistentVolumeName, ""), va.Spec.NodeName,
		va.Status.Attached, age(va.CreationTimestamp, now)}}
})

var csiNodePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"),
	ageColumn,
}, func(n *storage.CSINode, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{n.Name, int64(len(n.Spec.Drivers)), age(n.CreationTimestamp, now)}}
})

var csiDriverPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("AttachRequired", "boolean", "attachRequired indicates this CSI volume driver requires an attach operation."),
	column("PodInfoOnMount", "boolean", "podInfoOnMount indicates this CSI volume driver requires additional pod information (like podName, podUID, etc.) during mount operations."),
	column("StorageCapacity", "boolean", "storageCapacity indicates that the CSI volume driver wants pod scheduling to consider the storage capacity that the driver deployment will report."),
	column("TokenRequests", "string", "tokenRequests indicates the CSI driver needs pods' service account tokens it is mounting volume for to do necessary authentication."),
	column("RequiresRepublish", "boolean", "requiresRepublish indicates the CSI driver wants `NodePublishVolume` being periodically called to reflect any possible change in the mounted volume."),
	column("Modes", "string", "volumeLifecycleModes defines what kind of volumes this CSI volume driver supports."),
	ageColumn,
}, func(d *storage.CSIDriver, now time.Time) meta.TableRow {
	s := d.Spec
	tokens := "<unset>"
	if len(s.TokenRequests) > 0 {
		var auds []string
		for _, t := range s.TokenRequests {
			auds = append(auds, t.Audience)
		}
		tokens = strings.Join(auds, ",")
	}
	modes := "<none>"
	if len(s.VolumeLifecycleModes) > 0 {
		var ms []string
		for _, m := range s.VolumeLifecycleModes {
			ms = append(ms, string(m))
		}
		modes = strings.Join(ms, ",")
	}
	return meta.TableRow{Cells: []any{d.Name, boolOr(s.AttachRequired, true), boolOr(s.PodInfoOnMount, false),
		boolOr(s.StorageCapacity, false), tokens, boolOr(s.RequiresRepublish, false), modes, age(d.CreationTimestamp, now)}}
})

var csiStorageCapacityPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("StorageClassName", "string", "storageClassName represents the name of the StorageClass that the reported capacity applies to."),
	column("Capacity", "string", "capacity is the value reported by the CSI driver in its GetCapacityResponse for a GetCapacityRequest with topology and parameters that match the previous fields."),
}, func(c *storage.CSIStorageCapacity, _ time.Time) meta.TableRow {
	capacity := "<unset>"
	if c.Capacity != nil {
		capacity = c.Capacity.String()
	}
	return meta.TableRow{Cells: []any{c.Name, c.StorageClassName, capacity}}
})

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}
