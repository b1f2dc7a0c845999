package apiserver

// Aggregated discovery (apidiscovery.k8s.io/v2): /api and /apis answer every group version's
// resources in one document to a client whose Accept names it, so kubectl and client-go learn
// the whole API in two requests instead of one per group version. Built from the live
// registry on each request, so custom resources show as soon as they are served.

import (
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
	metricsv1beta1 "github.com/skiff-sh/skiff/api/metrics"
)

// aggregatedDiscoveryType is the media type of the answer; clients check it before decoding.
const aggregatedDiscoveryType = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

// wantsAggregatedDiscovery reports whether the Accept header lists the v2 aggregated document
// as JSON (v2beta1 and protobuf are not served: clients list JSON v2 too, or fall back).
func wantsAggregatedDiscovery(req *http.Request) bool {
	for _, part := range strings.Split(req.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "application/json" {
			continue
		}
		if params["g"] == "apidiscovery.k8s.io" && params["v"] == "v2" && params["as"] == "APIGroupDiscoveryList" {
			return true
		}
	}
	return false
}

// The apidiscovery.k8s.io/v2 types.
type (
	apiGroupDiscoveryList struct {
		meta.TypeMeta `json:",inline"`
		Metadata      meta.ListMeta       `json:"metadata"`
		Items         []apiGroupDiscovery `json:"items"`
	}
	apiGroupDiscovery struct {
		Metadata discoveryObjectMeta   `json:"metadata"`
		Versions []apiVersionDiscovery `json:"versions"`
	}
	// discoveryObjectMeta is the ObjectMeta Kubernetes writes for a group: its name, and a
	// null creationTimestamp (the field is not omitempty upstream).
	discoveryObjectMeta struct {
		Name              string `json:"name,omitempty"`
		CreationTimestamp *int   `json:"creationTimestamp"`
	}
	apiVersionDiscovery struct {
		Version   string                 `json:"version"`
		Resources []apiResourceDiscovery `json:"resources"`
		Freshness string                 `json:"freshness,omitempty"`
	}
	apiResourceDiscovery struct {
		Resource         string                    `json:"resource"`
		ResponseKind     *groupVersionKind         `json:"responseKind"`
		Scope            string                    `json:"scope"`
		SingularResource string                    `json:"singularResource"`
		Verbs            []string                  `json:"verbs"`
		ShortNames       []string                  `json:"shortNames,omitempty"`
		Categories       []string                  `json:"categories,omitempty"`
		Subresources     []apiSubresourceDiscovery `json:"subresources,omitempty"`
	}
	apiSubresourceDiscovery struct {
		Subresource  string            `json:"subresource"`
		ResponseKind *groupVersionKind `json:"responseKind"`
		Verbs        []string          `json:"verbs"`
	}
	groupVersionKind struct {
		Group   string `json:"group"`
		Version string `json:"version"`
		Kind    string `json:"kind"`
	}
)

func (s *Server) aggregatedDiscovery(w http.ResponseWriter, core bool) {
	list := apiGroupDiscoveryList{TypeMeta: meta.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}, Items: []apiGroupDiscovery{}}
	if core {
		list.Items = append(list.Items, apiGroupDiscovery{Versions: []apiVersionDiscovery{s.versionDiscovery("", "v1")}})
	} else {
		for _, g := range s.groups() {
			gd := apiGroupDiscovery{Metadata: discoveryObjectMeta{Name: g.Name}}
			for _, v := range g.Versions { // the preferred version first
				gd.Versions = append(gd.Versions, s.versionDiscovery(g.Name, v.Version))
			}
			list.Items = append(list.Items, gd)
		}
	}
	b, err := json.Marshal(&list)
	if err != nil {
		writeError(w, errInternal(err))
		return
	}
	w.Header().Set("Content-Type", aggregatedDiscoveryType)
	w.Header().Set("Vary", "Accept")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// versionDiscovery folds the legacy resource list of one group version into resources with
// their subresources.
func (s *Server) versionDiscovery(group, version string) apiVersionDiscovery {
	vd := apiVersionDiscovery{Version: version, Resources: []apiResourceDiscovery{}, Freshness: "Current"}
	idx := map[string]int{}
	resources := s.apiResources(group, version)
	if group == metricsv1beta1.GroupName && version == metricsv1beta1.Version {
		resources = metricsResources().APIResources // served by the API server itself (metricsapi.go)
	}
	if a := s.aggregated(group, version); a != nil { // an extension server's (aggregator.go)
		var ok bool
		if resources, ok = s.cachedResources(a); !ok { // from the last availability check
			vd.Freshness = "Stale"
		}
	}
	for _, r := range resources {
		kind := &groupVersionKind{Group: group, Version: version, Kind: r.Kind}
		if r.Group != "" || r.Version != "" {
			kind.Group, kind.Version = r.Group, r.Version
		}
		if parent, sub, ok := strings.Cut(r.Name, "/"); ok {
			if i, found := idx[parent]; found {
				vd.Resources[i].Subresources = append(vd.Resources[i].Subresources, apiSubresourceDiscovery{Subresource: sub, ResponseKind: kind, Verbs: r.Verbs})
			}
			continue
		}
		scope := "Cluster"
		if r.Namespaced {
			scope = "Namespaced"
		}
		idx[r.Name] = len(vd.Resources)
		vd.Resources = append(vd.Resources, apiResourceDiscovery{Resource: r.Name, ResponseKind: kind, Scope: scope,
			SingularResource: r.SingularName, Verbs: r.Verbs, ShortNames: r.ShortNames, Categories: r.Categories})
	}
	return vd
}
