// Package limitranger is Kubernetes' LimitRanger admission plugin. On pod creation it fills
// in each container's missing requests and limits from the namespace's LimitRanges
// (defaultRequest, default; recording what it set in the kubernetes.io/limit-ranger
// annotation), then refuses a pod whose containers, or whose totals, fall outside min, max
// or maxLimitRequestRatio, and a PersistentVolumeClaim whose storage request falls outside
// min and max — with Kubernetes' messages ("maximum cpu usage per Container is 1, but limit
// is 2").
package limitranger

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/quota"
	"github.com/skiff-sh/skiff/api/resource"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "LimitRanger"

// Annotation records the defaults the plugin set on a pod.
const Annotation = "kubernetes.io/limit-ranger"

// Plugin is the LimitRanger admission plugin.
type Plugin struct{ objects admission.Objects }

var (
	_ admission.Mutator   = (*Plugin)(nil)
	_ admission.Validator = (*Plugin)(nil)
)

// New makes the plugin; it reads LimitRanges through objects.
func New(objects admission.Objects) *Plugin { return &Plugin{objects: objects} }

// Name implements admission.Plugin.
func (p *Plugin) Name() string { return Name }

// applies: pods on create (their containers cannot change afterwards), claims on create and
// update (a claim can be expanded).
func applies(a *admission.Attributes) bool {
	if a.Kind == nil || a.Kind.Group != "" || a.Subresource != "" || a.Object == nil {
		return false
	}
	if a.OldObject != nil && a.OldObject.GetObjectMeta().DeletionTimestamp != nil {
		return false
	}
	switch a.Kind.Resource {
	case "pods":
		return a.Operation == admission.Create
	case "persistentvolumeclaims":
		return a.Operation == admission.Create || a.Operation == admission.Update
	}
	return false
}

func (p *Plugin) limitRanges(ns string) []*core.LimitRange {
	var out []*core.LimitRange
	for _, o := range p.objects.List("", "limitranges", ns) {
		if lr, ok := o.(*core.LimitRange); ok {
			out = append(out, lr)
		}
	}
	// Several LimitRanges apply in a stable order (Kubernetes follows its cache's order).
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Admit sets the containers' default requests and limits.
func (p *Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	pod, ok := a.Object.(*core.Pod)
	if !ok || !applies(a) {
		return nil
	}
	for _, lr := range p.limitRanges(a.Namespace) {
		SetDefaults(lr, pod)
	}
	return nil
}

// Validate refuses what falls outside a LimitRange.
func (p *Plugin) Validate(_ context.Context, a *admission.Attributes) error {
	if !applies(a) {
		return nil
	}
	for _, lr := range p.limitRanges(a.Namespace) {
		var errs []string
		switch o := a.Object.(type) {
		case *core.Pod:
			errs = ValidatePod(lr, o)
		case *core.PersistentVolumeClaim:
			errs = ValidateClaim(lr, o)
		}
		if len(errs) > 0 {
			return admission.Forbidden(a, aggregate(errs))
		}
	}
	return nil
}

// aggregate prints errors as Kubernetes' utilerrors.Aggregate does: one alone, several in
// brackets, duplicates once.
func aggregate(errs []string) string {
	seen := map[string]bool{}
	var out []string
	for _, e := range errs {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return "[" + strings.Join(out, ", ") + "]"
}

// SetDefaults gives every container the Container defaults of lr it lacks, and records what it
// set in the pod's kubernetes.io/limit-ranger annotation.
func SetDefaults(lr *core.LimitRange, pod *core.Pod) {
	reqs, lims := core.ResourceList{}, core.ResourceList{}
	for _, it := range lr.Spec.Limits {
		if it.Type == core.LimitTypeContainer {
			for k, v := range it.DefaultRequest {
				reqs[k] = v
			}
			for k, v := range it.Default {
				lims[k] = v
			}
		}
	}
	var notes []string
	merge := func(c *core.Container, what string) {
		var setReq, setLim []string
		for k, v := range lims {
			if _, ok := c.Resources.Limits[k]; !ok {
				if c.Resources.Limits == nil {
					c.Resources.Limits = core.ResourceList{}
				}
				c.Resources.Limits[k] = v
				setLim = append(setLim, string(k))
			}
		}
		for k, v := range reqs {
			if _, ok := c.Resources.Requests[k]; !ok {
				if c.Resources.Requests == nil {
					c.Resources.Requests = core.ResourceList{}
				}
				c.Resources.Requests[k] = v
				setReq = append(setReq, string(k))
			}
		}
		if len(setReq) > 0 {
			sort.Strings(setReq)
			notes = append(notes, strings.Join(setReq, ", ")+" request for "+what+" "+c.Name)
		}
		if len(setLim) > 0 {
			sort.Strings(setLim)
			notes = append(notes, strings.Join(setLim, ", ")+" limit for "+what+" "+c.Name)
		}
	}
	for i := range pod.Spec.Containers {
		merge(&pod.Spec.Containers[i], "container")
	}
	for i := range pod.Spec.InitContainers {
		merge(&pod.Spec.InitContainers[i], "init container")
	}
	if len(notes) > 0 {
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[Annotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
	}
}

// ValidatePod checks every container against lr's Container items and the pod's totals
// against its Pod items.
func ValidatePod(lr *core.LimitRange, pod *core.Pod) []string {
	var errs []string
	for _, it := range lr.Spec.Limits {
		switch it.Type {
		case core.LimitTypeContainer:
			for _, list := range [][]core.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
				for i := range list {
					errs = append(errs, checkItem(it, list[i].Resources.Requests, list[i].Resources.Limits)...)
				}
			}
		case core.LimitTypePod:
			// Totals without overhead, as Kubernetes' LimitRanger computes them.
			noOverhead := *pod
			noOverhead.Spec.Overhead = nil
			errs = append(errs, checkItem(it, quota.PodRequests(&noOverhead), quota.PodLimits(&noOverhead))...)
		}
	}
	return errs
}

// ValidateClaim checks a claim's storage request against lr's PersistentVolumeClaim items
// (its limits are not user input for LimitRanges).
func ValidateClaim(lr *core.LimitRange, pvc *core.PersistentVolumeClaim) []string {
	var errs []string
	for _, it := range lr.Spec.Limits {
		if it.Type != core.LimitTypePersistentVolumeClaim {
			continue
		}
		for _, k := range sortedNames(it.Min) {
			if err := minConstraint(it.Type, k, it.Min[k], pvc.Spec.Resources.Requests, nil); err != nil {
				errs = append(errs, err.Error())
			}
		}
		for _, k := range sortedNames(it.Max) {
			if err := maxRequestConstraint(it.Type, k, it.Max[k], pvc.Spec.Resources.Requests); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	return errs
}

func checkItem(it core.LimitRangeItem, req, lim core.ResourceList) []string {
	var errs []string
	for _, k := range sortedNames(it.Min) {
		if err := minConstraint(it.Type, k, it.Min[k], req, lim); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, k := range sortedNames(it.Max) {
		if err := maxConstraint(it.Type, k, it.Max[k], req, lim); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, k := range sortedNames(it.MaxLimitRequestRatio) {
		if err := ratioConstraint(it.Type, k, it.MaxLimitRequestRatio[k], req, lim); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

func sortedNames(l core.ResourceList) []core.ResourceName { return quota.ResourceNames(l) }

// values are request, limit and enforced at a common precision: milli-units unless that
// would overflow (Kubernetes' requestLimitEnforcedValues).
func values(req, lim, enforced resource.Quantity) (int64, int64, int64) {
	const maxMilli = (1<<63 - 1) / 1000
	r, l, e := req.Value(), lim.Value(), enforced.Value()
	if r <= maxMilli && l <= maxMilli && e <= maxMilli {
		return req.MilliValue(), lim.MilliValue(), enforced.MilliValue()
	}
	return r, l, e
}

func minConstraint(t core.LimitType, name core.ResourceName, enforced resource.Quantity, req, lim core.ResourceList) error {
	rq, hasReq := req[name]
	lq, hasLim := lim[name]
	r, l, e := values(rq, lq, enforced)
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, t, enforced.String())
	case r < e:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, t, enforced.String(), rq.String())
	case hasLim && l < e:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, t, enforced.String(), lq.String())
	}
	return nil
}

func maxRequestConstraint(t core.LimitType, name core.ResourceName, enforced resource.Quantity, req core.ResourceList) error {
	rq, hasReq := req[name]
	r, _, e := values(rq, resource.Quantity{}, enforced)
	switch {
	case !hasReq:
		return fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", name, t, enforced.String())
	case r > e:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, t, enforced.String(), rq.String())
	}
	return nil
}

func maxConstraint(t core.LimitType, name core.ResourceName, enforced resource.Quantity, req, lim core.ResourceList) error {
	rq, hasReq := req[name]
	lq, hasLim := lim[name]
	r, l, e := values(rq, lq, enforced)
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, t, enforced.String())
	case l > e:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, t, enforced.String(), lq.String())
	case hasReq && r > e:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, t, enforced.String(), rq.String())
	}
	return nil
}

func ratioConstraint(t core.LimitType, name core.ResourceName, enforced resource.Quantity, req, lim core.ResourceList) error {
	rq, hasReq := req[name]
	lq, hasLim := lim[name]
	r, l, _ := values(rq, lq, enforced)
	if !hasReq || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, t, enforced.String())
	}
	if !hasLim || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, t, enforced.String())
	}
	observed := float64(l) / float64(r)
	display := observed
	limit := float64(enforced.Value())
	if enforced.Value() <= (1<<63-1)/1000 {
		observed *= 1000
		limit = float64(enforced.MilliValue())
	}
	if observed > limit {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, t, enforced.String(), display)
	}
	return nil
}
