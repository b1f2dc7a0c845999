package client

import (
	"net/url"
	"strconv"
	"strings"
)

// Resource names a collection on the server. The core group is Group "".
type Resource struct {
	Group      string
	Version    string
	Resource   string // plural, lower case: "pods", "deployments"
	Namespaced bool
}

// GroupVersion is "v1" for the core group, "group/version" otherwise (an apiVersion).
func (r Resource) GroupVersion() string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// Path is the URL path of the collection (name "") or of one object, optionally of one
// of its subresources. For a namespaced resource, namespace "" means all namespaces
// (valid for list and watch only); for a cluster-scoped one the namespace is ignored.
func (r Resource) Path(namespace, name string, subresource ...string) string {
	var b strings.Builder
	if r.Group == "" {
		b.WriteString("/api/")
		b.WriteString(r.Version)
	} else {
		b.WriteString("/apis/")
		b.WriteString(r.Group)
		b.WriteString("/")
		b.WriteString(r.Version)
	}
	if r.Namespaced && namespace != "" {
		b.WriteString("/namespaces/")
		b.WriteString(url.PathEscape(namespace))
	}
	b.WriteString("/")
	b.WriteString(r.Resource)
	if name != "" {
		b.WriteString("/")
		b.WriteString(url.PathEscape(name))
		for _, s := range subresource {
			if s != "" {
				b.WriteString("/")
				b.WriteString(s)
			}
		}
	}
	return b.String()
}

// ListOptions select and page a list, and position a watch.
type ListOptions struct {
	LabelSelector string // "app=web,tier in (fe,be)"
	FieldSelector string // "metadata.name=x,spec.nodeName="
	// Limit and Continue page a list (Continue is the previous page's ListMeta.Continue).
	Limit    int64
	Continue string
	// ResourceVersion: for a list "" is a consistent (most recent) read and "0" any cached
	// state; for a watch it is the version to start after ("" = now, with no replay).
	ResourceVersion      string
	ResourceVersionMatch string // "NotOlderThan" or "Exact", for lists
	// AllowWatchBookmarks asks a watch for BOOKMARK events carrying newer resourceVersions.
	AllowWatchBookmarks bool
	// TimeoutSeconds ends a list or watch on the server after that long (0: server default).
	TimeoutSeconds int64
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("labelSelector", o.LabelSelector)
	set("fieldSelector", o.FieldSelector)
	if o.Limit > 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	set("continue", o.Continue)
	set("resourceVersion", o.ResourceVersion)
	set("resourceVersionMatch", o.ResourceVersionMatch)
	if o.AllowWatchBookmarks {
		q.Set("allowWatchBookmarks", "true")
	}
	if o.TimeoutSeconds > 0 {
		q.Set("timeoutSeconds", strconv.FormatInt(o.TimeoutSeconds, 10))
	}
	return q
}
