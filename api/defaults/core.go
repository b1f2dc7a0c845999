package defaults

import (
	"net/netip"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
)

// Service defaults a service's type, affinity, ports and traffic policies, and normalizes
// clusterIP/clusterIPs and the IP family fields the way a single-stack IPv4 (or IPv6, if the
// clusterIP says so) cluster reports them.
func Service(svc *core.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = core.ServiceAffinityNone
	}
	switch spec.SessionAffinity {
	case core.ServiceAffinityNone:
		spec.SessionAffinityConfig = nil
	case core.ServiceAffinityClientIP:
		c := spec.SessionAffinityConfig
		if c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &core.SessionAffinityConfig{
				ClientIP: &core.ClientIPConfig{TimeoutSeconds: ptr(core.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = core.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = core.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt(int(p.Port))
		}
	}
	externallyAccessible := spec.Type == core.ServiceTypeLoadBalancer || spec.Type == core.ServiceTypeNodePort ||
		(spec.Type == core.ServiceTypeClusterIP && len(spec.ExternalIPs) > 0)
	if externallyAccessible && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = core.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && spec.Type != core.ServiceTypeExternalName {
		spec.InternalTrafficPolicy = ptr(core.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == core.ServiceTypeLoadBalancer {
		if spec.AllocateLoadBalancerNodePorts == nil {
			spec.AllocateLoadBalancerNodePorts = ptr(true)
		}
		for i := range svc.Status.LoadBalancer.Ingress {
			ing := &svc.Status.LoadBalancer.Ingress[i]
			if ing.IP != "" && ing.IPMode == nil {
				ing.IPMode = ptr(core.LoadBalancerIPModeVIP)
			}
		}
	}
	serviceIPFamilies(spec)
}

// serviceIPFamilies keeps clusterIP and clusterIPs[0] in step and fills ipFamilyPolicy and
// ipFamilies (Kubernetes does this in its service registry on create). ExternalName services
// have neither.
func serviceIPFamilies(spec *core.ServiceSpec) {
	if spec.Type == core.ServiceTypeExternalName {
		return
	}
	if spec.ClusterIP != "" && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{spec.ClusterIP}
	}
	if spec.ClusterIP == "" && len(spec.ClusterIPs) > 0 {
		spec.ClusterIP = spec.ClusterIPs[0]
	}
	headless := spec.ClusterIP == core.ClusterIPNone
	if spec.IPFamilyPolicy == nil {
		if headless && len(spec.Selector) == 0 {
			spec.IPFamilyPolicy = ptr(core.IPFamilyPolicyRequireDualStack)
		} else {
			spec.IPFamilyPolicy = ptr(core.IPFamilyPolicySingleStack)
		}
	}
	if len(spec.IPFamilies) == 0 {
		for _, ip := range spec.ClusterIPs {
			if addr, err := netip.ParseAddr(ip); err == nil {
				if addr.Is4() {
					spec.IPFamilies = append(spec.IPFamilies, core.IPv4Protocol)
				} else {
					spec.IPFamilies = append(spec.IPFamilies, core.IPv6Protocol)
				}
			}
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = []core.IPFamily{core.IPv4Protocol}
		}
	}
}

// Endpoints defaults every port's protocol to TCP.
func Endpoints(ep *core.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if ep.Subsets[i].Ports[j].Protocol == "" {
				ep.Subsets[i].Ports[j].Protocol = core.ProtocolTCP
			}
		}
	}
}

// Secret defaults the type to Opaque and folds stringData into data (stringData wins), then
// clears it: stringData is write-only and is never stored or returned.
func Secret(s *core.Secret) {
	if s.Type == "" {
		s.Type = core.SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// Namespace labels a namespace with its own name (kubernetes.io/metadata.name), defaults the
// phase to Active, and gives a namespace being created the "kubernetes" finalizer, which the
// namespace controller removes once the namespace's contents are gone. The finalizer is only
// added to a namespace that has not been stored yet (no creationTimestamp): an update that
// drops it, like the controller's /finalize, must keep it dropped.
func Namespace(ns *core.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[core.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = core.NamespaceActive
	}
	if ns.CreationTimestamp.IsZero() && ns.DeletionTimestamp == nil && len(ns.Spec.Finalizers) == 0 {
		ns.Spec.Finalizers = []core.FinalizerName{core.FinalizerKubernetes}
	}
}

// Node defaults allocatable to capacity when only capacity is reported, and keeps
// spec.podCIDR and spec.podCIDRs in step as Kubernetes' v1 conversion does (a client that
// sets one of them finds both set).
func Node(n *core.Node) {
	switch {
	case n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) == 0:
		n.Spec.PodCIDRs = []string{n.Spec.PodCIDR}
	case n.Spec.PodCIDR == "" && len(n.Spec.PodCIDRs) > 0:
		n.Spec.PodCIDR = n.Spec.PodCIDRs[0]
	}
	if n.Status.Allocatable == nil && n.Status.Capacity != nil {
		n.Status.Allocatable = make(core.ResourceList, len(n.Status.Capacity))
		for k, v := range n.Status.Capacity {
			n.Status.Allocatable[k] = v
		}
	}
}

// PersistentVolume defaults the phase to Pending, the reclaim policy to Retain and the
// volume mode to Filesystem.
func PersistentVolume(pv *core.PersistentVolume) {
	if pv.Status.Phase == "" {
		pv.Status.Phase = core.VolumePending
	}
	if pv.Spec.PersistentVolumeReclaimPolicy == "" {
		pv.Spec.PersistentVolumeReclaimPolicy = core.PersistentVolumeReclaimRetain
	}
	if pv.Spec.VolumeMode == nil {
		pv.Spec.VolumeMode = ptr(core.PersistentVolumeFilesystem)
	}
	if hp := pv.Spec.HostPath; hp != nil && hp.Type == nil {
		hp.Type = ptr(core.HostPathUnset)
	}
}

// PersistentVolumeClaim defaults the phase to Pending and the volume mode to Filesystem.
func PersistentVolumeClaim(pvc *core.PersistentVolumeClaim) {
	if pvc.Status.Phase == "" {
		pvc.Status.Phase = core.ClaimPending
	}
	claimSpec(&pvc.Spec)
}

func claimSpec(spec *core.PersistentVolumeClaimSpec) {
	if spec.VolumeMode == nil {
		spec.VolumeMode = ptr(core.PersistentVolumeFilesystem)
	}
}

// limitRangeItem fills a container limit's default from max and its default request from
// the default limit, then from min.
func limitRangeItem(item *core.LimitRangeItem) {
	if item.Type != core.LimitTypeContainer {
		return
	}
	if item.Default == nil {
		item.Default = core.ResourceList{}
	}
	if item.DefaultRequest == nil {
		item.DefaultRequest = core.ResourceList{}
	}
	for k, v := range item.Max {
		if _, ok := item.Default[k]; !ok {
			item.Default[k] = v
		}
	}
	for k, v := range item.Default {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v
		}
	}
	for k, v := range item.Min {
		if _, ok := item.DefaultRequest[k]; !ok {
			item.DefaultRequest[k] = v
		}
	}
}
