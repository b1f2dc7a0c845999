package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/skiff-sh/skiff/api/meta"
)

// PatchType is the Content-Type of a patch body.
type PatchType string

const (
	JSONPatchType           PatchType = "application/json-patch+json"
	MergePatchType          PatchType = "application/merge-patch+json"
	StrategicMergePatchType PatchType = "application/strategic-merge-patch+json"
	ApplyPatchType          PatchType = "application/apply-patch+yaml"
)

// Typed is the client of one resource whose objects are T (PT is *T, which carries the
// meta.Object methods). It replaces a generated clientset:
//
//	pods := client.For[core.Pod](c, client.Resource{Version: "v1", Resource: "pods", Namespaced: true})
//	pod, err := pods.Get(ctx, "default", "web-0")
type Typed[T any, PT interface {
	*T
	meta.Object
}] struct {
	c *Client
	r Resource
}

// For returns the typed client of r. Typed clients are cheap; make them where needed.
func For[T any, PT interface {
	*T
	meta.Object
}](c *Client, r Resource) *Typed[T, PT] {
	return &Typed[T, PT]{c: c, r: r}
}

// Client is the underlying REST client.
func (t *Typed[T, PT]) Client() *Client { return t.c }

// Resource is the resource this client addresses.
func (t *Typed[T, PT]) Resource() Resource { return t.r }

// Get reads one object.
func (t *Typed[T, PT]) Get(ctx context.Context, namespace, name string) (PT, error) {
	if name == "" {
		return nil, errors.New("client: Get needs a name")
	}
	out := PT(new(T))
	err := t.c.do(ctx, request{method: http.MethodGet, path: t.r.Path(namespace, name)}, out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// List reads the objects of one namespace ("" = all namespaces), or of the cluster for a
// cluster-scoped resource. Follow ListMeta.Continue for the next page when opts.Limit is set.
func (t *Typed[T, PT]) List(ctx context.Context, namespace string, opts ListOptions) (*meta.List[T], error) {
	out := &meta.List[T]{}
	err := t.c.do(ctx, request{method: http.MethodGet, path: t.r.Path(namespace, ""), query: opts.query()}, out)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Create stores obj in its own namespace (obj.metadata.namespace) and returns what the
// server stored (name generated, uid, resourceVersion and defaults set).
func (t *Typed[T, PT]) Create(ctx context.Context, obj PT) (PT, error) {
	return t.write(ctx, http.MethodPost, t.r.Path(obj.GetObjectMeta().Namespace, ""), obj)
}

// Update replaces obj (spec and metadata; status changes are ignored by the server).
// obj.metadata.resourceVersion makes it conditional: a stale one fails with a Conflict.
func (t *Typed[T, PT]) Update(ctx context.Context, obj PT) (PT, error) {
	m := obj.GetObjectMeta()
	return t.write(ctx, http.MethodPut, t.r.Path(m.Namespace, m.Name), obj)
}

// UpdateStatus replaces obj's status through the /status subresource (other changes are
// ignored by the server); conditional on resourceVersion like Update.
func (t *Typed[T, PT]) UpdateStatus(ctx context.Context, obj PT) (PT, error) {
	m := obj.GetObjectMeta()
	return t.write(ctx, http.MethodPut, t.r.Path(m.Namespace, m.Name, "status"), obj)
}

func (t *Typed[T, PT]) write(ctx context.Context, method, path string, obj PT) (PT, error) {
	body, err := encodeBody(obj)
	if err != nil {
		return nil, err
	}
	out := PT(new(T))
	if err := t.c.do(ctx, request{method: method, path: path, body: body}, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Patch applies data (of patchType) to one object, or to one of its subresources
// (Patch(ctx, ns, name, MergePatchType, data, "status")), and returns the result.
func (t *Typed[T, PT]) Patch(ctx context.Context, namespace, name string, pt PatchType, data []byte, subresource ...string) (PT, error) {
	return t.patch(ctx, namespace, name, pt, data, nil, subresource...)
}

// Apply is a server-side apply of data (YAML or JSON) as fieldManager; force takes
// ownership of fields other managers own instead of failing with a Conflict.
func (t *Typed[T, PT]) Apply(ctx context.Context, namespace, name string, data []byte, fieldManager string, force bool, subresource ...string) (PT, error) {
	q := url.Values{"fieldManager": {fieldManager}}
	if force {
		q.Set("force", "true")
	}
	return t.patch(ctx, namespace, name, ApplyPatchType, data, q, subresource...)
}

func (t *Typed[T, PT]) patch(ctx context.Context, namespace, name string, pt PatchType, data []byte, q url.Values, subresource ...string) (PT, error) {
	if name == "" {
		return nil, errors.New("client: Patch needs a name")
	}
	out := PT(new(T))
	r := request{
		method:      http.MethodPatch,
		path:        t.r.Path(namespace, name, subresource...),
		query:       q,
		body:        data,
		contentType: string(pt),
	}
	if err := t.c.do(ctx, r, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete deletes one object; opts (may be nil) sets grace period, preconditions and
// propagation. Success means the deletion was accepted: with finalizers or a grace
// period the object lives on with a deletionTimestamp until they are done.
func (t *Typed[T, PT]) Delete(ctx context.Context, namespace, name string, opts *meta.DeleteOptions) error {
	if name == "" {
		return errors.New("client: Delete needs a name")
	}
	body, err := deleteBody(opts)
	if err != nil {
		return err
	}
	return t.c.do(ctx, request{method: http.MethodDelete, path: t.r.Path(namespace, name), body: body}, nil)
}

// DeleteCollection deletes every object of a namespace ("" for cluster-scoped resources)
// that the selectors in listOpts match.
func (t *Typed[T, PT]) DeleteCollection(ctx context.Context, namespace string, opts *meta.DeleteOptions, listOpts ListOptions) error {
	body, err := deleteBody(opts)
	if err != nil {
		return err
	}
	r := request{method: http.MethodDelete, path: t.r.Path(namespace, ""), query: listOpts.query(), body: body}
	return t.c.do(ctx, r, nil)
}

func deleteBody(opts *meta.DeleteOptions) ([]byte, error) {
	if opts == nil {
		return nil, nil
	}
	o := *opts
	o.Kind, o.APIVersion = "DeleteOptions", "v1"
	return encodeBody(&o)
}

// Watch streams the changes to the selected objects after opts.ResourceVersion. The
// watch ends when ctx ends, Stop is called, or the server closes it (timeoutSeconds,
// restart): the result channel is then closed and the caller watches again from the
// last resourceVersion it saw. An ERROR event with code 410 means that version is gone:
// list again.
func (t *Typed[T, PT]) Watch(ctx context.Context, namespace string, opts ListOptions) (Watcher[PT], error) {
	q := opts.query()
	q.Set("watch", "true")
	r := request{method: http.MethodGet, path: t.r.Path(namespace, ""), query: q}
	return openWatch(ctx, t.c, r, func() PT { return PT(new(T)) })
}

// CreateSubresource posts body to a subresource of one object and decodes the answer
// into out (nil: discard). Used for pods/binding and pods/eviction.
func (t *Typed[T, PT]) CreateSubresource(ctx context.Context, namespace, name, subresource string, body, out any) error {
	return t.subresource(ctx, http.MethodPost, namespace, name, subresource, body, out)
}

// GetSubresource reads a subresource (deployments/scale, pods/log, ...) into out.
func (t *Typed[T, PT]) GetSubresource(ctx context.Context, namespace, name, subresource string, out any) error {
	return t.subresource(ctx, http.MethodGet, namespace, name, subresource, nil, out)
}

// UpdateSubresource replaces a subresource (deployments/scale) and decodes the answer into out.
func (t *Typed[T, PT]) UpdateSubresource(ctx context.Context, namespace, name, subresource string, body, out any) error {
	return t.subresource(ctx, http.MethodPut, namespace, name, subresource, body, out)
}

func (t *Typed[T, PT]) subresource(ctx context.Context, method, namespace, name, sub string, body, out any) error {
	if name == "" || sub == "" {
		return errors.New("client: a subresource call needs a name and a subresource")
	}
	data, err := encodeBody(body)
	if err != nil {
		return err
	}
	return t.c.do(ctx, request{method: method, path: t.r.Path(namespace, name, sub), body: data}, out)
}
