// Package admission is the API server's admission chain: an ordered list of plugins that see
// every write after the server has decoded and defaulted it and before it is stored, as
// Kubernetes' k8s.io/apiserver/pkg/admission has it. Mutating plugins run first, in order, and
// may change the object; built-in validation follows; then validating plugins run, in order,
// and may only refuse. A plugin is small, has a name (the one --disable-admission-plugins
// takes) and is unit-tested on its own with Attributes built by hand.
package admission

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/apiserver/authn"
)

// Operation is what the write does, in Kubernetes' words.
type Operation string

const (
	Create  Operation = "CREATE"
	Update  Operation = "UPDATE"
	Delete  Operation = "DELETE"
	Connect Operation = "CONNECT"
)

// Attributes describe one write being admitted.
type Attributes struct {
	Operation   Operation
	Kind        *registry.Kind // the resource written (for a subresource: its parent's kind)
	Subresource string         // "", "status", "scale", "eviction", "binding", ...
	Namespace   string
	Name        string
	// Object is the object as it will be stored (nil on delete and connect); mutating
	// plugins change it in place. For a subresource whose body is not the parent (an
	// Eviction, a Binding), Object is that body.
	Object meta.Object
	// OldObject is the stored object (update and delete; nil on create).
	OldObject meta.Object
	User      *authn.User // nil when the request carries no user (in-process callers)
	DryRun    bool

	warnings    []string
	annotations map[string]string
}

// AddWarning adds a warning the client sees (a Warning: 299 header; kubectl prints it).
func (a *Attributes) AddWarning(msg string) { a.warnings = append(a.warnings, msg) }

// Warnings are the warnings added so far, in order.
func (a *Attributes) Warnings() []string { return a.warnings }

// AddAnnotation records key=value for the audit log (Kubernetes' audit annotations, such as
// pod-security.kubernetes.io/audit-violations).
func (a *Attributes) AddAnnotation(key, value string) {
	if a.annotations == nil {
		a.annotations = map[string]string{}
	}
	a.annotations[key] = value
}

// Annotations are the audit annotations added so far.
func (a *Attributes) Annotations() map[string]string { return a.annotations }

// Plugin is one admission step. A plugin implements Mutator, Validator or both.
type Plugin interface {
	Name() string
}

// Mutator may change a.Object, or refuse the write with an error.
type Mutator interface {
	Plugin
	Admit(ctx context.Context, a *Attributes) error
}

// Validator may refuse the write; it must not change a.Object.
type Validator interface {
	Plugin
	Validate(ctx context.Context, a *Attributes) error
}

// ConnectAdmitter marks a plugin that admits CONNECT requests (exec, attach, port-forward and
// proxy) as well as writes, as Kubernetes' admission webhooks and policies do. A connect's
// Object is its options (PodExecOptions, ...). The chain shows connects to no other plugin:
// none of the built-in ones handles them in Kubernetes either.
type ConnectAdmitter interface {
	AdmitsConnect()
}

func sees(p Plugin, a *Attributes) bool {
	if a.Operation != Connect {
		return true
	}
	_, ok := p.(ConnectAdmitter)
	return ok
}

// Chain runs plugins in order. The zero Chain admits everything.
type Chain struct {
	plugins []Plugin
}

// NewChain makes a chain of plugins in the order given (Kubernetes' recommended order: see
// the server's plugin list).
func NewChain(plugins ...Plugin) *Chain { return &Chain{plugins: plugins} }

// Names are the chain's plugin names, in order.
func (c *Chain) Names() []string {
	names := make([]string, len(c.plugins))
	for i, p := range c.plugins {
		names[i] = p.Name()
	}
	return names
}

// Admit runs every mutating plugin in order; the first error stops the chain.
func (c *Chain) Admit(ctx context.Context, a *Attributes) error {
	if c == nil {
		return nil
	}
	for _, p := range c.plugins {
		if m, ok := p.(Mutator); ok && sees(p, a) {
			if err := m.Admit(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate runs every validating plugin in order; the first error stops the chain.
func (c *Chain) Validate(ctx context.Context, a *Attributes) error {
	if c == nil {
		return nil
	}
	for _, p := range c.plugins {
		if v, ok := p.(Validator); ok && sees(p, a) {
			if err := v.Validate(ctx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

// Error is a refusal with the Kubernetes Status the client receives. A plugin returning any
// other error gives the client a 500 (Internal error occurred: ...).
type Error struct{ Status meta.Status }

func (e *Error) Error() string { return e.Status.Message }

// NewError is a refusal with any code and reason.
func NewError(code int, reason, msg string, details *meta.StatusDetails) *Error {
	return &Error{meta.Status{
		TypeMeta: meta.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   meta.StatusFailure, Message: msg, Reason: reason, Code: int32(code), Details: details,
	}}
}

// resource is "pods" or "deployments.apps", as Kubernetes names a resource in messages.
func resource(k *registry.Kind) string {
	if k == nil {
		return ""
	}
	if k.Group == "" {
		return k.Resource
	}
	return k.Resource + "." + k.Group
}

func details(a *Attributes) *meta.StatusDetails {
	d := &meta.StatusDetails{Name: a.Name}
	if a.Kind != nil {
		d.Group, d.Kind = a.Kind.Group, a.Kind.Resource
	}
	return d
}

// Forbidden is Kubernetes' admission refusal: 403, `pods "p" is forbidden: <msg>`.
func Forbidden(a *Attributes, msg string) *Error {
	return NewError(http.StatusForbidden, meta.ReasonForbidden,
		fmt.Sprintf("%s %q is forbidden: %s", resource(a.Kind), a.Name, msg), details(a))
}

// Invalid is a 422 naming every failing field, as the server's own validation answers.
func Invalid(a *Attributes, errs field.ErrorList) *Error {
	causes := make([]meta.StatusCause, 0, len(errs))
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		causes = append(causes, meta.StatusCause{Type: e.Type.CauseType(), Message: e.ErrorBody(), Field: e.Field})
		msgs = append(msgs, e.Error())
	}
	msg := strings.Join(msgs, ", ")
	if len(errs) > 1 {
		msg = "[" + msg + "]"
	}
	kind := ""
	if a.Kind != nil {
		kind = a.Kind.Kind
	}
	d := details(a)
	d.Kind, d.Causes = kind, causes
	return NewError(http.StatusUnprocessableEntity, meta.ReasonInvalid, fmt.Sprintf("%s %q is invalid: %s", kind, a.Name, msg), d)
}

// TooManyRequests is a 429 (an eviction a disruption budget does not allow).
func TooManyRequests(a *Attributes, msg string, causes ...meta.StatusCause) *Error {
	d := details(a)
	d.Causes = causes
	return NewError(http.StatusTooManyRequests, meta.ReasonTooManyRequests, msg, d)
}

// Objects is what plugins read: the server's watch caches, with a fallback to storage for an
// object the cache has not seen yet. Kinds are named by group and resource ("" and "pods").
type Objects interface {
	// Get returns the object, or an error wrapping storage.ErrNotFound.
	Get(ctx context.Context, group, resource, namespace, name string) (meta.Object, error)
	// List returns the objects of a kind in a namespace ("" for all namespaces or a
	// cluster-scoped kind), from the cache.
	List(group, resource, namespace string) []meta.Object
}
