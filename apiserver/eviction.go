package apiserver

// pods/eviction: a pod deletion that respects PodDisruptionBudgets, as Kubernetes' eviction
// REST storage (pkg/registry/core/pod/storage/eviction.go).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
)

// maxDisruptedPods bounds a budget's disruptedPods: evictions the disruption controller has
// not yet seen through.
const maxDisruptedPods = 2000

// evictionAttempts bounds the retries after a conflict on the pod or the budget.
const evictionAttempts = 5

func (s *Server) evict(w http.ResponseWriter, req *http.Request, r *request) {
	body, aerr := s.readJSON(w, req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var ev policy.Eviction
	if len(body) > 0 {
		if err := json.Unmarshal(body, &ev); err != nil {
			writeError(w, errBadRequest(decodeMessage(err)))
			return
		}
	}
	if ev.Name != "" && ev.Name != r.name {
		writeError(w, errBadRequest("name in URL does not match name in Eviction object"))
		return
	}
	opts := ev.DeleteOptions
	if opts == nil {
		opts = &meta.DeleteOptions{}
	}
	if aerr := s.evictPod(req.Context(), r.kind, r.namespace, r.name, opts, dryRun(req) || len(opts.DryRun) > 0); aerr != nil {
		writeError(w, aerr)
		return
	}
	writeAPIObject(w, http.StatusCreated, &meta.Status{TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: meta.StatusSuccess, Code: http.StatusCreated})
}

// evictPod deletes the pod unless its disruption budget forbids it.
func (s *Server) evictPod(ctx context.Context, k *registry.Kind, ns, name string, opts *meta.DeleteOptions, dry bool) *apiError {
	var pod *core.Pod
	for attempt := 1; ; attempt++ {
		p := &core.Pod{}
		if err := s.store.Get(ctx, k.Key(ns, name), p); err != nil {
			return toAPIError(k, name, err)
		}
		pod = p
		if !canIgnoreBudget(p) {
			break
		}
		// A pod that has finished, has not started, or is already going disrupts nothing.
		o := opts
		if p.Status.Phase != core.PodSucceeded && p.Status.Phase != core.PodFailed && p.DeletionTimestamp == nil && rvUnset(opts) {
			o = withResourceVersion(opts, p.ResourceVersion) // a pending pod may start meanwhile
		}
		aerr := s.deleteEvicted(ctx, k, ns, name, o, dry)
		if aerr != nil && aerr.status.Code == http.StatusConflict && attempt < evictionAttempts && o != opts {
			continue
		}
		return aerr
	}

	pdbs, err := s.budgetsFor(ctx, pod)
	if err != nil {
		return errInternal(err)
	}
	switch len(pdbs) {
	case 0:
		return s.deleteEvicted(ctx, k, ns, name, opts, dry)
	case 1:
	default:
		return newStatus(http.StatusInternalServerError, "",
			"This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.", nil)
	}
	pdb := pdbs[0]
	if !pod.IsReady() {
		// An unready pod counts for nothing the budget protects: it may go when the policy
		// says so, or when the application is healthy without it — then only if it is still
		// unready when deleted (the resourceVersion precondition).
		always := pdb.Spec.UnhealthyPodEvictionPolicy != nil && *pdb.Spec.UnhealthyPodEvictionPolicy == policy.AlwaysAllow
		if always || (pdb.Status.CurrentHealthy >= pdb.Status.DesiredHealthy && pdb.Status.DesiredHealthy > 0) {
			o := opts
			if rvUnset(opts) {
				o = withResourceVersion(opts, pod.ResourceVersion)
			}
			aerr := s.deleteEvicted(ctx, k, ns, name, o, dry)
			if aerr != nil && aerr.status.Code == http.StatusConflict && o != opts {
				return budgetBusy(pdb.Name)
			}
			return aerr
		}
	}
	if aerr := s.takeDisruption(ctx, pdb, name, dry); aerr != nil {
		return aerr
	}
	return s.deleteEvicted(ctx, k, ns, name, opts, dry)
}

// canIgnoreBudget: Kubernetes deletes finished, pending and terminating pods without
// consulting their budget.
func canIgnoreBudget(p *core.Pod) bool {
	return p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed ||
		p.Status.Phase == core.PodPending || p.DeletionTimestamp != nil
}

func rvUnset(o *meta.DeleteOptions) bool {
	return o.Preconditions == nil || o.Preconditions.ResourceVersion == nil
}

func withResourceVersion(o *meta.DeleteOptions, rv string) *meta.DeleteOptions {
	c := *o
	pre := meta.Preconditions{}
	if o.Preconditions != nil {
		pre = *o.Preconditions
	}
	pre.ResourceVersion = &rv
	c.Preconditions = &pre
	return &c
}

// budgetsFor lists, from storage, the budgets in the pod's namespace whose selector matches
// it (a nil selector matches nothing, an empty one everything, as in policy/v1).
func (s *Server) budgetsFor(ctx context.Context, pod *core.Pod) ([]*policy.PodDisruptionBudget, error) {
	k, ok := s.reg.Lookup(policy.GroupName, policy.Version, "poddisruptionbudgets")
	if !ok {
		return nil, nil
	}
	res, err := s.store.List(ctx, k.Prefix(pod.Namespace), k.New, storage.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing disruption budgets: %w", err)
	}
	var out []*policy.PodDisruptionBudget
	for _, it := range res.Items {
		pdb := it.(*policy.PodDisruptionBudget)
		sel, err := labels.SelectorFromLabelSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pdb)
	}
	return out, nil
}

// takeDisruption spends one of the budget's allowed disruptions on the pod: a
// compare-and-swap of its status (disruptionsAllowed - 1, the pod in disruptedPods, so the
// controller does not count it healthy before it is gone).
func (s *Server) takeDisruption(ctx context.Context, pdb *policy.PodDisruptionBudget, podName string, dry bool) *apiError {
	k, _ := s.reg.Lookup(policy.GroupName, policy.Version, "poddisruptionbudgets")
	for attempt := 1; ; attempt++ {
		if pdb.Status.ObservedGeneration < pdb.Generation {
			return budgetBusy(pdb.Name)
		}
		if pdb.Status.DisruptionsAllowed < 0 {
			return errForbidden(k, pdb.Name, "pdb disruptions allowed is negative")
		}
		if len(pdb.Status.DisruptedPods) > maxDisruptedPods {
			return errForbidden(k, pdb.Name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
		}
		if pdb.Status.DisruptionsAllowed == 0 {
			return budgetExhausted(0, fmt.Sprintf("The disruption budget %s needs %d healthy pods and has %d currently",
				pdb.Name, pdb.Status.DesiredHealthy, pdb.Status.CurrentHealthy))
		}
		if dry {
			return nil
		}
		rv := pdb.ResourceVersion
		_, err := s.store.GuaranteedUpdate(ctx, k.Key(pdb.Namespace, pdb.Name), k.New, func(cur meta.Object) (meta.Object, error) {
			c := cur.(*policy.PodDisruptionBudget)
			if c.ResourceVersion != rv {
				return nil, storage.ErrConflict
			}
			c.Status.DisruptionsAllowed--
			if c.Status.DisruptionsAllowed == 0 {
				setBudgetCondition(c, metaFalse, policy.InsufficientPodsReason)
			}
			if c.Status.DisruptedPods == nil {
				c.Status.DisruptedPods = map[string]meta.Time{}
			}
			c.Status.DisruptedPods[podName] = meta.Now()
			return c, nil
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return toAPIError(k, pdb.Name, err)
		}
		if attempt == evictionAttempts {
			return newStatus(http.StatusGatewayTimeout, meta.ReasonTimeout,
				fmt.Sprintf("couldn't update PodDisruptionBudget %q due to conflicts", pdb.Name), &meta.StatusDetails{RetryAfterSeconds: 10})
		}
		fresh := &policy.PodDisruptionBudget{}
		if err := s.store.Get(ctx, k.Key(pdb.Namespace, pdb.Name), fresh); err != nil {
			return toAPIError(k, pdb.Name, err)
		}
		pdb = fresh
	}
}

const metaFalse = "False"

// setBudgetCondition sets the DisruptionAllowed condition as Kubernetes'
// UpdateDisruptionAllowedCondition does when the last disruption is taken.
func setBudgetCondition(pdb *policy.PodDisruptionBudget, status, reason string) {
	c := meta.Condition{Type: policy.DisruptionAllowedCondition, Status: status, Reason: reason,
		ObservedGeneration: pdb.Status.ObservedGeneration, LastTransitionTime: meta.Now()}
	for i := range pdb.Status.Conditions {
		if pdb.Status.Conditions[i].Type == c.Type {
			if pdb.Status.Conditions[i].Status == c.Status {
				c.LastTransitionTime = pdb.Status.Conditions[i].LastTransitionTime
			}
			pdb.Status.Conditions[i] = c
			return
		}
	}
	pdb.Status.Conditions = append(pdb.Status.Conditions, c)
}

// budgetExhausted is Kubernetes' 429 for an eviction the budget does not allow.
func budgetExhausted(retryAfter int32, cause string) *apiError {
	return newStatus(http.StatusTooManyRequests, meta.ReasonTooManyRequests,
		"Cannot evict pod as it would violate the pod's disruption budget.",
		&meta.StatusDetails{RetryAfterSeconds: retryAfter, Causes: []meta.StatusCause{{Type: policy.DisruptionBudgetCause, Message: cause}}})
}

// budgetBusy: the budget's status is behind its spec (or the pod changed meanwhile).
func budgetBusy(name string) *apiError {
	return budgetExhausted(10, fmt.Sprintf("The disruption budget %s is still being processed by the server.", name))
}

// deleteEvicted marks the pod with the DisruptionTarget condition and deletes it, as
// Kubernetes' addConditionAndDeletePod.
func (s *Server) deleteEvicted(ctx context.Context, k *registry.Kind, ns, name string, opts *meta.DeleteOptions, dry bool) *apiError {
	if !dry {
		rv := ""
		obj, err := s.store.GuaranteedUpdate(ctx, k.Key(ns, name), k.New, func(cur meta.Object) (meta.Object, error) {
			p := cur.(*core.Pod)
			if aerr := checkPreconditions(k, name, p, opts.Preconditions); aerr != nil {
				return nil, aerr
			}
			if c := p.Status.Condition(core.DisruptionTarget); c != nil && c.Status == core.ConditionTrue {
				return p, nil
			}
			setPodCondition(&p.Status, core.PodCondition{Type: core.DisruptionTarget, Status: core.ConditionTrue,
				Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting", LastTransitionTime: meta.Now()})
			return p, nil
		})
		if err != nil {
			return toAPIError(k, name, err)
		}
		rv = obj.GetObjectMeta().ResourceVersion
		if !rvUnset(opts) {
			// The caller's resourceVersion precondition held; the condition write moved it.
			opts = withResourceVersion(opts, rv)
		}
	}
	_, _, aerr := s.deleteObject(ctx, k, ns, name, opts, dry)
	return aerr
}
