// Package namespace is the namespace controller: when a namespace is deleted (the API
// server marks it Terminating and keeps it while spec.finalizers lists "kubernetes"), it
// deletes every namespaced object in it, waits until they are gone (their own finalizers and
// grace periods respected), reports progress in the namespace's status conditions, and then
// finalizes the namespace through /finalize so the API server removes it.
package namespace

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "namespace"

const finalizer = string(core.FinalizerKubernetes)

// Controller empties and finalizes deleted namespaces.
type Controller struct {
	c          *client.Client
	namespaces *informer.Informer[core.Namespace, *core.Namespace]
	queue      *controller.Queue
	workers    int
	log        *slog.Logger

	// waits counts the polls of each namespace still holding content, to back off.
	mu    sync.Mutex
	waits map[string]int
}

// New makes the controller.
func New(cc *controller.Context) *Controller {
	c := &Controller{
		c:          cc.Client,
		namespaces: controller.NamespaceInformer(cc),
		queue:      controller.NewQueue(cc, Name),
		workers:    cc.WorkerCount(),
		log:        cc.Logger(Name),
		waits:      map[string]int{},
	}
	enqueue := func(ns *core.Namespace) {
		if ns.DeletionTimestamp != nil {
			c.queue.Enqueue(ns)
		}
	}
	c.namespaces.AddEventHandler(informer.Handler[*core.Namespace]{
		AddFunc:    enqueue,
		UpdateFunc: func(_, ns *core.Namespace) { enqueue(ns) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.namespaces.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, ok := c.namespaces.Indexer().Get(key)
	if !ok || ns.DeletionTimestamp == nil || !slices.Contains(ns.Spec.Finalizers, core.FinalizerName(finalizer)) {
		c.forget(key)
		return nil
	}
	res, err := c.deleteContent(ctx, ns.Name)
	if uerr := c.updateConditions(ctx, ns, res.conditions(err)); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return err
	}
	if res.remaining > 0 {
		c.queue.AddAfter(key, c.nextPoll(key, res.estimate))
		return nil
	}
	c.forget(key)
	return c.finalize(ctx, ns)
}

// nextPoll is when to look again at a namespace whose content is still going away: after the
// longest grace period left when pods are terminating, else after a backoff from 1s to 30s
// (objects held by finalizers can take long).
func (c *Controller) nextPoll(key string, estimate time.Duration) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.waits[key]
	c.waits[key] = n + 1
	backoff := min(time.Second<<min(n, 4), 10*time.Second)
	if estimate > 0 {
		return min(estimate, backoff)
	}
	return backoff
}

func (c *Controller) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.waits, key)
}

// result is what one pass over a namespace's content found.
type result struct {
	remaining  int
	estimate   time.Duration
	byResource map[string]int // remaining objects per resource
	finalizers map[string]int // remaining objects per finalizer they carry
	failures   []string       // resources whose deletion failed
	discovery  error
}

// deleteContent deletes every namespaced object of ns and reports what is left.
func (c *Controller) deleteContent(ctx context.Context, ns string) (*result, error) {
	res := &result{byResource: map[string]int{}, finalizers: map[string]int{}}
	resources, err := controller.Discover(ctx, c.c)
	if err != nil {
		res.discovery = err
		return res, err
	}
	var firstErr error
	for _, r := range resources {
		if !r.Namespaced || !r.Supports("list", "delete") {
			continue
		}
		if err := c.deleteResource(ctx, r, ns, res); err != nil {
			res.failures = append(res.failures, fmt.Sprintf("%s: %v", qualified(r), err))
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return res, firstErr
}

// deleteResource deletes the objects of one resource in ns and records what remains.
func (c *Controller) deleteResource(ctx context.Context, r controller.APIResource, ns string, res *result) error {
	objs := client.For[meta.PartialObjectMetadata](c.c, r.Resource)
	if r.Supports("deletecollection") {
		err := objs.DeleteCollection(ctx, ns, nil, client.ListOptions{})
		if err != nil && !client.IsNotFound(err) {
			return err
		}
	}
	list, err := objs.List(ctx, ns, client.ListOptions{})
	if err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return err
	}
	for i := range list.Items {
		m := &list.Items[i].ObjectMeta
		if m.DeletionTimestamp == nil {
			// Deletecollection is not supported, or the object was created since: delete it alone.
			err := objs.Delete(ctx, ns, m.Name, &meta.DeleteOptions{Preconditions: &meta.Preconditions{UID: &m.UID}})
			if client.IsNotFound(err) || client.IsConflict(err) {
				continue // gone, or a new object of the same name that the next pass handles
			}
			if err != nil {
				return err
			}
		}
		res.remaining++
		res.byResource[qualified(r)]++
		for _, f := range m.Finalizers {
			res.finalizers[f]++
		}
		if m.DeletionTimestamp != nil && m.DeletionGracePeriodSeconds != nil {
			left := time.Until(m.DeletionTimestamp.Time)
			res.estimate = max(res.estimate, left)
		}
	}
	return nil
}

func qualified(r controller.APIResource) string {
	if r.Group == "" {
		return r.Resource.Resource
	}
	return r.Resource.Resource + "." + r.Group
}

// conditions are the namespace's deletion conditions after one pass, worded as Kubernetes'.
func (res *result) conditions(err error) []core.NamespaceCondition {
	cond := func(t core.NamespaceConditionType, bad bool, badReason, okReason, msg string) core.NamespaceCondition {
		if !bad {
			return core.NamespaceCondition{Type: t, Status: core.ConditionFalse, Reason: okReason, Message: msg}
		}
		return core.NamespaceCondition{Type: t, Status: core.ConditionTrue, Reason: badReason, Message: msg}
	}
	discoveryMsg := "All resources successfully discovered"
	if res.discovery != nil {
		discoveryMsg = "Discovery failed for some groups: " + res.discovery.Error()
	}
	failMsg := "All content successfully deleted, may be waiting on finalization"
	if len(res.failures) > 0 {
		failMsg = fmt.Sprintf("Failed to delete all resource types, %d remaining: %s", len(res.failures), strings.Join(res.failures, ", "))
	}
	remainMsg := "All content successfully removed"
	if len(res.byResource) > 0 {
		remainMsg = "Some resources are remaining: " + countList(res.byResource, "%s has %d resource instances")
	}
	finMsg := "All content-preserving finalizers finished"
	if len(res.finalizers) > 0 {
		finMsg = "Some content in the namespace has finalizers remaining: " + countList(res.finalizers, "%s in %d resource instances")
	}
	return []core.NamespaceCondition{
		cond(core.NamespaceDeletionDiscoveryFailure, res.discovery != nil, "DiscoveryFailed", "ResourcesDiscovered", discoveryMsg),
		cond(core.NamespaceDeletionGVParsingFailure, false, "GroupVersionParsingFailed", "ParsedGroupVersions", "All legacy kube types successfully parsed"),
		cond(core.NamespaceDeletionContentFailure, len(res.failures) > 0, "ContentDeletionFailed", "ContentDeleted", failMsg),
		cond(core.NamespaceContentRemaining, len(res.byResource) > 0, "SomeResourcesRemain", "ContentRemoved", remainMsg),
		cond(core.NamespaceFinalizersRemaining, len(res.finalizers) > 0, "SomeFinalizersRemain", "ContentHasNoFinalizers", finMsg),
	}
}

func countList(m map[string]int, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf(format, k, m[k])
	}
	return strings.Join(parts, ", ")
}

// updateConditions writes the conditions through /status when they changed.
func (c *Controller) updateConditions(ctx context.Context, ns *core.Namespace, conds []core.NamespaceCondition) error {
	n := controller.DeepCopy(ns)
	changed := false
	now := meta.Now()
	for _, want := range conds {
		i := slices.IndexFunc(n.Status.Conditions, func(x core.NamespaceCondition) bool { return x.Type == want.Type })
		switch {
		case i < 0:
			want.LastTransitionTime = now
			n.Status.Conditions = append(n.Status.Conditions, want)
			changed = true
		case n.Status.Conditions[i].Status != want.Status || n.Status.Conditions[i].Reason != want.Reason || n.Status.Conditions[i].Message != want.Message:
			want.LastTransitionTime = n.Status.Conditions[i].LastTransitionTime
			if n.Status.Conditions[i].Status != want.Status {
				want.LastTransitionTime = now
			}
			n.Status.Conditions[i] = want
			changed = true
		}
	}
	if !changed {
		return nil
	}
	_, err := client.For[core.Namespace](c.c, controller.Namespaces).UpdateStatus(ctx, n)
	if client.IsNotFound(err) {
		return nil
	}
	return err
}

// finalize removes our finalizer from spec.finalizers through /finalize; the API server then
// deletes the namespace (unless metadata finalizers still hold it).
func (c *Controller) finalize(ctx context.Context, ns *core.Namespace) error {
	n := controller.DeepCopy(ns)
	n.Spec.Finalizers = slices.DeleteFunc(n.Spec.Finalizers, func(f core.FinalizerName) bool { return f == core.FinalizerKubernetes })
	err := c.c.Do(ctx, http.MethodPut, controller.Namespaces.Path("", ns.Name, "finalize"), n, nil)
	if client.IsNotFound(err) {
		return nil
	}
	if err == nil {
		c.log.Info("namespace finalized", "namespace", ns.Name)
	}
	return err
}
