package nodeagent

import (
	"context"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// mirrorAPI writes a node's mirror pods (staticpod.API); the node may create and delete
// only its own mirror pods (NodeRestriction).
type mirrorAPI struct {
	pods *client.Typed[core.Pod, *core.Pod]
}

func (m mirrorAPI) CreateMirror(ctx context.Context, pod *core.Pod) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := m.pods.Create(ctx, pod)
	if client.IsAlreadyExists(err) {
		return nil // the watch brings it; a stale one is replaced then
	}
	return err
}

func (m mirrorAPI) DeleteMirror(ctx context.Context, namespace, name, uid string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	zero := int64(0)
	err := m.pods.Delete(ctx, namespace, name, &meta.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &meta.Preconditions{UID: &uid}})
	if client.IsNotFound(err) || client.IsConflict(err) {
		return nil
	}
	return err
}

func ptrTo[T any](v T) *T { return &v }
