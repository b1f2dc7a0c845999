package endpointslice_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/endpointslice"
	"github.com/skiff-sh/skiff/controllermanager/garbagecollector"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

func pod(name, node string, labels map[string]string, tweak func(*core.Pod)) *core.Pod {
	p := &core.Pod{TypeMeta: meta.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
		Spec: core.PodSpec{NodeName: node, Containers: []core.Container{{Name: "c", Image: "img",
			Ports: []core.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}
	if tweak != nil {
		tweak(p)
	}
	return p
}

func service(name string, tweak func(*core.Service)) *core.Service {
	s := &core.Service{TypeMeta: meta.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: name, Labels: map[string]string{"team": "a"}},
		Spec: core.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []core.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromString("http")}}}}
	if tweak != nil {
		tweak(s)
	}
	return s
}

func start(t *testing.T, notReady ...string) *testenv.Env {
	e := testenv.New(t)
	e.Start(t, endpointslice.New(e.CC), endpointslice.NewEndpoints(e.CC), endpointslice.NewMirroring(e.CC), garbagecollector.New(e.CC))
	e.RunKubelet(t, &testenv.Kubelet{
		// The node agent never confirms deletions here: deleted pods stay terminating.
		Only:  func(p *core.Pod) bool { return p.DeletionTimestamp == nil },
		Ready: func(p *core.Pod) bool { return !slices.Contains(notReady, p.Name) },
	})
	return e
}

func slicesOf(t *testing.T, e *testenv.Env, svc string) []discovery.EndpointSlice {
	list, err := client.For[discovery.EndpointSlice](e.Client, controller.EndpointSlices).List(e.Ctx, "default",
		client.ListOptions{LabelSelector: endpointslice.LabelServiceName + "=" + svc})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// render is "name:ready/serving/terminating@port" per endpoint, sorted, over all slices.
func render(slices []discovery.EndpointSlice) string {
	var out []string
	for _, s := range slices {
		port := "-"
		if len(s.Ports) > 0 {
			port = fmt.Sprint(*s.Ports[0].Port)
		}
		for _, e := range s.Endpoints {
			b := func(p *bool) string {
				if p != nil && *p {
					return "t"
				}
				return "f"
			}
			out = append(out, fmt.Sprintf("%s:%s%s%s@%s", e.TargetRef.Name, b(e.Conditions.Ready), b(e.Conditions.Serving), b(e.Conditions.Terminating), port))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestSlicesAndEndpoints(t *testing.T) {
	e := start(t, "notready")
	labels := map[string]string{"app": "web"}
	for _, name := range []string{"ready", "notready", "going"} {
		testenv.Create(t, e, controller.Pods, pod(name, "node-a", labels, nil))
	}
	svc := testenv.Create(t, e, controller.Services, service("web", nil))
	testenv.Eventually(t, "three endpoints", func() (bool, string) {
		got := render(slicesOf(t, e, "web"))
		return got == "going:ttf@8080 notready:fff@8080 ready:ttf@8080", got
	})
	if err := client.For[core.Pod](e.Client, controller.Pods).Delete(e.Ctx, "default", "going", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "terminating endpoint", func() (bool, string) {
		got := render(slicesOf(t, e, "web"))
		return got == "going:ftt@8080 notready:fff@8080 ready:ttf@8080", got
	})
	s := slicesOf(t, e, "web")[0]
	if s.Labels[endpointslice.LabelManagedBy] != endpointslice.ManagedByController || s.Labels["team"] != "a" ||
		!meta.IsControlledBy(&s.ObjectMeta, svc) || !strings.HasPrefix(s.Name, "web-") || s.AddressType != discovery.AddressTypeIPv4 {
		t.Errorf("slice metadata: name %s labels %v owners %v", s.Name, s.Labels, s.OwnerReferences)
	}
	for _, ep := range s.Endpoints {
		if ep.NodeName == nil || *ep.NodeName != "node-a" || ep.TargetRef.UID == "" {
			t.Errorf("endpoint %v: nodeName %v targetRef %+v", ep.Addresses, ep.NodeName, ep.TargetRef)
		}
	}

	// The Endpoints object: ready and not-ready addresses; the terminating pod is out.
	testenv.Eventually(t, "Endpoints object", func() (bool, string) {
		ep := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "web")
		if ep == nil || len(ep.Subsets) != 1 {
			return false, fmt.Sprintf("%+v", ep)
		}
		ss := ep.Subsets[0]
		got := fmt.Sprintf("ready=%d notReady=%d port=%d/%s skip-mirror=%s", len(ss.Addresses), len(ss.NotReadyAddresses), ss.Ports[0].Port, ss.Ports[0].Name, ep.Labels[endpointslice.LabelSkipMirror])
		return got == "ready=1 notReady=1 port=8080/web skip-mirror=true", got
	})

	// Deleting the Service takes its slices (garbage collector) and Endpoints (this controller).
	if err := client.For[core.Service](e.Client, controller.Services).Delete(e.Ctx, "default", "web", nil); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "slices and endpoints gone", func() (bool, string) {
		n := len(slicesOf(t, e, "web"))
		ep := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "web")
		return n == 0 && ep == nil, fmt.Sprintf("%d slices, endpoints %v", n, ep != nil)
	})
}

func TestPublishNotReadyHeadlessAndHostnames(t *testing.T) {
	e := start(t, "db-0", "db-1")
	for _, name := range []string{"db-0", "db-1"} {
		testenv.Create(t, e, controller.Pods, pod(name, "", map[string]string{"app": "db"}, func(p *core.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain = name, "db"
		}))
	}
	testenv.Create(t, e, controller.Services, service("db", func(s *core.Service) {
		s.Spec.ClusterIP = core.ClusterIPNone
		s.Spec.PublishNotReadyAddresses = true
	}))
	testenv.Eventually(t, "not-ready pods published", func() (bool, string) {
		got := render(slicesOf(t, e, "db"))
		return got == "db-0:ttf@8080 db-1:ttf@8080", got
	})
	s := slicesOf(t, e, "db")[0]
	if _, ok := s.Labels[core.IsHeadlessService]; !ok {
		t.Errorf("headless label missing: %v", s.Labels)
	}
	for _, ep := range s.Endpoints {
		if ep.Hostname == nil || *ep.Hostname != ep.TargetRef.Name {
			t.Errorf("hostname of %s: %v", ep.TargetRef.Name, ep.Hostname)
		}
	}
}

// More endpoints than fit one slice spread over several; a Service without endpoints gets a
// placeholder slice.
func TestManyEndpoints(t *testing.T) {
	e := start(t)
	testenv.Create(t, e, controller.Services, service("many", nil))
	testenv.Eventually(t, "placeholder", func() (bool, string) {
		s := slicesOf(t, e, "many")
		return len(s) == 1 && len(s[0].Endpoints) == 0, fmt.Sprintf("%d slices", len(s))
	})
	for i := range 150 {
		testenv.Create(t, e, controller.Pods, pod(fmt.Sprintf("p%03d", i), "", map[string]string{"app": "many"}, nil))
	}
	testenv.Eventually(t, "150 endpoints in 2 slices", func() (bool, string) {
		s := slicesOf(t, e, "many")
		var sizes []int
		total := 0
		for _, x := range s {
			sizes = append(sizes, len(x.Endpoints))
			total += len(x.Endpoints)
		}
		sort.Ints(sizes)
		return fmt.Sprint(sizes) == "[50 100]", fmt.Sprint(sizes)
	})
}

// Services without a selector are the user's: no slices of ours, but the Endpoints the user
// writes are mirrored.
func TestSelectorlessServiceMirrored(t *testing.T) {
	e := start(t)
	testenv.Create(t, e, controller.Services, service("ext", func(s *core.Service) { s.Spec.Selector = nil }))
	testenv.Create(t, e, controller.Endpoints, &core.Endpoints{TypeMeta: meta.TypeMeta{Kind: "Endpoints", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "ext"},
		Subsets: []core.EndpointSubset{{
			Addresses:         []core.EndpointAddress{{IP: "192.0.2.10"}},
			NotReadyAddresses: []core.EndpointAddress{{IP: "192.0.2.11"}},
			Ports:             []core.EndpointPort{{Name: "web", Port: 9000}},
		}}})
	testenv.Eventually(t, "mirrored slice", func() (bool, string) {
		s := slicesOf(t, e, "ext")
		if len(s) != 1 {
			return false, fmt.Sprintf("%d slices", len(s))
		}
		var got []string
		for _, ep := range s[0].Endpoints {
			got = append(got, fmt.Sprintf("%s ready=%v", ep.Addresses[0], *ep.Conditions.Ready))
		}
		return s[0].Labels[endpointslice.LabelManagedBy] == endpointslice.ManagedByMirroring &&
			strings.Join(got, ",") == "192.0.2.10 ready=true,192.0.2.11 ready=false" && *s[0].Ports[0].Port == 9000, fmt.Sprint(got)
	})
	// The user's Endpoints object is untouched by the Endpoints controller.
	ep := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "ext")
	if len(ep.Subsets) != 1 || ep.Labels[endpointslice.LabelSkipMirror] != "" {
		t.Errorf("user Endpoints changed: %+v", ep)
	}
}
