// Package clusterroleaggregation fills the rules of aggregated ClusterRoles (those with an
// aggregationRule) from the ClusterRoles their label selectors pick, as Kubernetes'
// clusterrole-aggregation controller does: admin, edit and view grow when someone adds a
// role labelled rbac.authorization.k8s.io/aggregate-to-view=true, and shrink when it goes.
//
// The controller manager may write rules it does not hold because its role grants the
// verb escalate on clusterroles (see apiserver/authz/bootstrappolicy).
package clusterroleaggregation

import (
	"context"
	"log/slog"
	"reflect"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/rbac"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "clusterrole-aggregation"

// ClusterRoles is the resource the controller reads and writes.
var ClusterRoles = client.Resource{Group: rbac.GroupName, Version: rbac.Version, Resource: "clusterroles"}

// Controller keeps aggregated ClusterRoles' rules current.
type Controller struct {
	roles  *informer.Informer[rbac.ClusterRole, *rbac.ClusterRole]
	client *client.Typed[rbac.ClusterRole, *rbac.ClusterRole]
	queue  *controller.Queue
	log    *slog.Logger
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		roles:  informer.For[rbac.ClusterRole](cc.Informers, ClusterRoles),
		client: client.For[rbac.ClusterRole](cc.Client, ClusterRoles),
		queue:  controller.NewQueue(cc, Name),
		log:    cc.Logger(Name),
	}
	// Any change to any ClusterRole (its labels or its rules) may change what an aggregated
	// role should hold: every aggregated role is looked at again. There are few of them.
	enqueueAggregated := func(*rbac.ClusterRole) {
		for _, r := range c.roles.Indexer().List() {
			if r.AggregationRule != nil {
				c.queue.Add(r.Name)
			}
		}
	}
	c.roles.AddEventHandler(informer.Handler[*rbac.ClusterRole]{
		AddFunc:    enqueueAggregated,
		UpdateFunc: func(_, r *rbac.ClusterRole) { enqueueAggregated(r) },
		DeleteFunc: enqueueAggregated,
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.roles.HasSynced) {
		return
	}
	// One worker: an update of one aggregated role can change another's input (edit is
	// aggregated into admin), and the queue revisits the latter.
	c.queue.Run(ctx, 1, c.sync)
}

func (c *Controller) sync(ctx context.Context, name string) error {
	role, ok := c.roles.Indexer().Get(name)
	if !ok || role.AggregationRule == nil {
		return nil
	}
	rules, _, err := rbac.AggregatedRules(role, c.roles.Indexer().List())
	if err != nil {
		c.log.Warn("invalid aggregationRule", "clusterrole", name, "err", err)
		return nil // an invalid selector does not get better by retrying
	}
	if reflect.DeepEqual(rules, role.Rules) || (len(rules) == 0 && len(role.Rules) == 0) {
		return nil
	}
	n := *role // never modify the cached object: a shallow copy with new rules
	n.TypeMeta = meta.TypeMeta{Kind: "ClusterRole", APIVersion: ClusterRoles.GroupVersion()}
	n.Rules = rules
	_, err = c.client.Update(ctx, &n)
	if client.IsNotFound(err) {
		return nil
	}
	return err // a conflict retries with the newer version from the cache
}
