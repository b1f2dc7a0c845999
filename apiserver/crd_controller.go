package apiserver

// The CustomResourceDefinition controller runs inside the API server, as Kubernetes'
// apiextensions-apiserver runs its naming, establishing and finalizing controllers: serving a
// custom resource means changing this process's kind registry, watch caches, discovery and
// OpenAPI, which no other process can do, and the cleanup finalizer deletes objects through
// the same code a DELETE request runs (their own finalizers and owner references included).
//
// For each definition it:
//   - accepts its names unless another definition (or a built-in kind) serves them
//     (NamesAccepted), then starts the resource's watch cache, adds the kinds of its served
//     versions to the registry, rebuilds OpenAPI, and only then reports Established, so a
//     client that waits for Established finds the resource served;
//   - follows spec changes (a new version, a changed schema or printer columns) by
//     replacing the kinds;
//   - on deletion, marks the kinds terminating (creates get 405), deletes every object of the
//     resource, waits until they are gone, then removes the customresourcecleanup finalizer,
//     which lets the definition go, and stops serving it.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
)

type crdController struct {
	s    *Server
	kind *registry.Kind // customresourcedefinitions

	mu      sync.Mutex
	pending map[string]bool // names queued
	wake    chan struct{}
	// served maps a definition's name to the generation and names whose kinds are in the
	// registry, and the kind its cache was started for.
	served map[string]servedCRD
}

type servedCRD struct {
	generation  int64
	names       apiextensions.CustomResourceDefinitionNames
	terminating bool
	kind        *registry.Kind
}

func newCRDController(s *Server) *crdController {
	k, _ := s.reg.Lookup(apiextensions.GroupName, apiextensions.Version, "customresourcedefinitions")
	return &crdController{s: s, kind: k, pending: map[string]bool{}, wake: make(chan struct{}, 1), served: map[string]servedCRD{}}
}

// start serves the definitions stored already (synchronously: a restarted server must
// answer for its custom resources once ready), then follows changes.
func (c *crdController) start(ctx context.Context) error {
	items, _ := c.s.cache(c.kind).List(nil)
	for _, o := range items {
		if err := c.sync(ctx, o.GetObjectMeta().Name); err != nil {
			c.s.log.Warn("custom resource definition", "name", o.GetObjectMeta().Name, "err", err)
			c.enqueue(o.GetObjectMeta().Name)
		}
	}
	go follow(ctx, c.s.cache(c.kind), func() {}, func(_ string, o meta.Object) { c.enqueue(o.GetObjectMeta().Name) }, c.s.log)
	go c.run(ctx)
	return nil
}

func (c *crdController) enqueue(name string) {
	c.mu.Lock()
	c.pending[name] = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// run syncs queued definitions one at a time; a failed or unfinished one is retried after a
// second (cleanup waits for objects with finalizers of their own).
func (c *crdController) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		c.mu.Lock()
		names := make([]string, 0, len(c.pending))
		for n := range c.pending {
			names = append(names, n)
		}
		c.pending = map[string]bool{}
		c.mu.Unlock()
		slices.Sort(names)
		for _, n := range names {
			if err := c.sync(ctx, n); err != nil {
				if !errors.Is(err, errRetry) {
					c.s.log.Warn("custom resource definition", "name", n, "err", err)
				}
				time.AfterFunc(time.Second, func() { c.enqueue(n) })
			}
		}
	}
}

// errRetry: the definition is not done (objects still being deleted); not a failure.
var errRetry = errors.New("retry")

func (c *crdController) sync(ctx context.Context, name string) error {
	obj := c.kind.New()
	err := c.s.store.Get(ctx, c.kind.Key("", name), obj)
	if errors.Is(err, storage.ErrNotFound) {
		c.unserve(name)
		return nil
	}
	if err != nil {
		return err
	}
	crd := obj.(*apiextensions.CustomResourceDefinition)
	if crd.DeletionTimestamp != nil {
		return c.finalize(ctx, crd)
	}
	names, cond := c.acceptNames(crd)
	st := crd.Status.DeepCopyStatus()
	setCRDCondition(&st, cond)
	if cond.Status == apiextensions.ConditionTrue {
		st.AcceptedNames = names
		if err := c.serve(ctx, crd, names, false); err != nil {
			setCRDCondition(&st, apiextensions.CustomResourceDefinitionCondition{Type: apiextensions.Established,
				Status: apiextensions.ConditionFalse, Reason: "Installing", Message: err.Error()})
			c.writeStatus(ctx, crd, st)
			return err
		}
		setCRDCondition(&st, apiextensions.CustomResourceDefinitionCondition{Type: apiextensions.Established,
			Status: apiextensions.ConditionTrue, Reason: "InitialNamesAccepted", Message: "the initial names have been accepted"})
	}
	return c.writeStatus(ctx, crd, st)
}

// acceptNames checks the definition's names against every other served kind.
func (c *crdController) acceptNames(crd *apiextensions.CustomResourceDefinition) (apiextensions.CustomResourceDefinitionNames, apiextensions.CustomResourceDefinitionCondition) {
	names := crd.Spec.Names
	conflict := func(msg string) (apiextensions.CustomResourceDefinitionNames, apiextensions.CustomResourceDefinitionCondition) {
		return crd.Status.AcceptedNames, apiextensions.CustomResourceDefinitionCondition{Type: apiextensions.NamesAccepted,
			Status: apiextensions.ConditionFalse, Reason: "NameConflict", Message: msg}
	}
	for _, k := range c.s.reg.Kinds() {
		if k.Group != crd.Spec.Group || (k.Custom != nil && k.Custom.CRD == crd.Name) {
			continue
		}
		switch {
		case k.Resource == names.Plural:
			return conflict(fmt.Sprintf("%q is already in use", names.Plural))
		case k.Kind == names.Kind:
			return conflict(fmt.Sprintf("%q is already in use", names.Kind))
		case k.Singular == names.Singular:
			return conflict(fmt.Sprintf("%q is already in use", names.Singular))
		}
		for _, sn := range names.ShortNames {
			if slices.Contains(k.ShortNames, sn) {
				return conflict(fmt.Sprintf("%q is already in use", sn))
			}
		}
	}
	return names, apiextensions.CustomResourceDefinitionCondition{Type: apiextensions.NamesAccepted,
		Status: apiextensions.ConditionTrue, Reason: "NoConflicts", Message: "no conflicts found"}
}

// serve puts the definition's kinds in the registry (its cache started first) unless this
// resourceVersion is served already.
func (c *crdController) serve(ctx context.Context, crd *apiextensions.CustomResourceDefinition, names apiextensions.CustomResourceDefinitionNames, terminating bool) error {
	c.mu.Lock()
	cur, ok := c.served[crd.Name]
	c.mu.Unlock()
	if ok && cur.generation == crd.Generation && namesEqual(cur.names, names) && cur.terminating == terminating {
		return nil
	}
	kinds, err := registry.CustomKinds(crd, names, terminating)
	if err != nil {
		return err
	}
	if len(kinds) == 0 {
		c.unserve(crd.Name)
		return nil
	}
	if ok && cur.kind.Prefix("") != kinds[0].Prefix("") {
		c.s.stopCache(cur.kind) // renamed before it was established
	}
	cache := c.s.startCache(ctx, &kinds[0])
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := cache.WaitReady(wctx); err != nil {
		return fmt.Errorf("watch cache: %w", err)
	}
	if err := c.s.reg.Replace(crd.Name, kinds); err != nil {
		return err
	}
	c.mu.Lock()
	c.served[crd.Name] = servedCRD{generation: crd.Generation, names: names, terminating: terminating, kind: &kinds[0]}
	c.mu.Unlock()
	c.s.kindsChanged()
	return nil
}

func (c *crdController) unserve(name string) {
	c.mu.Lock()
	cur, ok := c.served[name]
	delete(c.served, name)
	c.mu.Unlock()
	if !ok {
		return
	}
	c.s.reg.Remove(name)
	c.s.stopCache(cur.kind)
	c.s.kindsChanged()
}

// finalize deletes the definition's objects, then lets the definition go.
func (c *crdController) finalize(ctx context.Context, crd *apiextensions.CustomResourceDefinition) error {
	if !slices.Contains(crd.Finalizers, apiextensions.CustomResourceCleanupFinalizer) {
		c.unserve(crd.Name)
		return nil
	}
	st := crd.Status.DeepCopyStatus()
	c.mu.Lock()
	_, served := c.served[crd.Name]
	c.mu.Unlock()
	if served {
		if err := c.serve(ctx, crd, crd.Status.AcceptedNames, true); err != nil {
			return err
		}
	}
	kinds, err := registry.CustomKinds(crd, crd.Status.AcceptedNames, true)
	if err != nil || len(kinds) == 0 || crd.Status.AcceptedNames.Plural == "" {
		return c.removeFinalizer(ctx, crd) // never served: nothing to clean up
	}
	k := &kinds[0]
	res, err := c.s.store.List(ctx, k.Prefix(""), k.New, storage.ListOptions{})
	if err != nil {
		return err
	}
	if len(res.Items) > 0 {
		setCRDCondition(&st, apiextensions.CustomResourceDefinitionCondition{Type: apiextensions.Terminating,
			Status: apiextensions.ConditionTrue, Reason: "InstanceDeletionInProgress", Message: "CustomResource deletion is in progress"})
		if err := c.writeStatus(ctx, crd, st); err != nil {
			return err
		}
		for _, it := range res.Items {
			m := it.GetObjectMeta()
			if m.DeletionTimestamp != nil {
				continue // waiting for its own finalizers
			}
			if _, _, aerr := c.s.deleteObject(ctx, k, m.Namespace, m.Name, &meta.DeleteOptions{}, false); aerr != nil && aerr.status.Code != 404 {
				return fmt.Errorf("delete %s %s/%s: %s", k.Kind, m.Namespace, m.Name, aerr.status.Message)
			}
		}
		return errRetry
	}
	return c.removeFinalizer(ctx, crd)
}

func (c *crdController) removeFinalizer(ctx context.Context, crd *apiextensions.CustomResourceDefinition) error {
	key := c.kind.Key("", crd.Name)
	out, err := c.s.store.GuaranteedUpdate(ctx, key, c.kind.New, func(cur meta.Object) (meta.Object, error) {
		if cur.GetObjectMeta().UID != crd.UID {
			return nil, storage.ErrConflict
		}
		m := cur.GetObjectMeta()
		m.Finalizers = removeString(slices.Clone(m.Finalizers), apiextensions.CustomResourceCleanupFinalizer)
		return cur, nil
	})
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
			c.unserve(crd.Name)
			return nil
		}
		return err
	}
	if readyToDelete(out) {
		rv := out.GetObjectMeta().ResourceVersion
		_, err := c.s.store.Delete(ctx, key, c.kind.New, func(cur meta.Object) error {
			if cur.GetObjectMeta().ResourceVersion != rv {
				return storage.ErrConflict
			}
			return nil
		})
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	c.unserve(crd.Name)
	return nil
}

// writeStatus stores st unless it is what the definition has.
func (c *crdController) writeStatus(ctx context.Context, crd *apiextensions.CustomResourceDefinition, st apiextensions.CustomResourceDefinitionStatus) error {
	if statusEqual(crd.Status, st) {
		return nil
	}
	_, err := c.s.store.GuaranteedUpdate(ctx, c.kind.Key("", crd.Name), c.kind.New, func(cur meta.Object) (meta.Object, error) {
		o := cur.(*apiextensions.CustomResourceDefinition)
		if o.UID != crd.UID {
			return nil, storage.ErrConflict
		}
		o.Status.Conditions = st.Conditions
		o.Status.AcceptedNames = st.AcceptedNames
		return o, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

func statusEqual(a, b apiextensions.CustomResourceDefinitionStatus) bool {
	if len(a.Conditions) != len(b.Conditions) || !namesEqual(a.AcceptedNames, b.AcceptedNames) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message {
			return false
		}
	}
	return true
}

func namesEqual(a, b apiextensions.CustomResourceDefinitionNames) bool {
	return a.Plural == b.Plural && a.Singular == b.Singular && a.Kind == b.Kind && a.ListKind == b.ListKind &&
		slices.Equal(a.ShortNames, b.ShortNames) && slices.Equal(a.Categories, b.Categories)
}

// setCRDCondition sets a condition, keeping its transition time when the status is unchanged.
func setCRDCondition(st *apiextensions.CustomResourceDefinitionStatus, c apiextensions.CustomResourceDefinitionCondition) {
	c.LastTransitionTime = meta.Now()
	for i := range st.Conditions {
		if st.Conditions[i].Type == c.Type {
			if st.Conditions[i].Status == c.Status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}
