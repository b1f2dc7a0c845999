// Package csrapproving approves the CertificateSigningRequests of nodes, as Kubernetes'
// csrapproving controller does: a request for a node client certificate
// (signer kubernetes.io/kube-apiserver-client-kubelet, subject O=system:nodes,
// CN=system:node:NAME) is approved when its requester may create
// certificatesigningrequests/nodeclient (a bootstrap token joining a new node) or, for a
// renewal by the node itself (requester = CN), certificatesigningrequests/selfnodeclient.
// The question is asked with a SubjectAccessReview, so RBAC decides who may join.
//
// A node's serving certificate (signer kubernetes.io/kubelet-serving) is approved when the
// node asks for itself (requester = CN = system:node:NAME, in system:nodes) and names only
// its Node's name and the addresses its Node reports — the addresses the API server dials
// it on anyway. (Kubernetes leaves these to an administrator or an external approver;
// skiff's joined nodes need one to serve logs and exec.)
//
// Everything else stays pending for an administrator (kubectl certificate approve).
package csrapproving

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/certificates"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/client/informer"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

// Name is the controller's name in --controllers and in metrics.
const Name = "csrapproving"

// NodeGetter finds a Node by name.
type NodeGetter func(name string) (*core.Node, bool)

// Access answers whether the requester of csr may create certificatesigningrequests/sub.
type Access interface {
	Allowed(ctx context.Context, csr *certificates.CertificateSigningRequest, sub string) (bool, error)
}

// Controller approves node client certificate requests.
type Controller struct {
	csrs    *informer.Informer[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest]
	nodes   *informer.Informer[core.Node, *core.Node]
	client  *client.Typed[certificates.CertificateSigningRequest, *certificates.CertificateSigningRequest]
	access  Access
	queue   *controller.Queue
	workers int
	log     *slog.Logger
}

// New makes the controller; access nil asks the API server (SubjectAccessReview).
func New(cc *controller.Context, access Access) *Controller {
	if access == nil {
		access = &SubjectAccessReviewer{Client: cc.Client}
	}
	c := &Controller{
		csrs:    controller.CSRInformer(cc),
		nodes:   controller.NodeInformer(cc),
		client:  client.For[certificates.CertificateSigningRequest](cc.Client, controller.CSRs),
		access:  access,
		queue:   controller.NewQueue(cc, Name),
		workers: cc.WorkerCount(),
		log:     cc.Logger(Name),
	}
	c.csrs.AddEventHandler(informer.Handler[*certificates.CertificateSigningRequest]{
		AddFunc:    func(r *certificates.CertificateSigningRequest) { c.queue.Enqueue(r) },
		UpdateFunc: func(_, r *certificates.CertificateSigningRequest) { c.queue.Enqueue(r) },
	})
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !controller.WaitForSync(ctx, c.log, c.csrs.HasSynced, c.nodes.HasSynced) {
		return
	}
	c.queue.Run(ctx, c.workers, c.sync)
}

// recognizer is one kind of request this controller may approve.
type recognizer struct {
	subresource string
	matches     func(csr *certificates.CertificateSigningRequest) bool
	message     string
}

var recognizers = []recognizer{
	{"selfnodeclient", isSelfNodeClient, "Auto approving self kubelet client certificate after SubjectAccessReview."},
	{"nodeclient", isNodeClient, "Auto approving kubelet client certificate after SubjectAccessReview."},
}

func isNodeClient(csr *certificates.CertificateSigningRequest) bool {
	if csr.Spec.SignerName != certificates.KubeAPIServerClientKubeletSignerName {
		return false
	}
	x, err := certificates.ParseCSR(csr.Spec.Request)
	return err == nil && certificates.ValidateNodeClientCSR(x, csr.Spec.Usages) == nil
}

// isSelfNodeClient: a node renewing its own certificate (the requester is the subject).
func isSelfNodeClient(csr *certificates.CertificateSigningRequest) bool {
	if !isNodeClient(csr) {
		return false
	}
	x, _ := certificates.ParseCSR(csr.Spec.Request)
	return csr.Spec.Username == x.Subject.CommonName
}

func (c *Controller) sync(ctx context.Context, key string) error {
	cur, ok := c.csrs.Indexer().Get(key)
	if !ok || !certificates.IsPending(&cur.Status) || len(cur.Status.Certificate) > 0 {
		return nil
	}
	cond, err := Decide(ctx, c.access, c.nodes.Indexer().Get, cur)
	if err != nil || cond == nil {
		return err
	}
	csr := deepCopy(cur)
	csr.Status.Conditions = append(csr.Status.Conditions, *cond)
	if err := c.client.UpdateSubresource(ctx, "", csr.Name, "approval", csr, nil); err != nil {
		if client.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("approve %s: %w", csr.Name, err)
	}
	c.log.Info("approved", "csr", csr.Name, "requester", csr.Spec.Username)
	return nil
}

// Decide returns the Approved condition for csr if one of the recognizers matches and the
// requester is allowed, else nil (the request stays pending).
func Decide(ctx context.Context, access Access, nodes NodeGetter, csr *certificates.CertificateSigningRequest) (*certificates.CertificateSigningRequestCondition, error) {
	if msg, ok := selfNodeServing(csr, nodes); ok {
		now := meta.Now()
		return &certificates.CertificateSigningRequestCondition{Type: certificates.CertificateApproved,
			Status: core.ConditionTrue, Reason: "AutoApproved", Message: msg,
			LastUpdateTime: now, LastTransitionTime: now}, nil
	}
	for _, r := range recognizers {
		if !r.matches(csr) {
			continue
		}
		ok, err := access.Allowed(ctx, csr, r.subresource)
		if err != nil {
			return nil, fmt.Errorf("subject access review for %s: %w", csr.Name, err)
		}
		if ok {
			now := meta.Now()
			return &certificates.CertificateSigningRequestCondition{Type: certificates.CertificateApproved,
				Status: core.ConditionTrue, Reason: "AutoApproved", Message: r.message,
				LastUpdateTime: now, LastTransitionTime: now}, nil
		}
	}
	return nil, nil
}

func deepCopy(c *certificates.CertificateSigningRequest) *certificates.CertificateSigningRequest {
	out := *c
	out.Status.Conditions = slices.Clone(c.Status.Conditions)
	return &out
}

// selfNodeServing recognizes a node's request for its own serving certificate, for its own
// name and reported addresses only.
func selfNodeServing(csr *certificates.CertificateSigningRequest, nodes NodeGetter) (string, bool) {
	if csr.Spec.SignerName != certificates.KubeletServingSignerName || !slices.Contains(csr.Spec.Groups, certificates.NodesGroup) {
		return "", false
	}
	x, err := certificates.ParseCSR(csr.Spec.Request)
	if err != nil || certificates.ValidateNodeServingCSR(x, csr.Spec.Usages) != nil || csr.Spec.Username != x.Subject.CommonName {
		return "", false
	}
	name := strings.TrimPrefix(x.Subject.CommonName, certificates.NodeUserPrefix)
	n, ok := nodes(name)
	if !ok {
		return "", false
	}
	names, ips := []string{name}, []string{}
	for _, a := range n.Status.Addresses {
		switch a.Type {
		case core.NodeHostName, core.NodeInternalDNS, core.NodeExternalDNS:
			names = append(names, a.Address)
		case core.NodeInternalIP, core.NodeExternalIP:
			ips = append(ips, a.Address)
		}
	}
	for _, d := range x.DNSNames {
		if !slices.Contains(names, d) {
			return "", false
		}
	}
	for _, ip := range x.IPAddresses {
		if !slices.ContainsFunc(ips, func(s string) bool { p := net.ParseIP(s); return p != nil && p.Equal(ip) }) {
			return "", false
		}
	}
	return "Auto approving the node's serving certificate for its own name and reported addresses.", true
}
