package dashboard

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/apps"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
)

// serviceNameLabel ties an EndpointSlice to its Service.
const serviceNameLabel = "kubernetes.io/service-name"

// Snapshot is the cluster state a view is built from (the informers' caches).
type Snapshot struct {
	Nodes          []*core.Node
	Pods           []*core.Pod
	Events         []*core.Event
	Deployments    []*apps.Deployment
	ReplicaSets    []*apps.ReplicaSet
	Services       []*core.Service
	EndpointSlices []*discovery.EndpointSlice
}

// PodRef is a pod as the lists show it; every one links to its journey.
type PodRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Status    string `json:"status"` // as kubectl get pods' STATUS column: Running, Pending, ContainerCreating, Terminating...
	Ready     bool   `json:"ready"`
	Node      string `json:"node,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// Overview is the cluster page: nodes with their pods, and the workload chains.
type Overview struct {
	Nodes       []NodeView       `json:"nodes"`
	Unscheduled []PodRef         `json:"unscheduled"` // pods without a node (yet)
	Deployments []DeploymentView `json:"deployments"`
	Services    []ServiceView    `json:"services"`
}

type NodeView struct {
	Name   string   `json:"name"`
	Ready  bool     `json:"ready"`
	IP     string   `json:"ip,omitempty"`
	Taints []string `json:"taints,omitempty"`
	Pods   []PodRef `json:"pods"`
}

// DeploymentView is Deployment → ReplicaSets → Pods.
type DeploymentView struct {
	Namespace   string           `json:"namespace"`
	Name        string           `json:"name"`
	Replicas    int32            `json:"replicas"`
	Ready       int32            `json:"ready"`
	ReplicaSets []ReplicaSetView `json:"replicaSets"`
}

type ReplicaSetView struct {
	Name     string   `json:"name"`
	Revision string   `json:"revision,omitempty"`
	Replicas int32    `json:"replicas"`
	Pods     []PodRef `json:"pods"`
}

// ServiceView is Service → EndpointSlices → Pods.
type ServiceView struct {
	Namespace string      `json:"namespace"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	ClusterIP string      `json:"clusterIP,omitempty"`
	Ports     string      `json:"ports,omitempty"`
	Slices    []SliceView `json:"slices"`
}

type SliceView struct {
	Name      string         `json:"name"`
	Endpoints []EndpointView `json:"endpoints"`
}

type EndpointView struct {
	Address string  `json:"address"`
	Ready   bool    `json:"ready"`
	Pod     *PodRef `json:"pod,omitempty"`
}

// BuildOverview builds the cluster page from s. Everything is sorted by name, so a page
// that re-renders on every change does not reshuffle.
func BuildOverview(s Snapshot) Overview {
	o := Overview{Nodes: []NodeView{}, Unscheduled: []PodRef{}, Deployments: []DeploymentView{}, Services: []ServiceView{}}
	byKey := map[string]PodRef{}
	byOwner := map[string][]PodRef{} // ReplicaSet uid → pods
	byNode := map[string][]PodRef{}
	for _, p := range s.Pods {
		ref := podRef(p)
		byKey[p.Namespace+"/"+p.Name] = ref
		if c := meta.GetControllerOf(&p.ObjectMeta); c != nil {
			byOwner[c.UID] = append(byOwner[c.UID], ref)
		}
		if p.Spec.NodeName == "" {
			o.Unscheduled = append(o.Unscheduled, ref)
		} else {
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], ref)
		}
	}
	for _, n := range s.Nodes {
		nv := NodeView{Name: n.Name, Ready: nodeReady(n), Pods: sortPods(byNode[n.Name])}
		for _, a := range n.Status.Addresses {
			if a.Type == core.NodeInternalIP && nv.IP == "" {
				nv.IP = a.Address
			}
		}
		for _, t := range n.Spec.Taints {
			nv.Taints = append(nv.Taints, fmt.Sprintf("%s=%s:%s", t.Key, t.Value, t.Effect))
		}
		o.Nodes = append(o.Nodes, nv)
	}
	slices.SortFunc(o.Nodes, func(a, b NodeView) int { return cmp.Compare(a.Name, b.Name) })
	sortPods(o.Unscheduled)

	rsByOwner := map[string][]ReplicaSetView{} // Deployment uid → ReplicaSets
	for _, rs := range s.ReplicaSets {
		c := meta.GetControllerOf(&rs.ObjectMeta)
		if c == nil {
			continue
		}
		rsByOwner[c.UID] = append(rsByOwner[c.UID], ReplicaSetView{Name: rs.Name,
			Revision: rs.Annotations["deployment.kubernetes.io/revision"], Replicas: deref(rs.Spec.Replicas),
			Pods: sortPods(byOwner[rs.UID])})
	}
	for _, d := range s.Deployments {
		rss := rsByOwner[d.UID]
		slices.SortFunc(rss, func(a, b ReplicaSetView) int { return cmp.Compare(b.Revision, a.Revision) }) // newest first
		o.Deployments = append(o.Deployments, DeploymentView{Namespace: d.Namespace, Name: d.Name,
			Replicas: deref(d.Spec.Replicas), Ready: d.Status.ReadyReplicas, ReplicaSets: nonNil(rss)})
	}
	slices.SortFunc(o.Deployments, func(a, b DeploymentView) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})

	slicesBySvc := map[string][]SliceView{}
	for _, es := range s.EndpointSlices {
		svc := es.Labels[serviceNameLabel]
		if svc == "" {
			continue
		}
		sv := SliceView{Name: es.Name, Endpoints: []EndpointView{}}
		for _, ep := range es.Endpoints {
			ev := EndpointView{Address: strings.Join(ep.Addresses, ","), Ready: ep.Conditions.Ready == nil || *ep.Conditions.Ready}
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				if ref, ok := byKey[cmp.Or(ep.TargetRef.Namespace, es.Namespace)+"/"+ep.TargetRef.Name]; ok {
					ev.Pod = &ref
				}
			}
			sv.Endpoints = append(sv.Endpoints, ev)
		}
		slicesBySvc[es.Namespace+"/"+svc] = append(slicesBySvc[es.Namespace+"/"+svc], sv)
	}
	for _, svc := range s.Services {
		ports := make([]string, 0, len(svc.Spec.Ports))
		for _, p := range svc.Spec.Ports {
			ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
		}
		sl := slicesBySvc[svc.Namespace+"/"+svc.Name]
		slices.SortFunc(sl, func(a, b SliceView) int { return cmp.Compare(a.Name, b.Name) })
		o.Services = append(o.Services, ServiceView{Namespace: svc.Namespace, Name: svc.Name, Type: string(svc.Spec.Type),
			ClusterIP: svc.Spec.ClusterIP, Ports: strings.Join(ports, ","), Slices: nonNil(sl)})
	}
	slices.SortFunc(o.Services, func(a, b ServiceView) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return o
}

// nonNil makes an empty list encode as [] rather than null, which the page's code expects.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func sortPods(p []PodRef) []PodRef {
	if p == nil {
		return []PodRef{}
	}
	slices.SortFunc(p, func(a, b PodRef) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return p
}

func nodeReady(n *core.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == core.NodeReady {
			return c.Status == core.ConditionTrue
		}
	}
	return false
}

func podRef(p *core.Pod) PodRef {
	r := PodRef{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, IP: p.Status.PodIP, Status: podStatus(p)}
	if c := condition(p, core.PodReady); c != nil {
		r.Ready = c.Status == core.ConditionTrue
	}
	return r
}

// podStatus is kubectl's STATUS column, simplified: the phase, or why a container waits or
// ended, or Terminating.
func podStatus(p *core.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	status := cmp.Or(string(p.Status.Phase), "Pending")
	if p.Status.Reason != "" {
		status = p.Status.Reason
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			status = cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "" && p.Status.Phase != core.PodRunning:
			status = cs.State.Terminated.Reason
		}
	}
	return status
}
