// Command operator is an example operator written with controller-runtime, run against
// skiff: it reconciles example.skiff.sh/v1 Websites into a Deployment and a Service, and
// serves a defaulting and a validating admission webhook for them.
//
//	operator --kubeconfig ~/.skiff/kubeconfig --webhook-cert-dir DIR [--webhook-port 9443]
//
// DIR holds tls.crt and tls.key, a serving certificate the API server trusts through the
// webhook configurations' caBundle (config/webhook/webhooks.yaml).
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	webv1 "github.com/skiff-sh/skiff/examples/operator/api/v1"
	"github.com/skiff-sh/skiff/examples/operator/internal/controller"
	websitewebhook "github.com/skiff-sh/skiff/examples/operator/internal/webhook"
)

func main() {
	var o options
	flag.StringVar(&o.webhookHost, "webhook-host", "127.0.0.1", "address the webhook server listens on")
	flag.IntVar(&o.webhookPort, "webhook-port", 9443, "port of the webhook server")
	flag.StringVar(&o.certDir, "webhook-cert-dir", "", "directory of the webhook server's tls.crt and tls.key")
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", "0", `address of the metrics endpoint ("0": off)`)
	zapOpts := zap.Options{Development: true}
	zapOpts.BindFlags(flag.CommandLine)
	// controller-runtime registers --kubeconfig; ctrl.GetConfig reads it (or $KUBECONFIG).
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		os.Exit(1)
	}
	mgr, err := newManager(cfg, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		os.Exit(1)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		fmt.Fprintln(os.Stderr, "operator:", err)
		os.Exit(1)
	}
}

type options struct {
	webhookHost string
	webhookPort int
	certDir     string
	metricsAddr string
}

// newManager is the operator: a manager with the Website controller and webhooks.
// The tests start the same manager against a skifftest cluster.
func newManager(cfg *rest.Config, o options) (ctrl.Manager, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := webv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress: "0",
		WebhookServer:          webhook.NewServer(webhook.Options{Host: o.webhookHost, Port: o.webhookPort, CertDir: o.certDir}),
	})
	if err != nil {
		return nil, err
	}
	if err := (&controller.WebsiteReconciler{Client: mgr.GetClient(), Scheme: scheme}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if err := websitewebhook.Setup(mgr); err != nil {
		return nil, err
	}
	return mgr, nil
}
