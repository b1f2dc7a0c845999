// Package csrsigning issues the certificates of approved CertificateSigningRequests with
// the cluster CA, as kube-controller-manager's csrsigning controller does, for the built-in
// signers whose certificates skiff's programs trust:
//
//	kubernetes.io/kube-apiserver-client-kubelet  node client certificates
//	kubernetes.io/kube-apiserver-client          other client certificates of the API server
//	kubernetes.io/kubelet-serving                node agent serving certificates
//
// A request that does not fit its signer's rules (certificates.ValidateNode*CSR) gets a
// Failed condition instead. A certificate lasts Options.Duration (a year), or less when the
// request asks (spec.expirationSeconds, at least ten minutes).
package csrsigning

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/pki"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "csrsigning"

// Options configure the signer.
type Options struct {
	// CertFile and KeyFile are the CA that signs (--cluster-signing-cert-file and
	// --cluster-signing-key-file, the cluster CA DIR/pki/ca.crt and ca.key). Without them
	// the controller does not run.
	CertFile, KeyFile string
	// Duration is the longest validity of a certificate (--cluster-signing-duration,
	// default one year).
	Duration time.Duration
}

// minDuration is the shortest certificate a request may ask for (Kubernetes' limit).
const minDuration = 10 * time.Minute

// Controller signs approved requests.
type Controller struct {
	ca       *pki.CA
	duration time.Duration
	csrs     *informer.Informer[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest]
	client   *client.Typed[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest]
	queue    *controller.Queue
	workers  int
	log      *slog.Logger
}

// New loads the CA and makes the controller.
func New(cc *controller.Context, o Options) (*Controller, error) {
	if o.CertFile == "" || o.KeyFile == "" {
		return nil, fmt.Errorf("--cluster-signing-cert-file and --cluster-signing-key-file are required (or disable the controller with --controllers=*,-%s)", Name)
	}
	ca, err := pki.LoadCA(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("signing CA: %w", err)
	}
	return NewWithCA(cc, ca, o.Duration), nil
}

// NewWithCA makes the controller over a CA already loaded.
func NewWithCA(cc *controller.Context, ca *pki.CA, duration time.Duration) *Controller {
	if duration == 0 {
		duration = pki.CertValidity
	}
	c := &Controller{
		ca:       ca,
		duration: duration,
		csrs:     controller.CSRInformer(cc),
		client:   client.For[certificates.CertificateSigningRequest](cc.Client, controller.CSRs),
		queue:    controller.NewQueue(cc, Name),
		workers:  cc.WorkerCount(),
		log:      cc.Logger(Name),
	}
	c.csrs.AddEventHandler(informer.Handler[*certificates.CertificateSigningRequest]{
		AddFunc:    func(r *certificates.CertificateSigningRequest) { c.queue.Enqueue(r) },
		UpdateFunc: func(_, r *certificates.CertificateSigningRequest) { c.queue.Enqueue(r) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.csrs.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cur, ok := c.csrs.Indexer().Get(key)
	if !ok || !ready(cur) {
		return nil
	}
	csr := *cur
	csr.Status.Conditions = slices.Clone(cur.Status.Conditions)
	certPEM, err := Sign(c.ca, &csr, c.duration)
	if err != nil {
		now := meta.Now()
		csr.Status.Conditions = append(csr.Status.Conditions, certificates.CertificateSigningRequestCondition{
			Type: certificates.CertificateFailed, Status: core.ConditionTrue, Reason: "SignerValidationFailure",
			Message: err.Error(), LastUpdateTime: now, LastTransitionTime: now})
		c.log.Info("refused to sign", "csr", csr.Name, "err", err)
	} else {
		csr.Status.Certificate = certPEM
	}
	if _, err := c.client.UpdateStatus(ctx, &csr); err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("write certificate of %s: %w", csr.Name, err)
	}
	return nil
}

// ready: approved, not failed, not yet issued, and for one of the signers served here.
func ready(csr *certificates.CertificateSigningRequest) bool {
	return certificates.HasCondition(&csr.Status, certificates.CertificateApproved) &&
		!certificates.HasCondition(&csr.Status, certificates.CertificateDenied) &&
		!certificates.HasCondition(&csr.Status, certificates.CertificateFailed) &&
		len(csr.Status.Certificate) == 0 && Serves(csr.Spec.SignerName)
}

// Serves reports whether this controller signs for signer.
func Serves(signer string) bool {
	switch signer {
	case certificates.KubeAPIServerClientKubeletSignerName, certificates.KubeAPIServerClientSignerName, certificates.KubeletServingSignerName:
		return true
	}
	return false
}

// Sign checks csr against its signer's rules and returns the PEM certificate the CA issues
// for it, valid for the requested duration capped at max.
func Sign(ca *pki.CA, csr *certificates.CertificateSigningRequest, max time.Duration) ([]byte, error) {
	x, err := certificates.ParseCSR(csr.Spec.Request)
	if err != nil {
		return nil, err
	}
	usages := csr.Spec.Usages
	switch csr.Spec.SignerName {
	case certificates.KubeAPIServerClientKubeletSignerName:
		err = certificates.ValidateNodeClientCSR(x, usages)
	case certificates.KubeletServingSignerName:
		err = certificates.ValidateNodeServingCSR(x, usages)
	case certificates.KubeAPIServerClientSignerName:
		err = certificates.ValidateAPIServerClientCSR(x, usages)
	default:
		err = fmt.Errorf("signer %q is not served by %s", csr.Spec.SignerName, Name)
	}
	if err != nil {
		return nil, err
	}
	d := max
	if e := csr.Spec.ExpirationSeconds; e != nil {
		d = min(max, time.Duration(*e)*time.Second)
	}
	d = durationOrMin(d)
	var u pki.Usage
	if slices.Contains(usages, certificates.UsageClientAuth) {
		u |= pki.ClientAuth
	}
	if slices.Contains(usages, certificates.UsageServerAuth) {
		u |= pki.ServerAuth
	}
	der, err := ca.Sign(pki.CertRequest{CommonName: x.Subject.CommonName, Organization: x.Subject.Organization,
		DNSNames: x.DNSNames, IPs: x.IPAddresses, Usage: u, Validity: d}, x.PublicKey)
	if err != nil {
		return nil, err
	}
	return pki.EncodeCert(der), nil
}

func durationOrMin(d time.Duration) time.Duration {
	if d < minDuration {
		return minDuration
	}
	return d
}
