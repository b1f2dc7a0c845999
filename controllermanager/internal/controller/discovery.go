package controller

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/client"
)

// APIResource is one served resource found through discovery.
type APIResource struct {
	client.Resource
	Kind  string
	Verbs []string
}

// APIVersion is the apiVersion of the resource's objects ("v1", "apps/v1").
func (r APIResource) APIVersion() string { return r.GroupVersion() }

// Supports reports whether the resource supports every verb.
func (r APIResource) Supports(verbs ...string) bool {
	for _, v := range verbs {
		if !slices.Contains(r.Verbs, v) {
			return false
		}
	}
	return true
}

// Discover lists the resources the server serves (subresources left out), as the namespace
// controller and the garbage collector need: they work on every kind, including kinds this
// binary has no Go type for.
func Discover(ctx context.Context, c *client.Client) ([]APIResource, error) {
	gvs := []string{"/api/v1"}
	var groups meta.APIGroupList
	if err := c.Do(ctx, http.MethodGet, "/apis", nil, &groups); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	for _, g := range groups.Groups {
		for _, v := range g.Versions {
			// Only the preferred version: the same objects served twice would be deleted twice.
			if g.PreferredVersion.GroupVersion == "" || v.GroupVersion == g.PreferredVersion.GroupVersion {
				gvs = append(gvs, "/apis/"+v.GroupVersion)
			}
		}
	}
	var out []APIResource
	for _, path := range gvs {
		var list meta.APIResourceList
		if err := c.Do(ctx, http.MethodGet, path, nil, &list); err != nil {
			return nil, fmt.Errorf("discovery of %s: %w", path, err)
		}
		group, version := splitGroupVersion(list.GroupVersion)
		for _, r := range list.APIResources {
			if slices.Contains([]byte(r.Name), '/') {
				continue // a subresource
			}
			out = append(out, APIResource{
				Resource: client.Resource{Group: group, Version: version, Resource: r.Name, Namespaced: r.Namespaced},
				Kind:     r.Kind, Verbs: r.Verbs,
			})
		}
	}
	return out, nil
}

func splitGroupVersion(gv string) (group, version string) {
	for i := len(gv) - 1; i >= 0; i-- {
		if gv[i] == '/' {
			return gv[:i], gv[i+1:]
		}
	}
	return "", gv
}

// RESTMapper maps apiVersion and kind (as owner references give them) to resources.
type RESTMapper map[string]APIResource

// NewRESTMapper indexes resources by "apiVersion/kind".
func NewRESTMapper(resources []APIResource) RESTMapper {
	m := RESTMapper{}
	for _, r := range resources {
		m[r.APIVersion()+"/"+r.Kind] = r
	}
	return m
}

// For finds the resource of objects of apiVersion and kind.
func (m RESTMapper) For(apiVersion, kind string) (APIResource, bool) {
	r, ok := m[apiVersion+"/"+kind]
	return r, ok
}
