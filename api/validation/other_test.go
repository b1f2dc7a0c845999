package validation

import (
	"errors"
	"testing"

	"github.com/skiff-sh/skiff/api/coordination"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/scheduling"
	"github.com/skiff-sh/skiff/api/validation/field"
)

func TestValidateLease(t *testing.T) {
	valid := func() *coordination.Lease {
		return &coordination.Lease{ObjectMeta: objectMeta("node-1", "kube-node-lease"), Spec: coordination.LeaseSpec{
			HolderIdentity: ptr("node-1"), LeaseDurationSeconds: ptr[int32](40), LeaseTransitions: ptr[int32](0),
		}}
	}
	runCreateCases(t, valid, true, []objectCase[coordination.Lease]{
		{name: "valid"},
		{name: "duration", mutate: func(l *coordination.Lease) { l.Spec.LeaseDurationSeconds = ptr[int32](0) }, want: []string{"spec.leaseDurationSeconds" + invalid}},
		{name: "transitions", mutate: func(l *coordination.Lease) { l.Spec.LeaseTransitions = ptr[int32](-1) }, want: []string{"spec.leaseTransitions" + invalid}},
		{name: "strategy", mutate: func(l *coordination.Lease) { l.Spec.Strategy = ptr[coordination.CoordinatedLeaseStrategy]("Newest") }, want: []string{"spec.strategy" + notSupported}},
	})
	runUpdateCases(t, valid, true, []updateCase[coordination.Lease]{
		{name: "renew", mutate: func(l *coordination.Lease) { l.Spec.RenewTime = &meta.MicroTime{} }},
		{name: "rename", mutate: func(l *coordination.Lease) { l.Name = "node-2" }, want: []string{"metadata.name" + invalid}},
	})
}

func validEndpointSlice() *discovery.EndpointSlice {
	return &discovery.EndpointSlice{
		ObjectMeta:  objectMeta("web-abc12", "default"),
		AddressType: discovery.AddressTypeIPv4,
		Endpoints:   []discovery.Endpoint{{Addresses: []string{"10.244.1.5"}, NodeName: ptr("node-1")}},
		Ports:       []discovery.EndpointPort{{Name: ptr("http"), Port: ptr[int32](80), Protocol: ptr(core.ProtocolTCP)}},
	}
}

func TestValidateEndpointSlice(t *testing.T) {
	runCreateCases(t, validEndpointSlice, true, []objectCase[discovery.EndpointSlice]{
		{name: "valid"},
		{name: "fqdn", mutate: func(e *discovery.EndpointSlice) {
			e.AddressType, e.Endpoints[0].Addresses = discovery.AddressTypeFQDN, []string{"db.example.com"}
		}},
		{name: "address type required", mutate: func(e *discovery.EndpointSlice) { e.AddressType = "" }, want: []string{"addressType" + required}},
		{name: "address type", mutate: func(e *discovery.EndpointSlice) { e.AddressType = "IPX" }, want: []string{"addressType" + notSupported}},
		{name: "address for the type", mutate: func(e *discovery.EndpointSlice) { e.AddressType = discovery.AddressTypeIPv6 }, want: []string{"endpoints[0].addresses[0]" + invalid}},
		{name: "no addresses", mutate: func(e *discovery.EndpointSlice) { e.Endpoints[0].Addresses = nil }, want: []string{"endpoints[0].addresses" + required}},
		{name: "too many endpoints", mutate: func(e *discovery.EndpointSlice) {
			e.Endpoints = make([]discovery.Endpoint, maxEndpointsPerSlice+1)
		}, want: []string{"endpoints" + tooMany}},
		{name: "port protocol required", mutate: func(e *discovery.EndpointSlice) { e.Ports[0].Protocol = nil }, want: []string{"ports[0].protocol" + required}},
		{name: "duplicate port names", mutate: func(e *discovery.EndpointSlice) { e.Ports = append(e.Ports, e.Ports[0]) }, want: []string{"ports[1].name" + duplicate}},
		{name: "node name", mutate: func(e *discovery.EndpointSlice) { e.Endpoints[0].NodeName = ptr("Node 1") }, want: []string{"endpoints[0].nodeName" + invalid}},
	})
	runUpdateCases(t, validEndpointSlice, true, []updateCase[discovery.EndpointSlice]{
		{name: "endpoints change", mutate: func(e *discovery.EndpointSlice) { e.Endpoints[0].Addresses = []string{"10.244.2.7"} }},
		{name: "address type fixed", mutate: func(e *discovery.EndpointSlice) {
			e.AddressType, e.Endpoints[0].Addresses = discovery.AddressTypeIPv6, []string{"fd00::5"}
		}, want: []string{"addressType" + invalid}},
	})
}

func TestValidatePriorityClass(t *testing.T) {
	valid := func() *scheduling.PriorityClass {
		return &scheduling.PriorityClass{ObjectMeta: objectMeta("high", ""), Value: 1000000}
	}
	runCreateCases(t, valid, false, []objectCase[scheduling.PriorityClass]{
		{name: "valid"},
		{name: "highest user value", mutate: func(p *scheduling.PriorityClass) { p.Value = HighestUserDefinablePriority }},
		{name: "system class", mutate: func(p *scheduling.PriorityClass) { p.Name, p.Value = "system-node-critical", 2000001000 }},
		{name: "too high", mutate: func(p *scheduling.PriorityClass) { p.Value = HighestUserDefinablePriority + 1 }, want: []string{"value" + forbidden}},
		{name: "reserved prefix", mutate: func(p *scheduling.PriorityClass) { p.Name = "system-mine" }, want: []string{"metadata.name" + forbidden}},
		{name: "preemption policy", mutate: func(p *scheduling.PriorityClass) { p.PreemptionPolicy = ptr[core.PreemptionPolicy]("Always") }, want: []string{"preemptionPolicy" + notSupported}},
		{name: "cluster-scoped", mutate: func(p *scheduling.PriorityClass) { p.Namespace = "default" }, want: []string{"metadata.namespace" + forbidden}},
	})
	runUpdateCases(t, valid, false, []updateCase[scheduling.PriorityClass]{
		{name: "description", mutate: func(p *scheduling.PriorityClass) { p.Description = "for important things" }},
		{name: "value fixed", mutate: func(p *scheduling.PriorityClass) { p.Value = 5 }, want: []string{"value" + forbidden}},
	})
}

func TestValidatePodTemplate(t *testing.T) {
	valid := func() *core.PodTemplate {
		return &core.PodTemplate{ObjectMeta: objectMeta("tmpl", "default"), Template: podTemplate()}
	}
	runCreateCases(t, valid, true, []objectCase[core.PodTemplate]{
		{name: "valid"},
		{name: "template spec", mutate: func(p *core.PodTemplate) { p.Template.Spec.Containers[0].Name = "" }, want: []string{"template.spec.containers[0].name" + required}},
	})
}

// Kinds without rules of their own get the metadata checks, with the caller's scope.
func TestValidateOtherKinds(t *testing.T) {
	type widget struct {
		meta.TypeMeta
		meta.ObjectMeta
	}
	w := &widget{ObjectMeta: meta.ObjectMeta{Name: "Bad_Name"}}
	wantErrs(t, Validate(w, true), "metadata.name"+invalid, "metadata.namespace"+required)
	w = &widget{ObjectMeta: meta.ObjectMeta{Name: "ok", Namespace: "default"}}
	wantErrs(t, Validate(w, false), "metadata.namespace"+forbidden)
	old := &widget{ObjectMeta: meta.ObjectMeta{Name: "ok", UID: "1"}}
	w = &widget{ObjectMeta: meta.ObjectMeta{Name: "ok", UID: "2"}}
	wantErrs(t, ValidateUpdate(w, old, false), "metadata.uid"+invalid)
}

func TestValidateUpdateKindMismatch(t *testing.T) {
	errs := ValidateUpdate(validPod(), validService(), true)
	wantErrs(t, errs, "<nil>"+" "+string(field.ErrorTypeInternal))
	var fe *field.Error
	if !errors.As(errs.ToAggregate(), &fe) {
		t.Fatal("want a *field.Error")
	}
}
