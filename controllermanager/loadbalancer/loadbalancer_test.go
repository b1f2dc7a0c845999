package loadbalancer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
	"github.com/skiff-sh/skiff/controllermanager/loadbalancer"
)

func node(name, ip string, ready core.ConditionStatus) *core.Node {
	return &core.Node{TypeMeta: meta.TypeMeta{Kind: "Node", APIVersion: "v1"}, ObjectMeta: meta.ObjectMeta{Name: name},
		Status: core.NodeStatus{
			Addresses:  []core.NodeAddress{{Type: core.NodeInternalIP, Address: ip}, {Type: core.NodeHostName, Address: name}},
			Conditions: []core.NodeCondition{{Type: core.NodeReady, Status: ready}},
		}}
}

func service(name string, tweak func(*core.Service)) *core.Service {
	s := &core.Service{TypeMeta: meta.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name},
		Spec: core.ServiceSpec{Type: core.ServiceTypeLoadBalancer, Selector: map[string]string{"app": name},
			Ports: []core.ServicePort{{Port: 80}}}}
	if tweak != nil {
		tweak(s)
	}
	return s
}

func ingress(t *testing.T, e *testenv.Env, name string) string {
	s := testenv.Get[core.Service](t, e, controller.Services, "default", name)
	var ips []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		ips = append(ips, fmt.Sprintf("%s/%v", in.IP, *in.IPMode))
	}
	return strings.Join(ips, " ")
}

func TestIngressFollowsReadyNodes(t *testing.T) {
	e := testenv.New(t)
	e.Start(t, loadbalancer.New(e.CC))
	testenv.Create(t, e, controller.Nodes, node("a", "192.0.2.1", core.ConditionTrue))
	testenv.Create(t, e, controller.Nodes, node("b", "192.0.2.2", core.ConditionTrue))
	testenv.Create(t, e, controller.Nodes, node("c", "192.0.2.3", core.ConditionFalse))
	testenv.Create(t, e, controller.Services, service("web", nil))
	testenv.Create(t, e, controller.Services, service("other", func(s *core.Service) { s.Spec.LoadBalancerClass = controller.Ptr("example.com/lb") }))

	testenv.Eventually(t, "ingress of the ready nodes", func() (bool, string) {
		got := ingress(t, e, "web")
		return got == "192.0.2.1/VIP 192.0.2.2/VIP", got
	})
	// b stops being ready: it leaves the ingress.
	b := testenv.Get[core.Node](t, e, controller.Nodes, "", "b")
	b.Status.Conditions[0].Status = core.ConditionUnknown
	if _, err := client.For[core.Node](e.Client, controller.Nodes).UpdateStatus(e.Ctx, b); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "b dropped", func() (bool, string) {
		got := ingress(t, e, "web")
		return got == "192.0.2.1/VIP", got
	})
	// No longer a LoadBalancer: the ingress goes.
	if _, err := client.For[core.Service](e.Client, controller.Services).Patch(e.Ctx, "default", "web", client.MergePatchType,
		[]byte(`{"spec":{"type":"ClusterIP"}}`)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "ingress cleared", func() (bool, string) {
		got := ingress(t, e, "web")
		return got == "", got
	})
	if got := ingress(t, e, "other"); got != "" {
		t.Errorf("another class's service got %q", got)
	}
}
