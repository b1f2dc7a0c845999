package tables

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/node"
	"github.com/skiff-sh/skiff/api/policy"
	"github.com/skiff-sh/skiff/api/scheduling"
)

var leasePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."),
	ageColumn,
}, func(l *coordination.Lease, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{l.Name, derefOr(l.Spec.HolderIdentity, ""), age(l.CreationTimestamp, now)}}
})

var endpointSlicePrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice."),
	column("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice."),
	column("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
	ageColumn,
}, func(s *discovery.EndpointSlice, now time.Time) meta.TableRow {
	// PORTS and ENDPOINTS list up to three, then "+ N more...", and "<unset>" for none.
	var ports []string
	for _, p := range s.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addresses []string
	for _, e := range s.Endpoints {
		addresses = append(addresses, e.Addresses...)
	}
	return meta.TableRow{Cells: []any{s.Name, string(s.AddressType), firstThree(ports), firstThree(addresses), age(s.CreationTimestamp, now)}}
})

func firstThree(list []string) string {
	const max = 3
	switch {
	case len(list) == 0:
		return "<unset>"
	case len(list) > max:
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ","), len(list)-max)
	}
	return strings.Join(list, ",")
}

var priorityClassPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Value", "integer", "value represents the integer value of this priority class."),
	column("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class."),
	ageColumn,
	column("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods with lower priority."),
}, func(pc *scheduling.PriorityClass, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{pc.Name, int64(pc.Value), pc.GlobalDefault, age(pc.CreationTimestamp, now), derefOr(pc.PreemptionPolicy, "")}}
})

var runtimeClassPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Handler", "string", "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class."),
	ageColumn,
}, func(rc *node.RuntimeClass, now time.Time) meta.TableRow {
	return meta.TableRow{Cells: []any{rc.Name, rc.Handler, age(rc.CreationTimestamp, now)}}
})

var podDisruptionBudgetPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Min Available", "string", "The minimum number of pods that must be available."),
	column("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
	column("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
	ageColumn,
}, func(pdb *policy.PodDisruptionBudget, now time.Time) meta.TableRow {
	minAvailable, maxUnavailable := "N/A", "N/A"
	if pdb.Spec.MinAvailable != nil {
		minAvailable = pdb.Spec.MinAvailable.String()
	}
	if pdb.Spec.MaxUnavailable != nil {
		maxUnavailable = pdb.Spec.MaxUnavailable.String()
	}
	return meta.TableRow{Cells: []any{pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), age(pdb.CreationTimestamp, now)}}
})
