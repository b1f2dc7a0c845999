// Package namespacelifecycle is Kubernetes' NamespaceLifecycle admission plugin: nothing is
// created in a namespace that does not exist or is being terminated, and the namespaces the
// cluster itself needs (default, kube-system, kube-public) cannot be deleted.
package namespacelifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/admission"
	"github.com/skiff-sh/skiff/storage"
)

// immortal are the namespaces that may not be deleted.
var immortal = map[string]bool{"default": true, "kube-system": true, "kube-public": true}

// Plugin checks namespaces read through objs.
type Plugin struct{ objs admission.Objects }

// New makes the plugin.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

func (*Plugin) Name() string { return "NamespaceLifecycle" }

// Admit refuses creation in a missing or terminating namespace and deletion of the immortal
// namespaces. It only refuses, but runs with the mutating plugins, first in the chain, so
// that a write to a missing namespace is told so before any other plugin looks up objects
// there (the ServiceAccount plugin would say the account is missing).
func (pl *Plugin) Admit(ctx context.Context, a *admission.Attributes) error {
	if a.Kind == nil {
		return nil
	}
	if a.Operation == admission.Delete && a.Kind.Group == "" && a.Kind.Resource == "namespaces" && immortal[a.Name] {
		return admission.Forbidden(a, "this namespace may not be deleted")
	}
	if a.Operation != admission.Create || !a.Kind.Namespaced || a.Namespace == "" {
		return nil
	}
	o, err := pl.objs.Get(ctx, "", "namespaces", "", a.Namespace)
	if errors.Is(err, storage.ErrNotFound) {
		return admission.NewError(http.StatusNotFound, meta.ReasonNotFound, fmt.Sprintf("namespaces %q not found", a.Namespace),
			&meta.StatusDetails{Name: a.Namespace, Kind: "namespaces"})
	}
	if err != nil {
		return fmt.Errorf("reading namespace %s: %w", a.Namespace, err)
	}
	if o.GetObjectMeta().DeletionTimestamp != nil {
		return admission.Forbidden(a, fmt.Sprintf("unable to create new content in namespace %s because it is being terminated", a.Namespace))
	}
	return nil
}
