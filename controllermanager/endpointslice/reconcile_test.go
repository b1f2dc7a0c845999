package endpointslice

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
)

func ep(ip string) discovery.Endpoint {
	return discovery.Endpoint{Addresses: []string{ip}, Conditions: discovery.EndpointConditions{Ready: controller.Ptr(true)}}
}

func eps(n int, base string) []discovery.Endpoint {
	out := make([]discovery.Endpoint, n)
	for i := range out {
		out[i] = ep(fmt.Sprintf("%s.%d.%d", base, i/250, i%250))
	}
	return out
}

var http = []discovery.EndpointPort{{Name: controller.Ptr("http"), Protocol: controller.Ptr(core.ProtocolTCP), Port: controller.Ptr(int32(8080))}}

func slice(name string, ports []discovery.EndpointPort, e ...discovery.Endpoint) *discovery.EndpointSlice {
	o := testOwner()
	s := newSlice(o, discovery.AddressTypeIPv4, ports, e)
	s.Name = name
	return s
}

func testOwner() *owner {
	return &owner{namespace: "default", serviceName: "web", managedBy: ManagedByController, placeholder: true,
		ref: meta.OwnerReference{APIVersion: "v1", Kind: "Service", Name: "web", UID: "u"}}
}

// describe renders a plan as "create N[...], update name[...], delete name".
func describe(p *plan) string {
	var parts []string
	ips := func(s *discovery.EndpointSlice) string {
		var a []string
		for _, e := range s.Endpoints {
			a = append(a, e.Addresses[0])
		}
		if len(a) > 3 {
			return fmt.Sprintf("%d endpoints", len(a))
		}
		return strings.Join(a, ",")
	}
	for _, s := range p.creates {
		parts = append(parts, "create["+ips(s)+"]")
	}
	for _, s := range p.updates {
		parts = append(parts, "update "+s.Name+"["+ips(s)+"]")
	}
	for _, s := range p.deletes {
		parts = append(parts, "delete "+s.Name)
	}
	return strings.Join(parts, " ")
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing []*discovery.EndpointSlice
		groups   []group
		want     string
	}{
		{"nothing yet", nil, []group{{addressType: discovery.AddressTypeIPv4, ports: http, endpoints: []discovery.Endpoint{ep("10.0.0.2"), ep("10.0.0.1")}}},
			"create[10.0.0.1,10.0.0.2]"},
		{"at most 100 per slice", nil, []group{{addressType: discovery.AddressTypeIPv4, ports: http, endpoints: eps(250, "10.1")}},
			"create[100 endpoints] create[100 endpoints] create[50 endpoints]"},
		{"endpoints stay in their slice, new ones fill it", []*discovery.EndpointSlice{slice("a", http, ep("10.0.0.1"), ep("10.0.0.2"))},
			[]group{{addressType: discovery.AddressTypeIPv4, ports: http, endpoints: []discovery.Endpoint{ep("10.0.0.2"), ep("10.0.0.3")}}},
			"update a[10.0.0.2,10.0.0.3]"},
		{"unchanged: no write", []*discovery.EndpointSlice{slice("a", http, ep("10.0.0.1"))},
			[]group{{addressType: discovery.AddressTypeIPv4, ports: http, endpoints: []discovery.Endpoint{ep("10.0.0.1")}}},
			""},
		{"ports changed: new group, old slice goes", []*discovery.EndpointSlice{slice("a", http, ep("10.0.0.1"))},
			[]group{{addressType: discovery.AddressTypeIPv4, endpoints: []discovery.Endpoint{ep("10.0.0.1")}}},
			"create[10.0.0.1] delete a"},
		{"emptied slice goes", []*discovery.EndpointSlice{slice("a", http, ep("10.0.0.1")), slice("b", http, ep("10.0.0.2"))},
			[]group{{addressType: discovery.AddressTypeIPv4, ports: http, endpoints: []discovery.Endpoint{ep("10.0.0.2")}}},
			"delete a"},
		{"no endpoints: a placeholder", nil, []group{{addressType: discovery.AddressTypeIPv4}}, "create[]"},
		{"placeholder kept", []*discovery.EndpointSlice{slice("p", nil)}, []group{{addressType: discovery.AddressTypeIPv4}}, ""},
		{"last endpoint gone: placeholder", []*discovery.EndpointSlice{slice("a", http, ep("10.0.0.1"))}, []group{{addressType: discovery.AddressTypeIPv4}},
			"create[] delete a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describe(makePlan(testOwner(), tc.existing, tc.groups)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFindPort(t *testing.T) {
	pod := &core.Pod{Spec: core.PodSpec{
		Containers: []core.Container{{Name: "app", Ports: []core.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: core.ProtocolTCP},
			{Name: "dns", ContainerPort: 5353, Protocol: core.ProtocolUDP},
		}}},
		InitContainers: []core.Container{{Name: "sidecar", RestartPolicy: controller.Ptr(core.ContainerRestartPolicyAlways),
			Ports: []core.ContainerPort{{Name: "metrics", ContainerPort: 9090, Protocol: core.ProtocolTCP}}}},
	}}
	for _, tc := range []struct {
		target   intstr.IntOrString
		protocol core.Protocol
		want     int32
		err      bool
	}{
		{intstr.FromInt(9000), core.ProtocolTCP, 9000, false},
		{intstr.FromString("http"), core.ProtocolTCP, 8080, false},
		{intstr.FromString("dns"), core.ProtocolUDP, 5353, false},
		{intstr.FromString("dns"), core.ProtocolTCP, 0, true}, // the protocol must match
		{intstr.FromString("metrics"), core.ProtocolTCP, 9090, false},
		{intstr.FromString("nope"), core.ProtocolTCP, 0, true},
	} {
		got, err := findPort(pod, &core.ServicePort{Port: 80, TargetPort: tc.target, Protocol: tc.protocol})
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("%v/%s: got %d, %v", tc.target, tc.protocol, got, err)
		}
	}
}

func TestEndpointConditions(t *testing.T) {
	ready := core.PodStatus{Conditions: []core.PodCondition{{Type: core.PodReady, Status: core.ConditionTrue}}}
	now := meta.Now()
	for _, tc := range []struct {
		name           string
		pod            core.Pod
		publishUnready bool
		want           string
	}{
		{"ready", core.Pod{Status: ready}, false, "ready=true serving=true terminating=false"},
		{"not ready", core.Pod{}, false, "ready=false serving=false terminating=false"},
		{"terminating but still serving", core.Pod{ObjectMeta: meta.ObjectMeta{DeletionTimestamp: &now}, Status: ready}, false, "ready=false serving=true terminating=true"},
		{"publishNotReadyAddresses", core.Pod{}, true, "ready=true serving=true terminating=false"},
		{"publishNotReadyAddresses, terminating", core.Pod{ObjectMeta: meta.ObjectMeta{DeletionTimestamp: &now}}, true, "ready=true serving=true terminating=true"},
	} {
		svc := &core.Service{Spec: core.ServiceSpec{PublishNotReadyAddresses: tc.publishUnready}}
		c := endpointConditions(svc, &tc.pod)
		got := fmt.Sprintf("ready=%v serving=%v terminating=%v", *c.Ready, *c.Serving, *c.Terminating)
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}
