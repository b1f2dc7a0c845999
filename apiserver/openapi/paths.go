package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// pathSpec is one URL and its operations, before it is written as OpenAPI 3.0 or Swagger 2.0.
type pathSpec struct {
	path   string
	params []param // shared by the operations: path parameters and pretty
	ops    []op
}

// op is one operation of a path.
type op struct {
	method    string // "get", "post", "put", "patch", "delete"
	action    string // x-kubernetes-action: get, list, post, put, patch, delete, deletecollection, connect
	id        string // operationId, named as Kubernetes names it ("listCoreV1NamespacedPod")
	desc      string
	gvk       *GVK
	params    []param
	body      *schema  // request body, nil for none
	bodyTypes []string // its media types
	response  *schema  // the success response
	codes     []string // the success status codes
}

type param struct {
	name, in, typ, desc string
	required            bool
}

// The media types the API server reads and writes. Server-side apply
// (application/apply-patch+yaml) is not offered: skiff does not implement it.
var (
	jsonTypes  = []string{"application/json"}
	patchTypes = []string{"application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"}
)

var defaultVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// subresourceKinds are the subresources whose body is a kind of its own.
var subresourceKinds = map[string]GVK{
	"scale":    {Group: "autoscaling", Version: "v1", Kind: "Scale"},
	"binding":  {Group: "", Version: "v1", Kind: "Binding"},
	"eviction": {Group: "policy", Version: "v1", Kind: "Eviction"},
}

// Query parameters, with Kubernetes' descriptions (shortened).
var (
	pPretty          = param{name: "pretty", in: "query", typ: "string", desc: "If 'true', then the output is pretty printed."}
	pNamespace       = param{name: "namespace", in: "path", typ: "string", required: true, desc: "object name and auth scope, such as for teams and projects"}
	pName            = param{name: "name", in: "path", typ: "string", required: true, desc: "name of the object"}
	pDryRun          = param{name: "dryRun", in: "query", typ: "string", desc: "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed"}
	pFieldManager    = param{name: "fieldManager", in: "query", typ: "string", desc: "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint."}
	pFieldValidation = param{name: "fieldValidation", in: "query", typ: "string", desc: "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered."}
	pForce           = param{name: "force", in: "query", typ: "boolean", desc: "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests."}

	writeParams  = []param{pDryRun, pFieldManager, pFieldValidation}
	patchParams  = []param{pDryRun, pFieldManager, pFieldValidation, pForce}
	deleteParams = []param{
		pDryRun,
		{name: "gracePeriodSeconds", in: "query", typ: "integer", desc: "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used."},
		{name: "orphanDependents", in: "query", typ: "boolean", desc: "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned."},
		{name: "propagationPolicy", in: "query", typ: "string", desc: "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground."},
	}
	listParams = []param{
		{name: "allowWatchBookmarks", in: "query", typ: "boolean", desc: "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."},
		{name: "continue", in: "query", typ: "string", desc: "The continue option should be set when retrieving more results from the server."},
		{name: "fieldSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their fields. Defaults to everything."},
		{name: "labelSelector", in: "query", typ: "string", desc: "A selector to restrict the list of returned objects by their labels. Defaults to everything."},
		{name: "limit", in: "query", typ: "integer", desc: "limit is a maximum number of responses to return for a list call."},
		{name: "resourceVersion", in: "query", typ: "string", desc: "resourceVersion sets a constraint on what resource versions a request may be served from."},
		{name: "resourceVersionMatch", in: "query", typ: "string", desc: "resourceVersionMatch determines how resourceVersion is applied to list calls."},
		{name: "timeoutSeconds", in: "query", typ: "integer", desc: "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity."},
		{name: "watch", in: "query", typ: "boolean", desc: "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."},
	}
)

// resourcePaths lays out the URLs of one resource the way the Kubernetes API server serves
// them, defining the schemas they refer to in b.
func resourcePaths(b *builder, r Resource) []pathSpec {
	if r.Type == nil && r.Schema == nil {
		panic(fmt.Sprintf("openapi: resource %q has no Type", r.Resource)) // a bug in the caller's table
	}
	kindRef := b.ref(b.defineKind(r))
	listRef := b.ref(b.defineList(r))
	statusRef := b.ref(b.define(reflect.TypeFor[meta.Status]()))
	deleteRef := b.ref(b.define(reflect.TypeFor[meta.DeleteOptions]()))
	patchRef := b.ref(b.definePatch())

	verbs := r.Verbs
	if len(verbs) == 0 {
		verbs = defaultVerbs
	}
	can := func(v string) bool { return slices.Contains(verbs, v) }

	gvk := &GVK{Group: r.Group, Version: r.Version, Kind: r.Kind}
	prefix := "/apis/" + r.Group + "/" + r.Version
	if r.Group == "" {
		prefix = "/api/" + r.Version
	}
	scope, pathParams := "", []param{pPretty}
	collection := prefix + "/" + r.Resource
	if r.Namespaced {
		scope = "Namespaced"
		pathParams = []param{pNamespace, pPretty}
		collection = prefix + "/namespaces/{namespace}/" + r.Resource
	}
	item := collection + "/{name}"
	itemParams := append([]param{pName}, pathParams...)
	name := opGroup(r.Group) + versionCamel(r.Version) + scope + r.Kind

	var out []pathSpec
	coll := pathSpec{path: collection, params: pathParams}
	if can("list") {
		coll.ops = append(coll.ops, op{method: "get", action: "list", id: "list" + name, desc: "list or watch objects of kind " + r.Kind,
			gvk: gvk, params: listParams, response: listRef, codes: []string{"200"}})
	}
	if can("create") {
		coll.ops = append(coll.ops, op{method: "post", action: "post", id: "create" + name, desc: "create a " + r.Kind,
			gvk: gvk, params: writeParams, body: kindRef, bodyTypes: jsonTypes, response: kindRef, codes: []string{"200", "201", "202"}})
	}
	if can("deletecollection") {
		coll.ops = append(coll.ops, op{method: "delete", action: "deletecollection", id: "deleteCollection" + name, desc: "delete collection of " + r.Kind,
			gvk: gvk, params: append(slices.Clone(deleteParams), listParams...), body: deleteRef, bodyTypes: jsonTypes, response: statusRef, codes: []string{"200"}})
	}
	if len(coll.ops) > 0 {
		out = append(out, coll)
	}

	if r.Namespaced && can("list") {
		all := opGroup(r.Group) + versionCamel(r.Version) + r.Kind + "ForAllNamespaces"
		out = append(out, pathSpec{path: prefix + "/" + r.Resource, params: []param{pPretty}, ops: []op{
			{method: "get", action: "list", id: "list" + all, desc: "list or watch objects of kind " + r.Kind,
				gvk: gvk, params: listParams, response: listRef, codes: []string{"200"}},
		}})
	}

	// The item and its subresources that read and write the object itself (/status).
	objectOps := func(path, sub, what string, g *GVK, ref *schema, withDelete bool) pathSpec {
		ps := pathSpec{path: path, params: itemParams}
		id := name + sub
		if can("get") {
			ps.ops = append(ps.ops, op{method: "get", action: "get", id: "read" + id, desc: "read " + what + "the specified " + r.Kind,
				gvk: g, response: ref, codes: []string{"200"}})
		}
		if can("update") {
			ps.ops = append(ps.ops, op{method: "put", action: "put", id: "replace" + id, desc: "replace " + what + "the specified " + r.Kind,
				gvk: g, params: writeParams, body: ref, bodyTypes: jsonTypes, response: ref, codes: []string{"200", "201"}})
		}
		if can("patch") {
			// fieldValidation here is what makes kubectl validate on the server: it looks
			// for the parameter on the PATCH operation of the kind.
			ps.ops = append(ps.ops, op{method: "patch", action: "patch", id: "patch" + id, desc: "partially update " + what + "the specified " + r.Kind,
				gvk: g, params: patchParams, body: patchRef, bodyTypes: patchTypes, response: ref, codes: []string{"200", "201"}})
		}
		if withDelete && can("delete") {
			ps.ops = append(ps.ops, op{method: "delete", action: "delete", id: "delete" + id, desc: "delete a " + r.Kind,
				gvk: g, params: deleteParams, body: deleteRef, bodyTypes: jsonTypes, response: statusRef, codes: []string{"200", "202"}})
		}
		return ps
	}
	if ps := objectOps(item, "", "", gvk, kindRef, true); len(ps.ops) > 0 {
		out = append(out, ps)
	}

	for _, sub := range r.Subresources {
		subPath := item + "/" + sub
		subName := exportName(sub)
		switch sub {
		case "status":
			if ps := objectOps(subPath, "Status", "status of ", gvk, kindRef, false); len(ps.ops) > 0 {
				out = append(out, ps)
			}
		case "scale":
			g, ref := b.subresourceKind(r, sub)
			if ps := objectOps(subPath, "Scale", "scale of ", g, ref, false); len(ps.ops) > 0 {
				out = append(out, ps)
			}
		case "binding", "eviction":
			g, ref := b.subresourceKind(r, sub)
			out = append(out, pathSpec{path: subPath, params: itemParams, ops: []op{
				{method: "post", action: "post", id: "create" + name + subName, desc: "create " + sub + " of a " + r.Kind,
					gvk: g, params: writeParams, body: ref, bodyTypes: jsonTypes, response: ref, codes: []string{"200", "201", "202"}},
			}})
		default:
			// Streaming subresources (log, exec, attach, portforward, proxy): the body is
			// not an object, so no kind.
			text := &schema{Type: "string"}
			ps := pathSpec{path: subPath, params: itemParams, ops: []op{
				{method: "get", action: "connect", id: "connectGet" + name + subName, desc: "connect GET requests to " + sub + " of " + r.Kind, response: text, codes: []string{"200"}},
			}}
			if sub == "log" {
				ps.ops[0].action, ps.ops[0].id, ps.ops[0].desc = "get", "read"+name+"Log", "read log of the specified "+r.Kind
			} else {
				ps.ops = append(ps.ops, op{method: "post", action: "connect", id: "connectPost" + name + subName, desc: "connect POST requests to " + sub + " of " + r.Kind, response: text, codes: []string{"200"}})
			}
			out = append(out, ps)
		}
	}
	return out
}

// subresourceKind is the kind and schema of a subresource body such as Scale.
func (b *builder) subresourceKind(r Resource, sub string) (*GVK, *schema) {
	g := subresourceKinds[sub]
	t := r.SubresourceTypes[sub]
	if t == nil {
		return &g, &schema{Type: "object", PreserveUnknownFields: true}
	}
	name := b.defineKind(Resource{Group: g.Group, Version: g.Version, Kind: g.Kind, Type: t})
	return &g, b.ref(name)
}

// opGroup is the group as it appears in operation IDs: "" → "Core",
// "rbac.authorization.k8s.io" → "RbacAuthorization".
func opGroup(group string) string {
	if group == "" {
		return "Core"
	}
	var s strings.Builder
	for _, part := range strings.Split(strings.TrimSuffix(group, ".k8s.io"), ".") {
		s.WriteString(exportName(part))
	}
	return s.String()
}

func versionCamel(v string) string { return exportName(v) }

func exportName(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// tag groups the operations of one group version, as Kubernetes tags them ("core_v1").
func tag(group, version string) string {
	g := opGroup(group)
	return strings.ToLower(g[:1]) + g[1:] + "_" + version
}
