// Package webhook is the Website admission webhooks: defaulting (replicas, port) and
// validation (an image, a port that exists, a bounded replica count), served by
// controller-runtime's webhook server.
package webhook

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	webv1 "github.com/skiff-sh/skiff/examples/operator/api/v1"
)

// MaxReplicas is the most replicas a Website may ask for.
const MaxReplicas = 10

// Setup registers both webhooks on the manager's webhook server, at controller-runtime's
// paths: /mutate-example-skiff-sh-v1-website and /validate-example-skiff-sh-v1-website.
func Setup(mgr ctrl.Manager) error {
	return builder.WebhookManagedBy(mgr, &webv1.Website{}).
		WithDefaulter(defaulter{}).
		WithValidator(validator{}).
		Complete()
}

type defaulter struct{}

// Default fills what a Website may leave out.
func (defaulter) Default(_ context.Context, site *webv1.Website) error {
	if site.Spec.Replicas == nil {
		one := int32(1)
		site.Spec.Replicas = &one
	}
	if site.Spec.Port == 0 {
		site.Spec.Port = 8080
	}
	return nil
}

type validator struct{}

func (validator) ValidateCreate(_ context.Context, site *webv1.Website) (admission.Warnings, error) {
	return warnings(site), validate(site)
}

func (validator) ValidateUpdate(_ context.Context, _, site *webv1.Website) (admission.Warnings, error) {
	return warnings(site), validate(site)
}

func (validator) ValidateDelete(context.Context, *webv1.Website) (admission.Warnings, error) {
	return nil, nil
}

// validate refuses, with every failing field named as the API server names them.
func validate(site *webv1.Website) error {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if site.Spec.Image == "" {
		errs = append(errs, field.Required(spec.Child("image"), "a website needs an image to serve it"))
	}
	if p := site.Spec.Port; p < 1 || p > 65535 {
		errs = append(errs, field.Invalid(spec.Child("port"), p, "must be between 1 and 65535"))
	}
	if r := site.Spec.Replicas; r != nil && (*r < 0 || *r > MaxReplicas) {
		errs = append(errs, field.Invalid(spec.Child("replicas"), *r, "must be between 0 and 10"))
	}
	if len(errs) == 0 {
		return nil
	}
	return apierrors.NewInvalid(webv1.GroupVersion.WithKind("Website").GroupKind(), site.Name, errs)
}

func warnings(site *webv1.Website) admission.Warnings {
	if r := site.Spec.Replicas; r != nil && *r == 0 {
		return admission.Warnings{"spec.replicas is 0: the site serves nothing"}
	}
	return nil
}
