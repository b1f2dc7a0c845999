// Package serviceaccounttoken fills in the long-lived token Secrets of ServiceAccounts, as
// Kubernetes' serviceaccount-token controller does: a Secret of type
// kubernetes.io/service-account-token annotated kubernetes.io/service-account.name gets a
// signed legacy token, the cluster CA and the namespace in its data, and the account's uid in
// its annotations; a Secret whose account is gone (or was recreated with another uid) is
// deleted, so its token dies with the account.
package serviceaccounttoken

import (
	"context"
	"crypto"
	"fmt"
	"log/slog"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/apiserver/authn/serviceaccount"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "serviceaccount-token"

// Options configure the controller.
type Options struct {
	// SigningKey signs the tokens (--service-account-private-key-file: the API server's
	// ServiceAccount key, DIR/pki/sa.key). Without it the controller does not run.
	SigningKey crypto.Signer
	// RootCA is the PEM bundle written as ca.crt (--root-ca-file).
	RootCA []byte
}

// Controller fills in and cleans up token Secrets.
type Controller struct {
	secrets  *informer.Informer[core.Secret, *core.Secret]
	accounts *informer.Informer[core.ServiceAccount, *core.ServiceAccount]
	client   *client.Typed[core.Secret, *core.Secret]
	queue    *controller.Queue
	signer   *serviceaccount.Signer
	rootCA   []byte
	workers  int
	log      *slog.Logger
}

// New makes the controller. Its secret informer holds only token secrets.
func New(cc *controller.Context, o Options) (*Controller, error) {
	signer, err := serviceaccount.NewSigner(serviceaccount.LegacyIssuer, o.SigningKey)
	if err != nil {
		return nil, err
	}
	typed := client.For[core.Secret](cc.Client, controller.Secrets)
	c := &Controller{
		secrets: informer.NewInformer(typed, "",
			client.ListOptions{FieldSelector: "type=" + string(core.SecretTypeServiceAccountToken)}, 0),
		accounts: controller.ServiceAccountInformer(cc),
		client:   typed,
		queue:    controller.NewQueue(cc, Name),
		signer:   signer,
		rootCA:   o.RootCA,
		workers:  cc.WorkerCount(),
		log:      cc.Logger(Name),
	}
	c.secrets.AddEventHandler(informer.Handler[*core.Secret]{
		AddFunc:    func(s *core.Secret) { c.queue.Enqueue(s) },
		UpdateFunc: func(_, s *core.Secret) { c.queue.Enqueue(s) },
	})
	// An account's changes matter to the secrets naming it.
	requeue := func(sa *core.ServiceAccount) {
		for _, s := range c.secrets.Indexer().List() {
			if s.Namespace == sa.Namespace && s.Annotations[core.ServiceAccountNameKey] == sa.Name {
				c.queue.Enqueue(s)
			}
		}
	}
	c.accounts.AddEventHandler(informer.Handler[*core.ServiceAccount]{
		AddFunc:    requeue,
		UpdateFunc: func(_, sa *core.ServiceAccount) { requeue(sa) },
		DeleteFunc: requeue,
	})
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	go c.secrets.Run(ctx)
	if !controller.WaitForSync(ctx, c.log, c.secrets.HasSynced, c.accounts.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name := informer.SplitKey(key)
	s, ok := c.secrets.Indexer().GetByName(ns, name)
	if !ok || s.DeletionTimestamp != nil {
		return nil
	}
	saName := s.Annotations[core.ServiceAccountNameKey]
	sa, ok := c.accounts.Indexer().GetByName(ns, saName)
	if ok {
		// The cache may lag an account created a moment ago: ask before deleting.
		if uid := s.Annotations[core.ServiceAccountUIDKey]; uid != "" && uid != sa.UID {
			ok = false
		}
	} else if got, err := client.For[core.ServiceAccount](c.client.Client(), controller.ServiceAccounts).Get(ctx, ns, saName); err == nil {
		sa, ok = got, s.Annotations[core.ServiceAccountUIDKey] == "" || s.Annotations[core.ServiceAccountUIDKey] == got.UID
	} else if !client.IsNotFound(err) {
		return err
	}
	if !ok {
		uid := s.UID
		err := c.client.Delete(ctx, ns, name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &uid}})
		if err != nil && !client.IsNotFound(err) && !client.IsConflict(err) {
			return err
		}
		c.log.Info("deleted the token secret of a missing service account", "secret", key, "serviceaccount", saName)
		return nil
	}
	if c.complete(s, sa) {
		return nil
	}
	token, err := serviceaccount.SignLegacy(c.signer, sa, name)
	if err != nil {
		return fmt.Errorf("sign the token of %s: %w", key, err)
	}
	s = controller.DeepCopy(s)
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	if len(s.Data[core.ServiceAccountTokenKey]) == 0 {
		s.Data[core.ServiceAccountTokenKey] = []byte(token)
	}
	if len(c.rootCA) > 0 {
		s.Data[core.ServiceAccountRootCAKey] = c.rootCA
	}
	s.Data[core.ServiceAccountNamespaceKey] = []byte(ns)
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[core.ServiceAccountUIDKey] = sa.UID
	_, err = c.client.Update(ctx, s)
	if client.IsConflict(err) || client.IsNotFound(err) {
		return nil // a newer version is queued, or it is gone
	}
	return err
}

// complete reports whether a secret already holds all the controller writes.
func (c *Controller) complete(s *core.Secret, sa *core.ServiceAccount) bool {
	return len(s.Data[core.ServiceAccountTokenKey]) > 0 &&
		string(s.Data[core.ServiceAccountNamespaceKey]) == s.Namespace &&
		(len(c.rootCA) == 0 || string(s.Data[core.ServiceAccountRootCAKey]) == string(c.rootCA)) &&
		s.Annotations[core.ServiceAccountUIDKey] == sa.UID
}
