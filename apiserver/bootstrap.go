package apiserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/skiff-sh/skiff/apiserver/admission/priority"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/storage"
)

// SystemNamespaces exist from the start, as in Kubernetes.
var SystemNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// bootstrap creates what a cluster always has; it is idempotent across restarts.
func (s *Server) bootstrap(ctx context.Context) error {
	k, _ := s.reg.Lookup("", "v1", "namespaces")
	for _, name := range SystemNamespaces {
		ns := &core.Namespace{TypeMeta: meta.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}}}
		defaults.Object(ns)
		ns.UID, ns.CreationTimestamp = uuid.NewString(), meta.Now()
		ns.Status.Phase = core.NamespaceActive
		err := s.store.Create(ctx, k.Key("", name), ns)
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("create namespace %s: %w", name, err)
		}
	}
	if err := s.bootstrapServiceCIDR(ctx); err != nil { // bootstrap_servicecidr.go
		return err
	}
	if err := s.bootstrapKubernetesService(ctx); err != nil {
		return err
	}
	if err := s.bootstrapRBAC(ctx); err != nil { // rbacbootstrap.go
		return err
	}
	if err := s.bootstrapClusterInfo(ctx); err != nil {
		return err
	}
	if err := s.bootstrapExtensionAuth(ctx); err != nil { // aggregator.go
		return err
	}
	if err := s.bootstrapFlowControl(ctx); err != nil { // priorityfairness.go
		return err
	}
	if err := s.bootstrapStorageClass(ctx); err != nil { // bootstrap_storage.go
		return err
	}
	if err := s.bootstrapIngressClass(ctx); err != nil {
		return err
	}
	pcKind, _ := s.reg.Lookup("scheduling.k8s.io", "v1", "priorityclasses")
	for _, c := range priority.SystemClasses {
		pc := &scheduling.PriorityClass{TypeMeta: meta.TypeMeta{Kind: "PriorityClass", APIVersion: "scheduling.k8s.io/v1"},
			ObjectMeta: meta.ObjectMeta{Name: c.Name}, Value: c.Value, Description: c.Description}
		defaults.Object(pc)
		pc.UID, pc.CreationTimestamp = uuid.NewString(), meta.Now()
		err := s.store.Create(ctx, pcKind.Key("", c.Name), pc)
		if err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
			return fmt.Errorf("create priority class %s: %w", c.Name, err)
		}
	}
	return nil
}

// bootstrapIngressClass creates skiff's IngressClass, marked as the default, unless an
// IngressClass of that name exists (one the administrator changed is left as it is; one
// deleted comes back at the next start, like the system PriorityClasses).
func (s *Server) bootstrapIngressClass(ctx context.Context) error {
	k, _ := s.reg.Lookup(networking.GroupName, "v1", "ingressclasses")
	ic := &networking.IngressClass{TypeMeta: meta.TypeMeta{Kind: "IngressClass", APIVersion: networking.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: networking.SkiffIngressClassName,
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "skiff"},
			Annotations: map[string]string{networking.AnnotationIsDefaultIngressClass: "true"}},
		Spec: networking.IngressClassSpec{Controller: networking.SkiffController}}
	defaults.Object(ic)
	ic.UID, ic.CreationTimestamp, ic.Generation = uuid.NewString(), meta.Now(), 1
	if err := s.store.Create(ctx, k.Key("", ic.Name), ic); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("create ingress class %s: %w", ic.Name, err)
	}
	return nil
}

// bootstrapKubernetesService creates the "kubernetes" Service in default, on the first
// address of the Service range, with Endpoints pointing at this API server, and releases
// allocations that no Service holds.
func (s *Server) bootstrapKubernetesService(ctx context.Context) error {
	svcKind, _ := s.reg.Lookup("", "v1", "services")
	ip := s.alloc.firstIP()
	host, port := s.cfg.endpointAddress()
	if err := s.alloc.claimOrOwn(ctx, ipKey(ip), kubernetesService); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("claim %s for the kubernetes service: %w", ip, err)
	}
	svc := &core.Service{TypeMeta: meta.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: "kubernetes", Namespace: "default",
			Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: core.ServiceSpec{ClusterIP: ip, ClusterIPs: []string{ip},
			Ports: []core.ServicePort{{Name: "https", Port: 443, Protocol: core.ProtocolTCP, TargetPort: intstr.FromInt(int(port))}}}}
	defaults.Object(svc)
	svc.UID, svc.CreationTimestamp = uuid.NewString(), meta.Now()
	if err := s.store.Create(ctx, svcKind.Key("default", "kubernetes"), svc); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
		return fmt.Errorf("create the kubernetes service: %w", err)
	}
	// Under the lease reconciler the servers' leases say who is alive (endpointreconciler.go):
	// a server starting must not drop the others from the list.
	subsets := []core.EndpointSubset{{Addresses: []core.EndpointAddress{{IP: host}},
		Ports: []core.EndpointPort{{Name: "https", Port: port, Protocol: core.ProtocolTCP}}}}
	if err := s.setKubernetesEndpoints(ctx, subsets, s.cfg.EndpointReconcilerType == EndpointReconcilerLease); err != nil {
		return fmt.Errorf("write the kubernetes endpoints: %w", err)
	}
	res, err := s.store.List(ctx, svcKind.Prefix(""), svcKind.New, storage.ListOptions{})
	if err != nil {
		return err
	}
	return s.alloc.repair(ctx, res.Items)
}
