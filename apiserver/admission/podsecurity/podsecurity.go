// Package podsecurity is Kubernetes' PodSecurity admission plugin: the Pod Security Standards
// (privileged, baseline, restricted) applied per namespace from its labels
// pod-security.kubernetes.io/{enforce,warn,audit}[-version]. enforce refuses a pod that
// violates the level (`pods "x" is forbidden: violates PodSecurity "restricted:latest": ...`),
// warn returns the violations as warnings, audit records them as an audit annotation. Pod
// templates of workloads (Deployments, Jobs, ...) are never refused, only warned about, as in
// Kubernetes; a namespace whose enforce level is tightened gets warnings naming its existing
// pods that violate the new level.
//
// Versions are accepted and reported but every version is checked as "latest".
package podsecurity

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Name is the plugin's name in --enable-admission-plugins.
const Name = "PodSecurity"

// Level is a Pod Security Standard.
type Level string

const (
	Privileged Level = "privileged"
	Baseline   Level = "baseline"
	Restricted Level = "restricted"
)

const labelPrefix = "pod-security.kubernetes.io/"

// AuditAnnotation carries the audit mode's violations.
const AuditAnnotation = labelPrefix + "audit-violations"

// Plugin is the PodSecurity admission plugin.
type Plugin struct{ objects admission.Objects }

var _ admission.Validator = (*Plugin)(nil)

// New makes the plugin; it reads namespaces (and, for label changes, pods) through objects.
func New(objects admission.Objects) *Plugin { return &Plugin{objects: objects} }

// Name implements admission.Plugin.
func (p *Plugin) Name() string { return Name }

// policy is one mode's level and version, as "restricted:latest".
type policy struct{ level, version string }

func (p policy) String() string { return p.level + ":" + p.version }

// policyFor reads a mode's label; an absent label is privileged (no checks).
func policyFor(labels map[string]string, mode string) (policy, bool) {
	level, ok := labels[labelPrefix+mode]
	if !ok || (level != string(Baseline) && level != string(Restricted)) {
		return policy{}, false
	}
	version := labels[labelPrefix+mode+"-version"]
	if version == "" {
		version = "latest"
	}
	return policy{level, version}, true
}

// Validate checks pods, pod templates and namespace label changes.
func (p *Plugin) Validate(ctx context.Context, a *admission.Attributes) error {
	if a.Kind == nil || a.Object == nil || (a.Operation != admission.Create && a.Operation != admission.Update) {
		return nil
	}
	if a.Kind.Group == "" && a.Kind.Resource == "namespaces" && a.Subresource == "" {
		p.namespaceChanged(a)
		return nil
	}
	spec, isPod := podSpec(a)
	if spec == nil {
		return nil
	}
	switch {
	case !isPod && a.Subresource != "":
		return nil // status and scale change no template
	case isPod && a.Operation == admission.Update && a.Subresource != "ephemeralcontainers":
		return nil // a pod's checked fields are immutable once created, but for debug containers
	}
	ns, err := p.objects.Get(ctx, "", "namespaces", "", a.Namespace)
	if err != nil {
		return nil // NamespaceLifecycle answers for a missing namespace
	}
	labels := ns.GetObjectMeta().Labels
	if pol, ok := policyFor(labels, "enforce"); ok && isPod {
		if v := Violations(Level(pol.level), spec); len(v) > 0 {
			a.AddAnnotation(labelPrefix+"enforce-policy", pol.String())
			return admission.Forbidden(a, fmt.Sprintf("violates PodSecurity %q: %s", pol.String(), strings.Join(v, ", ")))
		}
	}
	warnPol, warnOK := policyFor(labels, "warn")
	if !isPod {
		// Templates are warned about at the stricter of enforce and warn.
		if enf, ok := policyFor(labels, "enforce"); ok && (!warnOK || stricter(enf, warnPol)) {
			warnPol, warnOK = enf, true
		}
	}
	if warnOK {
		if v := Violations(Level(warnPol.level), spec); len(v) > 0 {
			a.AddWarning(fmt.Sprintf("would violate PodSecurity %q: %s", warnPol.String(), strings.Join(v, ", ")))
		}
	}
	if pol, ok := policyFor(labels, "audit"); ok {
		if v := Violations(Level(pol.level), spec); len(v) > 0 {
			a.AddAnnotation(AuditAnnotation, fmt.Sprintf("would violate PodSecurity %q: %s", pol.String(), strings.Join(v, ", ")))
		}
	}
	return nil
}

func stricter(a, b policy) bool { return a.level == string(Restricted) && b.level == string(Baseline) }

// podSpec is the pod spec a write carries: the pod's own, or a workload's template.
func podSpec(a *admission.Attributes) (*core.PodSpec, bool) {
	switch o := a.Object.(type) {
	case *core.Pod:
		return &o.Spec, true
	case *core.PodTemplate:
		return &o.Template.Spec, false
	case *core.ReplicationController:
		if o.Spec.Template != nil {
			return &o.Spec.Template.Spec, false
		}
	case *apps.Deployment:
		return &o.Spec.Template.Spec, false
	case *apps.ReplicaSet:
		return &o.Spec.Template.Spec, false
	case *apps.StatefulSet:
		return &o.Spec.Template.Spec, false
	case *apps.DaemonSet:
		return &o.Spec.Template.Spec, false
	case *batch.Job:
		return &o.Spec.Template.Spec, false
	case *batch.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.Spec, false
	}
	return nil, false
}

// namespaceChanged warns when a namespace's enforce level changes and existing pods violate
// the new one (Kubernetes lists them the same way).
func (p *Plugin) namespaceChanged(a *admission.Attributes) {
	newPol, ok := policyFor(a.Object.GetObjectMeta().Labels, "enforce")
	if !ok || a.Operation != admission.Update || a.OldObject == nil {
		return
	}
	if oldPol, had := policyFor(a.OldObject.GetObjectMeta().Labels, "enforce"); had && oldPol == newPol {
		return
	}
	var lines []string
	for _, o := range p.objects.List("", "pods", a.Name) {
		pod, ok := o.(*core.Pod)
		if !ok || pod.Status.Phase == core.PodSucceeded || pod.Status.Phase == core.PodFailed {
			continue
		}
		if v := Violations(Level(newPol.level), &pod.Spec); len(v) > 0 {
			lines = append(lines, fmt.Sprintf("%s: %s", pod.Name, strings.Join(reasons(v), ", ")))
		}
	}
	if len(lines) == 0 {
		return
	}
	sort.Strings(lines)
	a.AddWarning(fmt.Sprintf("existing pods in namespace %q violate the new PodSecurity enforce level %q", a.Name, newPol.String()))
	for _, l := range lines {
		a.AddWarning(l)
	}
}

// reasons drops the details: "privileged (container ...)" becomes "privileged".
func reasons(v []string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i], _, _ = strings.Cut(s, " (")
	}
	return out
}
