// Package openapi builds the OpenAPI documents the API server publishes, by reflection over the
// Go types of the kinds it serves:
//
//   - /openapi/v3 (V3Index) lists one document per group version, each at a URL that carries
//     the hash of its content so clients can cache it for good;
//   - /openapi/v3/api/v1, /openapi/v3/apis/apps/v1, ... (V3Document) are OpenAPI 3.0 documents;
//   - /openapi/v2 (V2Document, V2Protobuf) is the single Swagger 2.0 document of older clients.
//
// What kubectl reads in them, and therefore what must be right:
//
//   - kubectl explain finds the kind of a resource from the x-kubernetes-group-version-kind of
//     an operation on the resource's path, then the schema whose x-kubernetes-group-version-kind
//     list contains that same {group, kind, version}, and prints descriptions and types;
//   - kubectl create/apply/replace (--validate=strict, the default) ask whether the server
//     validates fields itself: they look for the fieldValidation query parameter on the PATCH
//     operation carrying the kind's GVK. Finding it, they send fieldValidation=Strict and leave
//     validation to the server; a kind with no PATCH operation at all is an error;
//   - kubectl apply computes its strategic merge patch from the schema of the kind
//     (x-kubernetes-patch-strategy / x-kubernetes-patch-merge-key on list fields), and only if
//     the PATCH operation accepts application/strategic-merge-patch+json;
//   - kubectl's validation also downloads /openapi/v2 in protobuf, and fails when it cannot:
//     serve V2Protobuf to Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf.
//
// The documents depend only on the resources, so the API server builds them once at start-up.
package openapi

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// Resource is one served resource, as the API server knows it.
type Resource struct {
	Group, Version, Kind, Resource string
	Namespaced                     bool
	// Type is the struct type of the kind: reflect.TypeOf(core.Pod{}).
	Type reflect.Type
	// ListKind is "PodList"; empty means Kind + "List".
	ListKind string
	// Subresources are the served subresources: "status", "scale", "binding", "eviction",
	// "log", "exec", ...
	Subresources []string
	// SubresourceTypes gives the body type of a subresource that is a kind of its own:
	// "scale" → autoscaling.Scale, "binding" → core.Binding, "eviction" → policy.Eviction.
	// Without one the body is described as an arbitrary object.
	SubresourceTypes map[string]reflect.Type
	// Schema is the OpenAPI v3 schema of a custom resource (its definition's
	// openAPIV3Schema), used instead of Type.
	Schema json.RawMessage
	// SelectableFields are a custom resource's selectableFields as field selectors name them
	// ("spec.color"), published as x-kubernetes-selectable-fields.
	SelectableFields []string
	// Verbs are the discovery verbs ("get", "list", "create", "update", "patch", "delete",
	// "deletecollection", "watch"); empty means all of them.
	Verbs []string
}

func (r Resource) listKind() string {
	if r.ListKind != "" {
		return r.ListKind
	}
	return r.Kind + "List"
}

func (r Resource) groupVersion() string { return apiVersion(r.Group, r.Version) }

// GroupVersions lists the group versions of the resources ("v1", "apps/v1"), in the order
// they first appear.
func GroupVersions(resources []Resource) []string {
	var gvs []string
	for _, r := range resources {
		if gv := r.groupVersion(); !slices.Contains(gvs, gv) {
			gvs = append(gvs, gv)
		}
	}
	return gvs
}

// V3Path is where the document of a group version sits below /openapi/v3/: "v1" → "api/v1",
// "apps/v1" → "apis/apps/v1".
func V3Path(groupVersion string) string {
	if strings.Contains(groupVersion, "/") {
		return "apis/" + groupVersion
	}
	return "api/" + groupVersion
}

// Hash is the value of the hash= parameter of a document's URL in the index: the SHA-512 of
// its content in upper-case hex, as Kubernetes computes it. A client caches the document under
// that URL, so a changed document must (and does) get a new one.
func Hash(doc []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(doc))
}

// V3Index is the /openapi/v3 document: for each group version, the server-relative URL of its
// document ({"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}}}).
func V3Index(resources []Resource) []byte {
	type entry struct {
		ServerRelativeURL string `json:"serverRelativeURL"`
	}
	index := struct {
		Paths map[string]entry `json:"paths"`
	}{Paths: map[string]entry{}}
	for _, gv := range GroupVersions(resources) {
		p := V3Path(gv)
		index.Paths[p] = entry{ServerRelativeURL: "/openapi/v3/" + p + "?hash=" + Hash(V3Document(gv, resources))}
	}
	return mustJSON(index)
}

// V3Document is the OpenAPI 3.0 document of one group version: "v1" or "apps/v1" (the index
// paths "api/v1" and "apis/apps/v1" are accepted too). It holds the paths of the group
// version's resources and every schema they reach.
func V3Document(groupVersion string, resources []Resource) []byte {
	gv := strings.TrimPrefix(strings.TrimPrefix(groupVersion, "apis/"), "api/")
	b := newBuilder(true, resources)
	paths := map[string]*v3PathItem{}
	for _, r := range resources {
		if r.groupVersion() != gv {
			continue
		}
		for _, ps := range resourcePaths(b, r) {
			paths[ps.path] = ps.v3(tag(r.Group, r.Version))
		}
	}
	return mustJSON(v3Document{
		OpenAPI: "3.0.0",
		Info:    info{Title: "Kubernetes", Version: "unversioned"},
		Paths:   paths,
		Components: v3Components{
			Schemas:         b.defs,
			SecuritySchemes: map[string]any{"BearerToken": securityScheme},
		},
	})
}

// V2Document is the Swagger 2.0 document of all the resources (/openapi/v2 as JSON).
func V2Document(resources []Resource) []byte {
	b := newBuilder(false, resources)
	paths := map[string]*v2PathItem{}
	for _, r := range resources {
		for _, ps := range resourcePaths(b, r) {
			paths[ps.path] = ps.v2(tag(r.Group, r.Version))
		}
	}
	return mustJSON(v2Document{
		Swagger:             "2.0",
		Info:                info{Title: "Kubernetes", Version: "unversioned"},
		Paths:               paths,
		Definitions:         b.defs,
		SecurityDefinitions: map[string]any{"BearerToken": securityScheme},
		Security:            []map[string][]string{{"BearerToken": {}}},
	})
}

// V2Protobuf is V2Document encoded as the gnostic OpenAPIv2 protobuf message, the form
// client-go's OpenAPISchema() asks for (and the only one it can decode).
func V2Protobuf(resources []Resource) ([]byte, error) {
	doc, err := openapi_v2.ParseDocument(V2Document(resources))
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	return proto.Marshal(doc)
}

var securityScheme = map[string]string{
	"type":        "apiKey",
	"in":          "header",
	"name":        "authorization",
	"description": "Bearer Token authentication",
}

func mustJSON(v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("openapi: %v", err)) // only plain structs, maps and strings go in
	}
	return out
}

type info struct {
	Title   string `json:"title"`
	Version string `json:"version"`
}

// OpenAPI 3.0.

type v3Document struct {
	OpenAPI    string                 `json:"openapi"`
	Info       info                   `json:"info"`
	Paths      map[string]*v3PathItem `json:"paths"`
	Components v3Components           `json:"components"`
}

type v3Components struct {
	Schemas         map[string]*schema `json:"schemas"`
	SecuritySchemes map[string]any     `json:"securitySchemes,omitempty"`
}

type v3PathItem struct {
	Get        *v3Operation   `json:"get,omitempty"`
	Put        *v3Operation   `json:"put,omitempty"`
	Post       *v3Operation   `json:"post,omitempty"`
	Delete     *v3Operation   `json:"delete,omitempty"`
	Patch      *v3Operation   `json:"patch,omitempty"`
	Parameters []*v3Parameter `json:"parameters,omitempty"`
}

type v3Operation struct {
	Tags        []string               `json:"tags,omitempty"`
	Description string                 `json:"description,omitempty"`
	OperationID string                 `json:"operationId"`
	Parameters  []*v3Parameter         `json:"parameters,omitempty"`
	RequestBody *v3RequestBody         `json:"requestBody,omitempty"`
	Responses   map[string]*v3Response `json:"responses"`
	Action      string                 `json:"x-kubernetes-action"`
	GVK         *GVK                   `json:"x-kubernetes-group-version-kind,omitempty"`
}

type v3Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *schema `json:"schema"`
}

type v3RequestBody struct {
	Content  map[string]v3Media `json:"content"`
	Required bool               `json:"required,omitempty"`
}

type v3Media struct {
	Schema *schema `json:"schema"`
}

type v3Response struct {
	Description string             `json:"description"`
	Content     map[string]v3Media `json:"content,omitempty"`
}

func (ps pathSpec) v3(tag string) *v3PathItem {
	item := &v3PathItem{Parameters: v3Params(ps.params)}
	for _, o := range ps.ops {
		op := &v3Operation{
			Tags:        []string{tag},
			Description: o.desc,
			OperationID: o.id,
			Parameters:  v3Params(o.params),
			Responses:   map[string]*v3Response{"401": {Description: "Unauthorized"}},
			Action:      o.action,
			GVK:         o.gvk,
		}
		if o.body != nil {
			op.RequestBody = &v3RequestBody{Content: media(o.bodyTypes, o.body), Required: true}
		}
		for _, code := range o.codes {
			op.Responses[code] = &v3Response{Description: statusText(code), Content: media(jsonTypes, o.response)}
		}
		switch o.method {
		case "get":
			item.Get = op
		case "put":
			item.Put = op
		case "post":
			item.Post = op
		case "delete":
			item.Delete = op
		default:
			item.Patch = op
		}
	}
	return item
}

func v3Params(ps []param) []*v3Parameter {
	var out []*v3Parameter
	for _, p := range ps {
		s := &schema{Type: p.typ}
		if p.in == "query" {
			s.UniqueItems = true // as Kubernetes publishes them
		}
		out = append(out, &v3Parameter{Name: p.name, In: p.in, Description: p.desc, Required: p.required, Schema: s})
	}
	return out
}

func media(types []string, s *schema) map[string]v3Media {
	m := make(map[string]v3Media, len(types))
	for _, t := range types {
		m[t] = v3Media{Schema: s}
	}
	return m
}

func statusText(code string) string {
	switch code {
	case "201":
		return "Created"
	case "202":
		return "Accepted"
	}
	return "OK"
}

// Swagger 2.0.

type v2Document struct {
	Swagger             string                 `json:"swagger"`
	Info                info                   `json:"info"`
	Paths               map[string]*v2PathItem `json:"paths"`
	Definitions         map[string]*schema     `json:"definitions"`
	SecurityDefinitions map[string]any         `json:"securityDefinitions,omitempty"`
	Security            []map[string][]string  `json:"security,omitempty"`
}

type v2PathItem struct {
	Get        *v2Operation   `json:"get,omitempty"`
	Put        *v2Operation   `json:"put,omitempty"`
	Post       *v2Operation   `json:"post,omitempty"`
	Delete     *v2Operation   `json:"delete,omitempty"`
	Patch      *v2Operation   `json:"patch,omitempty"`
	Parameters []*v2Parameter `json:"parameters,omitempty"`
}

type v2Operation struct {
	Description string                 `json:"description,omitempty"`
	Consumes    []string               `json:"consumes,omitempty"`
	Produces    []string               `json:"produces,omitempty"`
	Schemes     []string               `json:"schemes,omitempty"`
	Tags        []string               `json:"tags,omitempty"`
	OperationID string                 `json:"operationId"`
	Parameters  []*v2Parameter         `json:"parameters,omitempty"`
	Responses   map[string]*v2Response `json:"responses"`
	Action      string                 `json:"x-kubernetes-action"`
	GVK         *GVK                   `json:"x-kubernetes-group-version-kind,omitempty"`
}

type v2Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Type        string  `json:"type,omitempty"`
	UniqueItems bool    `json:"uniqueItems,omitempty"`
	Schema      *schema `json:"schema,omitempty"`
}

type v2Response struct {
	Description string  `json:"description"`
	Schema      *schema `json:"schema,omitempty"`
}

func (ps pathSpec) v2(tag string) *v2PathItem {
	item := &v2PathItem{Parameters: v2Params(ps.params)}
	for _, o := range ps.ops {
		op := &v2Operation{
			Description: o.desc,
			Consumes:    o.bodyTypes, // kubectl apply picks its patch type from the PATCH's consumes
			Produces:    jsonTypes,
			Schemes:     []string{"https"},
			Tags:        []string{tag},
			OperationID: o.id,
			Parameters:  v2Params(o.params),
			Responses:   map[string]*v2Response{"401": {Description: "Unauthorized"}},
			Action:      o.action,
			GVK:         o.gvk,
		}
		if o.body != nil {
			op.Parameters = append([]*v2Parameter{{Name: "body", In: "body", Required: true, Schema: o.body}}, op.Parameters...)
		}
		for _, code := range o.codes {
			op.Responses[code] = &v2Response{Description: statusText(code), Schema: o.response}
		}
		switch o.method {
		case "get":
			item.Get = op
		case "put":
			item.Put = op
		case "post":
			item.Post = op
		case "delete":
			item.Delete = op
		default:
			item.Patch = op
		}
	}
	return item
}

func v2Params(ps []param) []*v2Parameter {
	var out []*v2Parameter
	for _, p := range ps {
		out = append(out, &v2Parameter{Name: p.name, In: p.in, Description: p.desc, Required: p.required, Type: p.typ, UniqueItems: p.in == "query"})
	}
	return out
}
