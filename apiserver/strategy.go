package apiserver

import (
	"slices"

	"github.com/skiff-sh/skiff/api/apiextensions"
	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/batch"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/meta"
)

// This file holds the few places where a kind behaves differently from the generic rules
// (Kubernetes' per-kind "strategies").

// prepareCreateKind sets the initial status of kinds whose status starts non-empty.
func prepareCreateKind(obj meta.Object) {
	switch o := obj.(type) {
	case *apiextensions.CustomResourceDefinition:
		// The storage version is recorded from the start (status is reset on create); an
		// empty condition list, not null, is what kubectl wait --for=condition expects.
		o.Status.Conditions = []apiextensions.CustomResourceDefinitionCondition{}
		for _, v := range o.Spec.Versions {
			if v.Storage {
				o.Status.StoredVersions = []string{v.Name}
			}
		}
	case *core.Pod:
		o.Status.Phase = core.PodPending
		o.Status.QOSClass = core.ComputePodQOS(o)
	case *core.Namespace:
		o.Status.Phase = core.NamespaceActive
		// Every namespace carries its name as a label, so selectors can pick namespaces by name.
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels["kubernetes.io/metadata.name"] = o.Name
	case *batch.Job:
		// The generated controller-uid selector needs the uid, which exists only now.
		defaults.JobSelector(o)
	case *core.PersistentVolumeClaim:
		o.Status.Phase = core.ClaimPending
	case *core.PersistentVolume:
		o.Status.Phase = core.VolumePending
	}
}

// gracePeriod is how long a deleted object lingers for its owner to clean up. Only pods that
// are on a node and not finished have one: the node agent stops them and confirms.
func gracePeriod(obj meta.Object, opts *meta.DeleteOptions) int64 {
	p, ok := obj.(*core.Pod)
	if !ok {
		return 0
	}
	if p.Spec.NodeName == "" || p.Status.Phase == core.PodSucceeded || p.Status.Phase == core.PodFailed {
		return 0
	}
	if opts.GracePeriodSeconds != nil {
		if *opts.GracePeriodSeconds < 0 {
			return 0
		}
		return *opts.GracePeriodSeconds
	}
	if p.Spec.TerminationGracePeriodSeconds != nil {
		return *p.Spec.TerminationGracePeriodSeconds
	}
	return 30
}

// holdsOwnDeletion reports whether a deleted object must stay even without finalizers: a
// namespace until its spec finalizers are done (the namespace controller empties it first), a
// pod with a grace period left until its node agent confirms with a grace period of 0.
func holdsOwnDeletion(obj meta.Object, grace int64) bool {
	switch o := obj.(type) {
	case *core.Namespace:
		return len(o.Spec.Finalizers) > 0
	case *core.Pod:
		return grace > 0
	}
	return false
}

// markTerminating records in status that deletion started (namespaces show Terminating).
func markTerminating(obj meta.Object) {
	if ns, ok := obj.(*core.Namespace); ok {
		ns.Status.Phase = core.NamespaceTerminating
	}
}

// prepareUpdateKind carries over what the server allocated and a client may omit on update
// (a Service's cluster IPs and node ports), as Kubernetes does before validating.
func prepareUpdateKind(n, cur meta.Object) {
	if crd, ok := n.(*apiextensions.CustomResourceDefinition); ok {
		// A new storage version joins the versions objects may be stored in.
		for _, v := range crd.Spec.Versions {
			if v.Storage && !slices.Contains(crd.Status.StoredVersions, v.Name) {
				crd.Status.StoredVersions = append(slices.Clone(crd.Status.StoredVersions), v.Name)
			}
		}
		return
	}
	ns, ok := n.(*core.Service)
	if !ok {
		return
	}
	old := cur.(*core.Service)
	if old.Spec.Type != core.ServiceTypeExternalName && ns.Spec.Type == core.ServiceTypeExternalName {
		// An ExternalName Service has no IPs: those it kept unchanged from its old type are
		// dropped (and released after the write), as Kubernetes' dropTypeDependentFields does;
		// IPs the client changed are left for validation to refuse.
		if ns.Spec.ClusterIP == old.Spec.ClusterIP && slices.Equal(ns.Spec.ClusterIPs, old.Spec.ClusterIPs) {
			ns.Spec.ClusterIP, ns.Spec.ClusterIPs = "", nil
		}
		if slices.Equal(ns.Spec.IPFamilies, old.Spec.IPFamilies) {
			ns.Spec.IPFamilies = nil
		}
		if ptrEqual(ns.Spec.IPFamilyPolicy, old.Spec.IPFamilyPolicy) {
			ns.Spec.IPFamilyPolicy = nil
		}
	}
	if ns.Spec.ClusterIP == "" && ns.Spec.Type != core.ServiceTypeExternalName && old.Spec.Type != core.ServiceTypeExternalName {
		ns.Spec.ClusterIP = old.Spec.ClusterIP
		ns.Spec.ClusterIPs = old.Spec.ClusterIPs
	}
	if !wantsNodePorts(ns) && wantsNodePorts(old) {
		// Fields that only make sense for the old type are dropped with it, as Kubernetes
		// does, so `type: ClusterIP` alone is a valid change.
		for i := range ns.Spec.Ports {
			for _, op := range old.Spec.Ports {
				if op.NodePort == ns.Spec.Ports[i].NodePort {
					ns.Spec.Ports[i].NodePort = 0
				}
			}
		}
		if ns.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
			ns.Spec.ExternalTrafficPolicy = ""
		}
		if ns.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
			ns.Spec.HealthCheckNodePort = 0
		}
		if ns.Spec.Type != core.ServiceTypeLoadBalancer {
			ns.Spec.AllocateLoadBalancerNodePorts = nil
		}
	}
	if ns.Spec.Type == core.ServiceTypeNodePort || ns.Spec.Type == core.ServiceTypeLoadBalancer {
		for i := range ns.Spec.Ports {
			if ns.Spec.Ports[i].NodePort != 0 {
				continue
			}
			for _, op := range old.Spec.Ports {
				if op.Port == ns.Spec.Ports[i].Port && op.Protocol == ns.Spec.Ports[i].Protocol {
					ns.Spec.Ports[i].NodePort = op.NodePort
				}
			}
		}
	}
}

// ptrEqual reports whether two optional values are both unset or equal.
func ptrEqual[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// keepStatusWriteMetadata takes the labels, annotations, finalizers and owner references of
// a status write, as Kubernetes does (its status strategies reset only the spec): a
// controller may label what it reports on in the same write. The exceptions are
// Kubernetes': a Deployment's labels and a Pod's owners are not changed through status.
func keepStatusWriteMetadata(n, in meta.Object) {
	nm, im := n.GetObjectMeta(), in.GetObjectMeta()
	switch n.(type) {
	case *apps.Deployment:
	default:
		nm.Labels = im.Labels
	}
	switch n.(type) {
	case *core.Pod:
	default:
		nm.OwnerReferences = im.OwnerReferences
	}
	nm.Annotations, nm.Finalizers = im.Annotations, im.Finalizers
}
