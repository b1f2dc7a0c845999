package apiserver

import (
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
	ns, ok := n.(*core.Service)
	if !ok {
		return
	}
	old := cur.(*core.Service)
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
