package storage

import (
	"fmt"

	"github.com/skiff-sh/skiff/api/meta"
)

// CheckPreconditions returns a Delete precondition (or nil for none) that fails with
// ErrConflict unless the current object has the given uid and resourceVersion.
func CheckPreconditions(p *meta.Preconditions) func(meta.Object) error {
	if p == nil || (p.UID == nil && p.ResourceVersion == nil) {
		return nil
	}
	return func(current meta.Object) error {
		m := current.GetObjectMeta()
		if p.UID != nil && *p.UID != m.UID {
			return fmt.Errorf("%w: precondition failed: uid in precondition %s, uid in object %s", ErrConflict, *p.UID, m.UID)
		}
		if p.ResourceVersion != nil && *p.ResourceVersion != m.ResourceVersion {
			return fmt.Errorf("%w: precondition failed: resourceVersion in precondition %s, resourceVersion in object %s", ErrConflict, *p.ResourceVersion, m.ResourceVersion)
		}
		return nil
	}
}
