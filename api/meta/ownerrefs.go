package meta

// Controller references, written once for every program that follows them (the workload
// controllers, the garbage collector, the scheduler's spreading), as apimachinery's
// metav1.GetControllerOf and NewControllerRef.

// GetControllerOf is m's controller reference (the owner reference with controller true),
// or nil. Validation allows at most one.
func GetControllerOf(m *ObjectMeta) *OwnerReference {
	for i := range m.OwnerReferences {
		if r := &m.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			return r
		}
	}
	return nil
}

// IsControlledBy reports whether owner is m's controller (by UID: a recreated owner with
// the same name is another object).
func IsControlledBy(m *ObjectMeta, owner Object) bool {
	r := GetControllerOf(m)
	return r != nil && r.UID == owner.GetObjectMeta().UID
}

// NewControllerRef is the owner reference a controller puts on what it creates: controller
// true (so no other controller adopts it) and blockOwnerDeletion true (so a foreground
// deletion of the owner waits for it).
func NewControllerRef(owner Object, apiVersion, kind string) OwnerReference {
	m := owner.GetObjectMeta()
	yes, block := true, true
	return OwnerReference{
		APIVersion: apiVersion, Kind: kind, Name: m.Name, UID: m.UID,
		Controller: &yes, BlockOwnerDeletion: &block,
	}
}
