// Package storage holds the kinds of the storage.k8s.io API group (StorageClass, CSIDriver,
// CSINode, VolumeAttachment, CSIStorageCapacity), field for field as k8s.io/api/storage/v1
// declares them: same JSON names, omitempty, pointers and patch tags.
package storage

// GroupName is the API group of these kinds.
const GroupName = "storage.k8s.io"

// Version is the served version of the group.
const Version = "v1"

// Well-known annotations and names of storage.
const (
	// IsDefaultStorageClassAnnotation marks the class claims without a class get.
	IsDefaultStorageClassAnnotation = "storageclass.kubernetes.io/is-default-class"
	// BetaIsDefaultStorageClassAnnotation is the beta spelling, still honoured.
	BetaIsDefaultStorageClassAnnotation = "storageclass.beta.kubernetes.io/is-default-class"
	// LocalProvisioner is skiff's built-in provisioner: a directory on the node's disk.
	LocalProvisioner = "skiff.dev/local"
	// DefaultClassName is the class `skiff up` creates.
	DefaultClassName = "standard"
	// LocalVolumeDirAnnotation on a Node: the directory under which its agent keeps
	// skiff.dev/local volumes (each in a subdirectory named after its PersistentVolume).
	LocalVolumeDirAnnotation = "skiff.dev/local-volume-dir"
	// LocalVolumeCapacityAnnotation on a Node: the bytes free for skiff.dev/local volumes
	// (on the filesystem of the local volume directory), as the node's agent last measured
	// them, rounded down to a hundredth of the filesystem; the controller manager publishes
	// it as the CSIStorageCapacity of every skiff.dev/local class for that node.
	LocalVolumeCapacityAnnotation = "skiff.dev/local-volume-capacity"
	// LocalVolumeFinalizer on a skiff.dev/local PersistentVolume: its node holds data for it
	// (set by the node agent when it first creates the directory); the node removes the
	// data and then the finalizer once the volume is deleted.
	LocalVolumeFinalizer = "skiff.dev/local-volume"
)

// IsDefaultAnnotation reports whether a class is marked default (either spelling).
func IsDefaultAnnotation(c *StorageClass) bool {
	return c.Annotations[IsDefaultStorageClassAnnotation] == "true" || c.Annotations[BetaIsDefaultStorageClassAnnotation] == "true"
}

// BindingMode is the class's volumeBindingMode, Immediate when unset.
func (c *StorageClass) BindingMode() VolumeBindingMode {
	if c.VolumeBindingMode == nil {
		return VolumeBindingImmediate
	}
	return *c.VolumeBindingMode
}

// DefaultClass picks the default among classes: the newest annotated as default (ties
// broken by name, first wins), nil if none is — Kubernetes' GetDefaultClass.
func DefaultClass(classes []*StorageClass) *StorageClass {
	var def *StorageClass
	for _, c := range classes {
		if !IsDefaultAnnotation(c) {
			continue
		}
		switch {
		case def == nil:
			def = c
		case c.CreationTimestamp.After(def.CreationTimestamp.Time):
			def = c
		case c.CreationTimestamp.Equal(def.CreationTimestamp.Time) && c.Name < def.Name:
			def = c
		}
	}
	return def
}
