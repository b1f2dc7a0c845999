package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/labels"
	"github.com/skiff-sh/skiff/api/meta"
	metricsv1beta1 "github.com/skiff-sh/skiff/api/metrics"
	"github.com/skiff-sh/skiff/api/statsapi"
	"github.com/skiff-sh/skiff/apiserver/metricsapi"
)

// metrics.k8s.io/v1beta1 is served here natively (Kubernetes gets it from metrics-server
// through the aggregation layer): NodeMetrics and PodMetrics are gathered from the node
// agents on every request (apiserver/metricsapi). Authorization is the ordinary one: the
// resources are nodes and pods in API group metrics.k8s.io, read with get and list.

var metricsGroupVersion = metricsv1beta1.GroupName + "/" + metricsv1beta1.Version

// metricsDiscovery is the group's resource list.
func metricsResources() *meta.APIResourceList {
	verbs := []string{"get", "list"}
	return &meta.APIResourceList{TypeMeta: meta.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: metricsGroupVersion,
		APIResources: []meta.APIResource{
			{Name: "nodes", SingularName: "", Namespaced: false, Kind: "NodeMetrics", Verbs: verbs},
			{Name: "pods", SingularName: "", Namespaced: true, Kind: "PodMetrics", Verbs: verbs},
		}}
}

func metricsGroup() meta.APIGroup {
	v := meta.GroupVersionForDiscovery{GroupVersion: metricsGroupVersion, Version: metricsv1beta1.Version}
	return meta.APIGroup{Name: metricsv1beta1.GroupName, Versions: []meta.GroupVersionForDiscovery{v}, PreferredVersion: v}
}

// serveMetricsAPI answers /apis/metrics.k8s.io/VERSION/SEGS...
func (s *Server) serveMetricsAPI(w http.ResponseWriter, req *http.Request, version string, segs []string) {
	notFound := newStatus(http.StatusNotFound, meta.ReasonNotFound, "the server could not find the requested resource", nil)
	if version != metricsv1beta1.Version {
		writeError(w, notFound)
		return
	}
	if len(segs) == 0 {
		writeJSON(w, http.StatusOK, metricsResources())
		return
	}
	if req.Method != http.MethodGet || isTrue(req.URL.Query().Get("watch")) || (len(segs) > 0 && segs[0] == "watch") {
		writeError(w, errMethodNotAllowed("the server does not allow this method on the requested resource"))
		return
	}
	var namespace, resource, name string
	switch {
	case len(segs) >= 3 && segs[0] == "namespaces" && segs[2] == "pods" && len(segs) <= 4:
		namespace, resource = segs[1], "pods"
		if len(segs) == 4 {
			name = segs[3]
		}
	case (segs[0] == "nodes" || segs[0] == "pods") && len(segs) <= 2:
		resource = segs[0]
		if len(segs) == 2 {
			name = segs[1]
		}
	default:
		writeError(w, notFound)
		return
	}
	q := req.URL.Query()
	lsel, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		writeError(w, errBadRequest(fmt.Sprintf("unable to parse requirement: %v", err)))
		return
	}
	fsel, err := fields.Parse(q.Get("fieldSelector"))
	if err != nil {
		writeError(w, errBadRequest(err.Error()))
		return
	}
	g := s.metricsGatherer()
	if resource == "nodes" {
		s.serveNodeMetrics(w, req, g, name, lsel, fsel)
		return
	}
	s.servePodMetrics(w, req, g, namespace, name, lsel, fsel)
}

func (s *Server) metricsGatherer() *metricsapi.Gatherer {
	g := &metricsapi.Gatherer{Timeout: s.cfg.MetricsNodeTimeout}
	tr, err := s.nodeTransport()
	g.Fetch = func(ctx context.Context, node *core.Node) (*statsapi.Summary, error) {
		if err != nil {
			return nil, err
		}
		return fetchSummary(ctx, tr, s.nodeScheme(), node)
	}
	return g
}

// fetchSummary reads a node agent's /stats/summary.
func fetchSummary(ctx context.Context, tr http.RoundTripper, scheme string, node *core.Node) (*statsapi.Summary, error) {
	host, port := nodeHost(node), node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if host == "" || port <= 0 {
		return nil, fmt.Errorf("node %s has no address and port for its node agent", node.Name)
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(host, strconv.Itoa(int(port))), Path: "/stats/summary"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node %s: /stats/summary: %s", node.Name, resp.Status)
	}
	sum := &statsapi.Summary{}
	if err := json.NewDecoder(resp.Body).Decode(sum); err != nil {
		return nil, fmt.Errorf("node %s: /stats/summary: %w", node.Name, err)
	}
	return sum, nil
}

func (s *Server) serveNodeMetrics(w http.ResponseWriter, req *http.Request, g *metricsapi.Gatherer, name string, lsel labels.Selector, fsel fields.Selector) {
	nodeKind, _ := s.reg.Lookup("", "v1", "nodes")
	var nodes []*core.Node
	if name != "" {
		if o, ok := s.cache(nodeKind).Get(nodeKind.Key("", name)); ok {
			nodes = append(nodes, o.(*core.Node))
		}
	} else {
		objs, _ := s.cache(nodeKind).List(func(o meta.Object) bool {
			n := o.(*core.Node)
			return lsel.Matches(labels.Set(n.Labels)) && fsel.Matches(fields.Set{"metadata.name": n.Name})
		})
		for _, o := range objs {
			nodes = append(nodes, o.(*core.Node))
		}
	}
	sums := g.Summaries(req.Context(), nodes)
	list := &metricsv1beta1.NodeMetricsList{TypeMeta: meta.TypeMeta{Kind: "NodeMetricsList", APIVersion: metricsGroupVersion}, Items: []metricsv1beta1.NodeMetrics{}}
	for _, n := range nodes {
		if m, ok := g.NodeMetrics(n, sums[n.Name]); ok {
			list.Items = append(list.Items, *m)
		}
	}
	if name != "" {
		if len(list.Items) == 0 {
			writeError(w, errMetricsNotFound("nodemetrics", name))
			return
		}
		writeJSON(w, http.StatusOK, &list.Items[0])
		return
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) servePodMetrics(w http.ResponseWriter, req *http.Request, g *metricsapi.Gatherer, namespace, name string, lsel labels.Selector, fsel fields.Selector) {
	podKind, _ := s.reg.Lookup("", "v1", "pods")
	var pods []*core.Pod
	if name != "" {
		if o, ok := s.cache(podKind).Get(podKind.Key(namespace, name)); ok {
			pods = append(pods, o.(*core.Pod))
		}
	} else {
		objs, _ := s.cache(podKind).List(func(o meta.Object) bool {
			p := o.(*core.Pod)
			return (namespace == "" || p.Namespace == namespace) && lsel.Matches(labels.Set(p.Labels)) &&
				fsel.Matches(fields.Set{"metadata.name": p.Name, "metadata.namespace": p.Namespace})
		})
		for _, o := range objs {
			pods = append(pods, o.(*core.Pod))
		}
	}
	// Only the nodes that run the pods asked about are asked.
	nodeKind, _ := s.reg.Lookup("", "v1", "nodes")
	var nodes []*core.Node
	seen := map[string]bool{}
	for _, p := range pods {
		if p.Spec.NodeName == "" || seen[p.Spec.NodeName] || p.Status.Phase != core.PodRunning {
			continue
		}
		seen[p.Spec.NodeName] = true
		if o, ok := s.cache(nodeKind).Get(nodeKind.Key("", p.Spec.NodeName)); ok {
			nodes = append(nodes, o.(*core.Node))
		}
	}
	sums := g.Summaries(req.Context(), nodes)
	list := &metricsv1beta1.PodMetricsList{TypeMeta: meta.TypeMeta{Kind: "PodMetricsList", APIVersion: metricsGroupVersion}, Items: []metricsv1beta1.PodMetrics{}}
	for _, p := range pods {
		if m, ok := g.PodMetrics(p, sums[p.Spec.NodeName]); ok {
			list.Items = append(list.Items, *m)
		}
	}
	if name != "" {
		if len(list.Items) == 0 {
			writeError(w, errMetricsNotFound("podmetrics", name))
			return
		}
		writeJSON(w, http.StatusOK, &list.Items[0])
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// errMetricsNotFound is metrics-server's 404 for an object without metrics.
func errMetricsNotFound(resource, name string) *apiError {
	return newStatus(http.StatusNotFound, meta.ReasonNotFound, fmt.Sprintf("%s.%s %q not found", resource, metricsv1beta1.GroupName, name),
		&meta.StatusDetails{Name: name, Group: metricsv1beta1.GroupName, Kind: resource})
}
