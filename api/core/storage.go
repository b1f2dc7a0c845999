package core

// Storage helpers shared by the API server's admission, the PV controller, the scheduler and
// the node agent (Kubernetes' component-helpers/storage/volume).

// ClaimClass is the class a claim asks for: spec.storageClassName, else the beta
// annotation, else "" (no class).
func ClaimClass(c *PersistentVolumeClaim) string {
	if c.Spec.StorageClassName != nil {
		return *c.Spec.StorageClassName
	}
	if v, ok := c.Annotations[BetaStorageClassAnnotation]; ok {
		return v
	}
	return ""
}

// VolumeClass is the class a volume belongs to: spec.storageClassName, else the beta
// annotation.
func VolumeClass(v *PersistentVolume) string {
	if v.Spec.StorageClassName != "" {
		return v.Spec.StorageClassName
	}
	return v.Annotations[BetaStorageClassAnnotation]
}

// Annotations and labels of volume binding and provisioning, as Kubernetes names them.
const (
	// AnnSelectedNode on a claim: the node the scheduler chose for its first pod (delayed
	// binding); the provisioner makes the volume there.
	AnnSelectedNode = "volume.kubernetes.io/selected-node"
	// AnnStorageProvisioner on a claim: the provisioner expected to make its volume.
	AnnStorageProvisioner = "volume.kubernetes.io/storage-provisioner"
	// AnnBetaStorageProvisioner is the older spelling, still set alongside.
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	// AnnDynamicallyProvisioned on a volume: the provisioner that made it.
	AnnDynamicallyProvisioned = "pv.kubernetes.io/provisioned-by"
	// AnnBindCompleted on a claim: the controller finished binding it.
	AnnBindCompleted = "pv.kubernetes.io/bind-completed"
	// AnnBoundByController on a claim or volume: the controller (not the user) set the
	// binding, so it may undo it.
	AnnBoundByController = "pv.kubernetes.io/bound-by-controller"
)

// VolumeModeOf is the volume mode a claim or volume spec gives, Filesystem when unset.
func VolumeModeOf(m *PersistentVolumeMode) PersistentVolumeMode {
	if m == nil {
		return PersistentVolumeFilesystem
	}
	return *m
}
