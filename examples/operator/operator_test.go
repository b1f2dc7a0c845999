package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	webv1 "github.com/skiff-sh/skiff/examples/operator/api/v1"
	"github.com/skiff-sh/skiff/pki"
	"github.com/skiff-sh/skiff/skifftest"
)

// The operator as an envtest-style test: the controller-runtime manager of main.go runs in
// the test against a skifftest cluster, which (unlike envtest's bare API server) runs the
// Deployment's pods on simulated nodes and garbage-collects what a deleted Website owned.
// Its webhook server is on the host; the API server calls it by URL.
func TestOperatorAgainstSkifftest(t *testing.T) {
	ctrl.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	c := skifftest.Start(t, skifftest.Options{CRDs: []string{"config/crd"}})
	certDir := webhookCert(t, c.PKI)
	port := freePort(t)
	mgr, err := newManager(c.RESTConfig(), options{webhookHost: "127.0.0.1", webhookPort: port, certDir: certDir, metricsAddr: "0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	cl := mgr.GetClient()
	registerWebhooks(t, cl, "https://127.0.0.1:"+strconv.Itoa(port), c.CAData)

	// Defaulted by the mutating webhook, reconciled into a Deployment and a Service.
	site := &webv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "blog", Namespace: "default"}, Spec: webv1.WebsiteSpec{Image: "nginx:1.27"}}
	eventually(t, 30*time.Second, "the Website created (webhook server up)", func() (bool, string) {
		err := cl.Create(ctx, site)
		return err == nil, errString(err)
	})
	if site.Spec.Replicas == nil || *site.Spec.Replicas != 1 || site.Spec.Port != 8080 {
		t.Errorf("defaulting webhook: replicas %v port %d, want 1 and 8080", site.Spec.Replicas, site.Spec.Port)
	}
	key := types.NamespacedName{Namespace: "default", Name: "blog"}
	var dep appsv1.Deployment
	var svc corev1.Service
	eventually(t, time.Minute, "the Deployment and Service owned by the Website", func() (bool, string) {
		if err := cl.Get(ctx, key, &dep); err != nil {
			return false, err.Error()
		}
		if err := cl.Get(ctx, key, &svc); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if ref := metav1.GetControllerOf(&dep); ref == nil || ref.Kind != "Website" || ref.UID != site.UID {
		t.Errorf("Deployment controller reference %+v, want the Website", ref)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != "nginx:1.27" {
		t.Errorf("Deployment image %q", got)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.ClusterIP == "" {
		t.Errorf("Service ports %+v clusterIP %q", svc.Spec.Ports, svc.Spec.ClusterIP)
	}
	// The pods run on a simulated node, the Deployment reports them, the status follows.
	eventually(t, time.Minute, "the Website Available", func() (bool, string) {
		var got webv1.Website
		if err := cl.Get(ctx, key, &got); err != nil {
			return false, err.Error()
		}
		cond := meta.FindStatusCondition(got.Status.Conditions, webv1.ConditionAvailable)
		if cond == nil {
			return false, "no condition"
		}
		return cond.Status == metav1.ConditionTrue && got.Status.AvailableReplicas == 1 && got.Status.ObservedGeneration == got.Generation,
			cond.Reason + ": " + cond.Message
	})

	// Refused by the validating webhook, with every field named.
	bad := &webv1.Website{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "default"}, Spec: webv1.WebsiteSpec{Port: 70000, Replicas: ptr(int32(50))}}
	err = cl.Create(ctx, bad)
	for _, want := range []string{`admission webhook "vwebsite.example.skiff.sh" denied the request`, "spec.image: Required value", "spec.port: Invalid value: 70000", "spec.replicas: Invalid value: 50"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("invalid Website: %v, want %q", err, want)
		}
	}

	// Deleting the Website garbage-collects what it owned.
	if err := cl.Delete(ctx, site); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the Deployment and Service garbage-collected", func() (bool, string) {
		errD, errS := cl.Get(ctx, key, &appsv1.Deployment{}), cl.Get(ctx, key, &corev1.Service{})
		return apierrors.IsNotFound(errD) && apierrors.IsNotFound(errS), "deployment: " + errString(errD) + "; service: " + errString(errS)
	})
}

// webhookCert issues the webhook server's certificate from the cluster CA (so the CA
// bundle is the cluster's) and writes it where controller-runtime looks.
func webhookCert(t *testing.T, d *pki.Dir) string {
	t.Helper()
	cert, key, err := d.CA.Issue(pki.CertRequest{CommonName: "website-webhook", IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}, Usage: pki.ServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// registerWebhooks points both webhook configurations at the operator's server by URL.
func registerWebhooks(t *testing.T, cl client.Client, base string, ca []byte) {
	t.Helper()
	none, fail := admissionv1.SideEffectClassNone, admissionv1.Fail
	rules := []admissionv1.RuleWithOperations{{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
		Rule:       admissionv1.Rule{APIGroups: []string{"example.skiff.sh"}, APIVersions: []string{"v1"}, Resources: []string{"websites"}},
	}}
	ctx := context.Background()
	mutating := &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "website-defaults"},
		Webhooks: []admissionv1.MutatingWebhook{{Name: "mwebsite.example.skiff.sh", Rules: rules, SideEffects: &none, FailurePolicy: &fail,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionv1.WebhookClientConfig{URL: ptr(base + "/mutate-example-skiff-sh-v1-website"), CABundle: ca}}}}
	validating := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "website-validation"},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "vwebsite.example.skiff.sh", Rules: rules, SideEffects: &none, FailurePolicy: &fail,
			AdmissionReviewVersions: []string{"v1"},
			ClientConfig:            admissionv1.WebhookClientConfig{URL: ptr(base + "/validate-example-skiff-sh-v1-website"), CABundle: ca}}}}
	if err := cl.Create(ctx, mutating); err != nil {
		t.Fatal(err)
	}
	if err := cl.Create(ctx, validating); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ptr[T any](v T) *T { return &v }

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
