package apiserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/storage"
)

// SystemNamespaces exist from the start, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates what a cluster always has; it is idempotent across restarts.
func (s *Server) bootstrap(ctx context.Context) error {
	k, _ := s.reg.Lookup("", "v1", "namespaces")
	for _, name := range SystemNamespaces {
		ns := &core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}}}
		defaults.Object(ns)
		ns.UID, ns.CreationTimestamp = uuid.NewString(), meta.Now()
		ns.Status.Phase = core.NamespaceActive
		err := s.store.Create(ctx, k.Key("", name), ns)
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	pcKind, _ := s.reg.Lookup("scheduling.k8s.io", "v1", "priorityclasses")
	for _, c := range systemPriorityClasses {
		pc := &scheduling.PriorityClass{TypeMeta: meta.TypeMeta{Kind: "PriorityClass", APIVersion: "scheduling.k8s.io/v1"},
			ObjectMeta: meta.ObjectMeta{Name: c.name}, Value: c.value, Description: c.desc}
		defaults.Object(pc)
		pc.UID, pc.CreationTimestamp = uuid.NewString(), meta.Now()
		err := s.store.Create(ctx, pcKind.Key("", c.name), pc)
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("create priority class %s: %w", c.name, err)
		}
	}
	return nil
}
