// Package defaultingressclass is Kubernetes' DefaultIngressClass admission plugin: an
// Ingress created without spec.ingressClassName (and without the deprecated
// kubernetes.io/ingress.class annotation) gets the IngressClass annotated
// ingressclass.kubernetes.io/is-default-class: "true" — the newest such class when several
// are, as Kubernetes chooses since 1.28. With no default class the Ingress is left alone.
package defaultingressclass

import (
	"context"
	"fmt"
	"sort"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/apiserver/admission"
)

// Name is the plugin's name, as --enable/disable-admission-plugins know it.
const Name = "DefaultIngressClass"

// Plugin is the mutating plugin.
type Plugin struct{ objs admission.Objects }

// New returns the plugin reading IngressClasses from objs.
func New(objs admission.Objects) *Plugin { return &Plugin{objs: objs} }

// Name implements admission.Plugin.
func (p *Plugin) Name() string { return Name }

// Admit sets the default class on a new Ingress that names none.
func (p *Plugin) Admit(_ context.Context, a *admission.Attributes) error {
	if a.Operation != admission.Create || a.Subresource != "" || a.Kind == nil ||
		a.Kind.Group != networking.GroupName || a.Kind.Resource != "ingresses" {
		return nil
	}
	ing, ok := a.Object.(*networking.Ingress)
	if !ok {
		return fmt.Errorf("expected an Ingress, got %T", a.Object)
	}
	if ing.Spec.IngressClassName != nil {
		return nil
	}
	if _, ok := ing.Annotations[networking.AnnotationIngressClass]; ok {
		return nil
	}
	if def := DefaultClass(p.objs.List(networking.GroupName, "ingressclasses", "")); def != "" {
		ing.Spec.IngressClassName = &def
	}
	return nil
}

// DefaultClass is the name of the default IngressClass among classes ("" for none): of
// those annotated default, the newest, ties broken by name.
func DefaultClass(classes []meta.Object) string {
	var defs []*networking.IngressClass
	for _, o := range classes {
		if c, ok := o.(*networking.IngressClass); ok && c.Annotations[networking.AnnotationIsDefaultIngressClass] == "true" {
			defs = append(defs, c)
		}
	}
	if len(defs) == 0 {
		return ""
	}
	sort.Slice(defs, func(i, j int) bool {
		ti, tj := defs[i].CreationTimestamp.UnixNano(), defs[j].CreationTimestamp.UnixNano()
		if ti == tj {
			return defs[i].Name < defs[j].Name
		}
		return ti > tj
	})
	return defs[0].Name
}
