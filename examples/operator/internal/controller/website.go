// Package controller is the Website reconciler: it owns a Deployment and a Service per
// Website and reports their state in the Website's status.
package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	webv1 "github.com/skiff-sh/skiff/examples/operator/api/v1"
)

// WebsiteReconciler makes a Website's Deployment and Service match its spec.
type WebsiteReconciler struct {
	client.Client
	Scheme *runtime.Scheme
}

// SetupWithManager watches Websites and the Deployments and Services they own (a change to
// either brings its Website back to the queue).
func (r *WebsiteReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&webv1.Website{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Complete(r)
}

// Reconcile is level-triggered: it reads the Website and writes what should be. Deletion
// needs nothing here: the Deployment and Service have the Website as controller owner, so
// the garbage collector removes them.
func (r *WebsiteReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var site webv1.Website
	if err := r.Get(ctx, req.NamespacedName, &site); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !site.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	labels := map[string]string{"app.kubernetes.io/name": "website", "app.kubernetes.io/instance": site.Name}

	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: site.Name, Namespace: site.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, dep, func() error {
		// Only the fields the Website decides are set, so the server's defaults stay and an
		// unchanged Website writes nothing.
		dep.Spec.Replicas = site.Spec.Replicas
		if dep.Spec.Selector == nil { // immutable once created
			dep.Spec.Selector = &metav1.LabelSelector{MatchLabels: labels}
		}
		dep.Spec.Template.Labels = labels
		if len(dep.Spec.Template.Spec.Containers) == 0 {
			dep.Spec.Template.Spec.Containers = []corev1.Container{{Name: "web"}}
		}
		c := &dep.Spec.Template.Spec.Containers[0]
		c.Image = site.Spec.Image
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: site.Spec.Port, Protocol: corev1.ProtocolTCP}}
		return controllerutil.SetControllerReference(&site, dep, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("deployment: %w", err)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: site.Name, Namespace: site.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, svc, func() error {
		svc.Spec.Selector = labels
		svc.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: site.Spec.Port, Protocol: corev1.ProtocolTCP,
			TargetPort: intstr.FromString("http")}}
		return controllerutil.SetControllerReference(&site, svc, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("service: %w", err)
	}

	want := int32(1)
	if site.Spec.Replicas != nil {
		want = *site.Spec.Replicas
	}
	cond := metav1.Condition{Type: webv1.ConditionAvailable, Status: metav1.ConditionFalse, Reason: "Progressing",
		Message: fmt.Sprintf("%d of %d replicas available", dep.Status.AvailableReplicas, want), ObservedGeneration: site.Generation}
	if dep.Status.AvailableReplicas >= want && dep.Status.ObservedGeneration >= dep.Generation {
		cond.Status, cond.Reason = metav1.ConditionTrue, "ReplicasAvailable"
	}
	before := site.Status
	before.Conditions = append([]metav1.Condition(nil), site.Status.Conditions...)
	site.Status.ObservedGeneration = site.Generation
	site.Status.AvailableReplicas = dep.Status.AvailableReplicas
	site.Status.URL = fmt.Sprintf("http://%s.%s.svc:%d", svc.Name, svc.Namespace, site.Spec.Port)
	meta.SetStatusCondition(&site.Status.Conditions, cond)
	if statusEqual(&before, &site.Status) {
		return ctrl.Result{}, nil
	}
	if err := r.Status().Update(ctx, &site); err != nil {
		return ctrl.Result{}, fmt.Errorf("status: %w", err)
	}
	return ctrl.Result{}, nil
}

func statusEqual(a, b *webv1.WebsiteStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.AvailableReplicas != b.AvailableReplicas || a.URL != b.URL || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}
