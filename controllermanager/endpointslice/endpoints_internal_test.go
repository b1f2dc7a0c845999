package endpointslice

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/controllermanager/internal/controller"
	"github.com/skiff-sh/skiff/controllermanager/internal/testenv"
)

// A pod change that arrives while the Endpoints cache is behind the controller's own last
// write is not lost: the sync returns without work, and the Endpoints event that catches the
// cache up queues the Service again. The window is made wide here by recording a write the
// cache has not seen; the only event after it is the Endpoints update.
func TestEndpointsSyncAfterTheCacheCatchesUp(t *testing.T) {
	e := testenv.New(t)
	c := NewEndpoints(e.CC)
	e.Start(t, c)
	e.RunKubelet(t, &testenv.Kubelet{})
	testenv.Create(t, e, controller.Services, &core.Service{
		ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: core.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []core.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt(8080)}}}})
	var ep *core.Endpoints
	testenv.Eventually(t, "the Service's Endpoints", func() (bool, string) {
		ep = testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "web")
		return ep != nil, "none yet"
	})
	testenv.Eventually(t, "the controller's cache to hold them", func() (bool, string) {
		cached, ok := c.endpoints.Indexer().Get("default/web")
		return ok && cached.ResourceVersion == ep.ResourceVersion, "not yet"
	})
	rv, _ := strconv.ParseInt(ep.ResourceVersion, 10, 64)
	c.tracker.Wrote("default/web", "default/web", strconv.FormatInt(rv+1, 10))

	testenv.Create(t, e, controller.Pods, &core.Pod{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "p", Labels: map[string]string{"app": "web"}},
		Spec: core.PodSpec{NodeName: "node-a", Containers: []core.Container{{Name: "c", Image: "img"}}}})
	testenv.Eventually(t, "the pod ready with an address", func() (bool, string) {
		p, ok := c.pods.Indexer().Get("default/p")
		return ok && p.IsReady() && p.Status.PodIP != "", "not yet"
	})
	if cur := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "web"); len(cur.Subsets) != 0 {
		t.Fatalf("the controller wrote while its cache was behind: %+v", cur.Subsets)
	}

	// Someone else's write moves the Endpoints past the recorded one.
	poked := controller.DeepCopy(ep)
	poked.Annotations = map[string]string{"poke": "1"}
	if _, err := client.For[core.Endpoints](e.Client, controller.Endpoints).Update(e.Ctx, poked); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, "the pod's address in the Endpoints", func() (bool, string) {
		cur := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "web")
		return len(cur.Subsets) == 1 && len(cur.Subsets[0].Addresses) == 1, fmt.Sprintf("%+v", cur.Subsets)
	})
}

// Endpoints made by hand for no Service are left alone, through their own writes too
// (conformance: "should test the lifecycle of an Endpoint" labels one after creating it).
func TestEndpointsWithoutServiceLeftAlone(t *testing.T) {
	e := testenv.New(t)
	c := NewEndpoints(e.CC)
	e.Start(t, c)
	eps := client.For[core.Endpoints](e.Client, controller.Endpoints)
	made := testenv.Create(t, e, controller.Endpoints, &core.Endpoints{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "mine"},
		Subsets: []core.EndpointSubset{{Addresses: []core.EndpointAddress{{IP: "10.0.0.1"}}, Ports: []core.EndpointPort{{Port: 80}}}}})
	testenv.Eventually(t, "the controller's cache to hold them", func() (bool, string) {
		_, ok := c.endpoints.Indexer().Get("default/mine")
		return ok, "not yet"
	})
	made.Labels = map[string]string{"updated": "true"}
	if _, err := eps.Update(e.Ctx, made); err != nil {
		t.Fatalf("update: %v", err)
	}
	// A Service created afterwards queues a sync; by the time it is done the hand-made
	// Endpoints of the other name must still be there.
	testenv.Create(t, e, controller.Services, &core.Service{ObjectMeta: meta.ObjectMeta{Namespace: "default", Name: "other"},
		Spec: core.ServiceSpec{Selector: map[string]string{"app": "x"}, Ports: []core.ServicePort{{Port: 80}}}})
	testenv.Eventually(t, "the other Service's Endpoints", func() (bool, string) {
		return testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "other") != nil, "none yet"
	})
	if got := testenv.Get[core.Endpoints](t, e, controller.Endpoints, "default", "mine"); got == nil || got.Labels["updated"] != "true" {
		t.Errorf("hand-made Endpoints after their update: %+v", got)
	}
}
