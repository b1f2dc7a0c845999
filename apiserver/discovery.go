package apiserver

import (
	"net/http"
	"runtime"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
)

// Version is reported by /version. kubectl picks its own minor version from gitVersion, so it
// must look like a Kubernetes release.
var Version = "v1.33.0-skiff"

func (s *Server) version(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"major": "1", "minor": "33", "gitVersion": Version, "gitCommit": "skiff", "gitTreeState": "clean",
		"buildDate": "2026-01-01T00:00:00Z", "goVersion": runtime.Version(), "compiler": runtime.Compiler,
		"platform": runtime.GOOS + "/" + runtime.GOARCH,
	})
}

// /api and /apis answer aggregated discovery (apidiscovery.k8s.io/v2, every group version's
// resources in one document: discovery_aggregated.go) to clients that ask for it, as kubectl
// and client-go do first, and the legacy documents otherwise.
func (s *Server) apiVersions(w http.ResponseWriter, req *http.Request) {
	if wantsAggregatedDiscovery(req) {
		s.aggregatedDiscovery(w, true)
		return
	}
	writeJSON(w, http.StatusOK, &meta.APIVersions{
		TypeMeta: meta.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
		ServerAddressByClientCIDRs: []meta.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: s.cfg.Listen}},
	})
}

func (s *Server) groups() []meta.APIGroup {
	var out []meta.APIGroup
	idx := map[string]int{}
	for _, gv := range s.reg.GroupVersions() {
		if gv.Group == "" {
			continue
		}
		v := meta.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
		if i, ok := idx[gv.Group]; ok {
			out[i].Versions = append(out[i].Versions, v)
			continue
		}
		idx[gv.Group] = len(out)
		out = append(out, meta.APIGroup{Name: gv.Group, Versions: []meta.GroupVersionForDiscovery{v}, PreferredVersion: v})
	}
	return s.aggregatedGroups(append(out, metricsGroup())) // aggregator.go
}

func (s *Server) apiGroups(w http.ResponseWriter, req *http.Request) {
	if wantsAggregatedDiscovery(req) {
		s.aggregatedDiscovery(w, false)
		return
	}
	writeJSON(w, http.StatusOK, &meta.APIGroupList{TypeMeta: meta.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: s.groups()})
}

func (s *Server) apiGroup(w http.ResponseWriter, _ *http.Request, name string) {
	for _, g := range s.groups() {
		if g.Name == name {
			g.TypeMeta = meta.TypeMeta{Kind: "APIGroup", APIVersion: "v1"}
			writeJSON(w, http.StatusOK, &g)
			return
		}
	}
	writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
}

var (
	verbsAll      = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
	verbsGetWrite = []string{"get", "patch", "update"}
	verbsCreate   = []string{"create"}
)

// kindVerbs are the verbs of a kind's main resource.
func kindVerbs(k *registry.Kind) []string {
	if k.CreateOnly {
		return verbsCreate
	}
	return verbsAll
}

func (s *Server) resourceList(w http.ResponseWriter, _ *http.Request, group, version string) {
	gv := registry.GroupVersion{Group: group, Version: version}
	list := &meta.APIResourceList{TypeMeta: meta.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String(),
		APIResources: s.apiResources(group, version)}
	if len(list.APIResources) == 0 {
		writeError(w, newStatus(http.StatusNotFound, "NotFound", "the server could not find the requested resource", nil))
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// apiResources are the resources and subresources of one group version, for both discovery
// documents (the legacy per-version list and the aggregated one, discovery_aggregated.go).
func (s *Server) apiResources(group, version string) []meta.APIResource {
	list := &meta.APIResourceList{}
	for _, k := range s.reg.Kinds() {
		if k.Group != group || k.Version != version {
			continue
		}
		list.APIResources = append(list.APIResources, meta.APIResource{
			Name: k.Resource, SingularName: k.Singular, Namespaced: k.Namespaced, Kind: k.Kind,
			Verbs: kindVerbs(k), ShortNames: k.ShortNames, Categories: k.Categories,
		})
		if k.Status {
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/status", Namespaced: k.Namespaced, Kind: k.Kind, Verbs: verbsGetWrite})
		}
		if k.Scale {
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/scale", Namespaced: k.Namespaced,
				Group: "autoscaling", Version: "v1", Kind: "Scale", Verbs: verbsGetWrite})
		}
		if s.hasSubresource(k, "binding") {
			list.APIResources = append(list.APIResources,
				meta.APIResource{Name: k.Resource + "/binding", Namespaced: true, Kind: "Binding", Verbs: []string{"create"}},
				meta.APIResource{Name: k.Resource + "/eviction", Namespaced: true, Group: "policy", Version: "v1", Kind: "Eviction", Verbs: []string{"create"}},
				meta.APIResource{Name: k.Resource + "/" + subEphemeral, Namespaced: true, Kind: "Pod", Verbs: verbsGetWrite},
				// Served by the pod's node agent (streaming.go).
				meta.APIResource{Name: k.Resource + "/" + subLog, Namespaced: true, Kind: "Pod", Verbs: []string{"get"}},
				meta.APIResource{Name: k.Resource + "/" + subExec, Namespaced: true, Kind: "PodExecOptions", Verbs: []string{"create", "get"}},
				meta.APIResource{Name: k.Resource + "/" + subAttach, Namespaced: true, Kind: "PodAttachOptions", Verbs: []string{"create", "get"}},
				meta.APIResource{Name: k.Resource + "/" + subPortForward, Namespaced: true, Kind: "PodPortForwardOptions", Verbs: []string{"create", "get"}})
		}
		if s.hasSubresource(k, subProxy) {
			// Connect subresources list the verbs of the HTTP methods they proxy, as Kubernetes.
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/" + subProxy, Namespaced: k.Namespaced,
				Kind: k.Kind + "ProxyOptions", Verbs: []string{"create", "delete", "get", "patch", "update"}})
		}
		if s.hasSubresource(k, subToken) {
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/" + subToken, Namespaced: true,
				Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest", Verbs: []string{"create"}})
		}
		if s.hasSubresource(k, subApproval) {
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/" + subApproval, Kind: k.Kind, Verbs: verbsGetWrite})
		}
		if s.hasSubresource(k, subImages) {
			// skiff's own: load an image archive into the node (nodeimages.go).
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/" + subImages, Kind: "Node", Verbs: []string{"create"}})
		}
		if s.hasSubresource(k, "finalize") {
			list.APIResources = append(list.APIResources, meta.APIResource{Name: k.Resource + "/finalize", Kind: k.Kind, Verbs: []string{"update"}})
		}
	}
	return list.APIResources
}
