package tables

import (
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
)

// The networking.k8s.io printers of NetworkPolicy, ServiceCIDR and IPAddress, with
// Kubernetes' columns (pkg/printers/internalversion).

var networkPolicyPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies. The array of ingress rules is applied to any pods selected by this field. Multiple network policies can select the same set of pods. In this case, the ingress rules for each are combined additively. This field is NOT optional and follows standard label selector semantics. An empty podSelector matches all pods in this namespace."),
	ageColumn,
}, func(np *networking.NetworkPolicy, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{np.Name, labels.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}}
})

var serviceCIDRPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("CIDRs", "string", "CIDRs defines the IP blocks in CIDR notation (e.g. \"192.168.0.0/24\" or \"2001:db8::/64\") from which to assign service cluster IPs. Max of two CIDRs is allowed, one of each IP family. This field is immutable."),
	ageColumn,
}, func(sc *networking.ServiceCIDR, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{sc.Name, strings.Join(sc.Spec.CIDRs, ","), age(sc.CreationTimestamp, now)}}
})

// Kubernetes declares two columns for IPAddress (and prints a third cell, the age, that
// kubectl never shows): the two are kept.
var ipAddressPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("ParentRef", "string", "ParentRef references the resource that an IPAddress is attached to. An IPAddress must reference a parent object."),
}, func(ip *networking.IPAddress, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{ip.Name, parentRefString(ip.Spec.ParentRef)}}
})

// parentRefString is "resource.group/namespace/name" as kubectl shows a ParentRef
// ("services/default/web" for the core group).
func parentRefString(p *networking.ParentReference) string {
	if p == nil {
		return "<none>"
	}
	s := strings.ToLower(p.Resource)
	if p.Group != "" {
		s += "." + strings.ToLower(p.Group)
	}
	if p.Namespace != "" {
		s += "/" + p.Namespace
	}
	return s + "/" + p.Name
}
