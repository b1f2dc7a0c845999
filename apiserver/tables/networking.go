package tables

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
)

// Ingress and IngressClass columns, as Kubernetes' printers define them (the server prints
// wide, so ADDRESS is never clipped).
var ingressPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
	column("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
	column("Address", "string", "Address is a list containing ingress points for the load-balancer"),
	column("Ports", "string", "Ports of TLS configurations that open"),
	ageColumn,
}, func(ing *networking.Ingress, now time.Time) meta.TableRow {
	class := "<none>"
	if ing.Spec.IngressClassName != nil {
		class = *ing.Spec.IngressClassName
	}
	var addrs []string
	for _, in := range ing.Status.LoadBalancer.Ingress {
		a := in.IP
		if a == "" {
			a = in.Hostname
		}
		if a != "" && !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	slices.Sort(addrs)
	ports := "80"
	if len(ing.Spec.TLS) > 0 {
		ports = "80, 443"
	}
	return meta.TableRow{Cells: []any{ing.Name, class, ingressHosts(ing.Spec.Rules), strings.Join(addrs, ","), ports, age(ing.CreationTimestamp, now)}}
})

// ingressHosts lists up to three rule hosts, "*" when no rule names one.
func ingressHosts(rules []networking.IngressRule) string {
	const max = 3
	var list []string
	more := false
	for _, r := range rules {
		if len(list) == max {
			more = true
		}
		if !more && r.Host != "" {
			list = append(list, r.Host)
		}
	}
	if len(list) == 0 {
		return "*"
	}
	if more {
		return fmt.Sprintf("%s + %d more...", strings.Join(list, ","), len(rules)-max)
	}
	return strings.Join(list, ",")
}

var ingressClassPrinter = printer([]meta.TableColumnDefinition{
	nameColumn,
	column("Controller", "string", "Controller that is responsible for handling this class"),
	column("Parameters", "string", "A reference to a resource with additional parameters"),
	ageColumn,
}, func(c *networking.IngressClass, now time.Time) meta.TableRow {
	params := "<none>"
	if p := c.Spec.Parameters; p != nil {
		params = p.Kind
		if p.APIGroup != nil {
			params += "." + *p.APIGroup
		}
		params += "/" + p.Name
	}
	return meta.TableRow{Cells: []any{c.Name, c.Spec.Controller, params, age(c.CreationTimestamp, now)}}
})
