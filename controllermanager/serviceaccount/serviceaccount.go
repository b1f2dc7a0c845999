// Package serviceaccount keeps a "default" ServiceAccount in every active namespace, as
// Kubernetes' serviceaccount controller does: created with the namespace, and re-created if
// someone deletes it.
package serviceaccount

import (
	"context"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "serviceaccount"

// DefaultName is the service account every namespace gets.
const DefaultName = "default"

// Controller ensures the default service accounts.
type Controller struct {
	namespaces *informer.Informer[core.Namespace, *core.Namespace]
	accounts   *informer.Informer[core.ServiceAccount, *core.ServiceAccount]
	client     *client.Typed[core.ServiceAccount, *core.ServiceAccount]
	queue      *controller.Queue
	workers    int
	log        *slog.Logger
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		namespaces: controller.NamespaceInformer(cc),
		accounts:   controller.ServiceAccountInformer(cc),
		client:     client.For[core.ServiceAccount](cc.Client, controller.ServiceAccounts),
		queue:      controller.NewQueue(cc, Name),
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
	}
	c.namespaces.AddEventHandler(informer.Handler[*core.Namespace]{
		AddFunc:    func(ns *core.Namespace) { c.queue.Add(ns.Name) },
		UpdateFunc: func(_, ns *core.Namespace) { c.queue.Add(ns.Name) },
	})
	c.accounts.AddEventHandler(informer.Handler[*core.ServiceAccount]{
		DeleteFunc: func(sa *core.ServiceAccount) {
			if sa.Name == DefaultName {
				c.queue.Add(sa.Namespace)
			}
		},
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.namespaces.HasSynced, c.accounts.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, ns string) error {
	n, ok := c.namespaces.Indexer().Get(ns)
	if !ok || n.DeletionTimestamp != nil || n.Status.Phase == core.NamespaceTerminating {
		return nil
	}
	if _, ok := c.accounts.Indexer().GetByName(ns, DefaultName); ok {
		return nil
	}
	_, err := c.client.Create(ctx, &core.ServiceAccount{
		TypeMeta:   meta.TypeMeta{Kind: "ServiceAccount", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: ns, Name: DefaultName},
	})
	switch {
	case err == nil, client.IsAlreadyExists(err):
		return nil
	case client.IsForbidden(err) || client.IsNotFound(err):
		return nil // the namespace is going away
	}
	return err
}
