package apiserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/storage"
	etcdstore "github.com/skiff-sh/skiff/storage"
)

// DefaultStorageClass is the class every cluster starts with: skiff's local provisioner
// (a directory under the chosen node's data directory), bound when the first pod using a
// claim is scheduled so that the volume is made where the pod runs. It is what kind's
// "standard" class is to a kind cluster. It is created when missing, as an addon manager
// in EnsureExists mode does: an administrator may change its default annotation, and a
// class deleted is made again at the next start.
func DefaultStorageClass() *storage.StorageClass {
	wffc := storage.VolumeBindingWaitForFirstConsumer
	del := core.PersistentVolumeReclaimDelete
	expand := true
	sc := &storage.StorageClass{
		TypeMeta: meta.TypeMeta{Kind: "StorageClass", APIVersion: storage.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: storage.DefaultClassName,
			Annotations: map[string]string{storage.IsDefaultStorageClassAnnotation: "true"},
			Labels:      map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists"}},
		Provisioner:          storage.LocalProvisioner,
		ReclaimPolicy:        &del,
		VolumeBindingMode:    &wffc,
		AllowVolumeExpansion: &expand,
	}
	defaults.Object(sc)
	return sc
}

func (s *Server) bootstrapStorageClass(ctx context.Context) error {
	k, ok := s.reg.Lookup(storage.GroupName, "v1", "storageclasses")
	if !ok {
		return nil
	}
	sc := DefaultStorageClass()
	sc.UID, sc.CreationTimestamp = uuid.NewString(), meta.Now()
	if err := s.store.Create(ctx, k.Key("", sc.Name), sc); err != nil && !errors.Is(err, etcdstore.ErrAlreadyExists) {
		return fmt.Errorf("create storage class %s: %w", sc.Name, err)
	}
	return nil
}
