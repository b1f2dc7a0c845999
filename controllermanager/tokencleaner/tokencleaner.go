// Package tokencleaner deletes expired bootstrap tokens, as Kubernetes' tokencleaner
// controller does: every Secret of type bootstrap.kubernetes.io/token in kube-system whose
// expiration has passed is deleted (the API server already refuses it; this keeps the
// secrets from piling up), and one not yet expired is looked at again when it expires.
package tokencleaner

import (
	"context"
	"log/slog"
	"time"

	"github.com/skiff-sh/skiff/api/bootstraptoken"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "tokencleaner"

// Controller deletes expired bootstrap token secrets.
type Controller struct {
	secrets *informer.Informer[core.Secret, *core.Secret]
	client  *client.Typed[core.Secret, *core.Secret]
	queue   *controller.Queue
	log     *slog.Logger
	// now is the clock (tests move it).
	now func() time.Time
}

// New makes the controller. It watches only the token secrets of kube-system (its own
// informer: the shared one would hold every secret of the cluster).
func New(cc *controller.Context) *Controller {
	typed := client.For[core.Secret](cc.Client, controller.Secrets)
	c := &Controller{
		secrets: informer.NewInformer(typed, bootstraptoken.Namespace,
			client.ListOptions{FieldSelector: "type=" + string(bootstraptoken.SecretType)}, 0),
		client: typed,
		queue:  controller.NewQueue(cc, Name),
		log:    cc.Logger(Name),
		now:    time.Now,
	}
	c.secrets.AddEventHandler(informer.Handler[*core.Secret]{
		AddFunc:    func(s *core.Secret) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Secret) { c.queue.Enqueue(s) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	go c.secrets.Run(ctx)
	if !controller.WaitForSync(ctx, c.log, c.secrets.HasSynced) {
		return
	}
	// Deletes are few and cheap: one worker.
	c.queue.Run(ctx, 1, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	s, ok := c.secrets.Indexer().GetByName(ns, name)
	if !ok || s.DeletionTimestamp != nil {
		return nil
	}
	now := c.now()
	if !bootstraptoken.Expired(s, now) {
		if exp, ok := bootstraptoken.Expiration(s); ok {
			c.queue.AddAfter(key, exp.Sub(now))
		}
		return nil
	}
	c.log.Info("deleting expired bootstrap token", "secret", name)
	uid := s.UID
	err := c.client.Delete(ctx, ns, name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
	if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
		return err
	}
	return nil
}
