// Package storage keeps API objects in etcd. Keys are /registry/<group>/<resource>/<namespace>/<name>
// (the group segment is omitted for the core group, as Kubernetes does), values are the
// object's JSON without its resourceVersion; an object's resourceVersion is the etcd
// revision that last modified it, set on every read. Every write is an etcd transaction
// with a revision precondition, so a stale write is a Conflict, never a lost update.
package storage

import (
	"context"
	"errors"

	"github.com/skiff-sh/skiff/api/meta"
)

// Errors callers check with errors.Is. Returned errors wrap these with the key or detail.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict: a resourceVersion or uid precondition did not hold.
	ErrConflict = errors.New("conflict")
	// ErrExpired: the requested resourceVersion is older than what is still kept (HTTP 410).
	ErrExpired = errors.New("resource version expired")
	// ErrTooLargeResourceVersion: the requested resourceVersion is newer than the store (the
	// caller may wait and retry; Kubernetes answers 504 with a retry hint).
	ErrTooLargeResourceVersion = errors.New("too large resource version")
	// ErrInvalidContinue: a continue token that cannot be decoded.
	ErrInvalidContinue = errors.New("invalid continue token")
	// ErrNoSpace: etcd's database reached its quota (the NOSPACE alarm); it takes no writes
	// until space is reclaimed (RunMaintenance) and the alarm disarmed.
	ErrNoSpace = errors.New("database space exceeded")
)

// NewFunc makes an empty object of the resource's kind to decode into.
type NewFunc func() meta.Object

// UpdateFunc is given a copy of the current object (with its resourceVersion set) and returns
// the object to store. Returning an error aborts the update with that error.
type UpdateFunc func(current meta.Object) (meta.Object, error)

// ListOptions selects a page of a list.
type ListOptions struct {
	// ResourceVersion: 0 = the newest revision; >0 = exactly that revision (ErrExpired if compacted).
	ResourceVersion int64
	// Limit caps the number of items returned (0 = no limit).
	Limit int64
	// Continue is the token from a previous page; it carries the revision, so all pages
	// of one list are read at the same revision.
	Continue string
	// Predicate, if set, keeps only the objects it accepts (applied before Limit counts).
	Predicate func(meta.Object) bool
}

// ListResult is one page.
type ListResult struct {
	Items []meta.Object
	// ResourceVersion is the revision the list was read at.
	ResourceVersion int64
	// Continue is set when more items remain.
	Continue string
	// RemainingItemCount is the number of keys after this page (without a predicate only).
	RemainingItemCount *int64
}

// Event is one change to an object, as seen by a watch.
type Event struct {
	// meta.Added, meta.Modified, meta.Deleted; or meta.Bookmark (Object nil) to say the
	// watch has seen every change up to ResourceVersion: etcd's progress notification,
	// sent after a ProgressRequester asked for one.
	Type string
	// Object is the object after the change (for Deleted: the last state, with the
	// resourceVersion of the deletion).
	Object meta.Object
	// PrevObject is the object before the change (nil for Added); watch filters use it to
	// turn "stopped matching" into Deleted and "started matching" into Added.
	PrevObject meta.Object
	// ResourceVersion is the etcd revision of the change.
	ResourceVersion int64
	// Size is how many bytes the stored forms of Object and PrevObject take (0 when
	// unknown): what a cache keeping the event holds on to, roughly.
	Size int
}

// Interface is the object store one API server uses for every resource.
type Interface interface {
	// Create stores obj at key if nothing is there (ErrAlreadyExists otherwise) and sets its
	// resourceVersion.
	Create(ctx context.Context, key string, obj meta.Object) error
	// Get decodes the object at key into out (ErrNotFound if none).
	Get(ctx context.Context, key string, out meta.Object) error
	// GuaranteedUpdate reads the object at key, applies tryUpdate and writes the result if the
	// object did not change meanwhile, retrying tryUpdate on a concurrent change. The stored
	// object is returned with its new resourceVersion. If tryUpdate returns an object equal to
	// the current one, nothing is written. A resourceVersion precondition (the version the
	// client sent) is for tryUpdate to check against current, failing with ErrConflict.
	GuaranteedUpdate(ctx context.Context, key string, newFunc NewFunc, tryUpdate UpdateFunc, opts ...UpdateOption) (meta.Object, error)
	// Delete removes the object at key if precondition (may be nil) accepts the current
	// object, retrying on a concurrent change; it returns the last state, with the
	// deletion's revision as resourceVersion. See CheckPreconditions.
	Delete(ctx context.Context, key string, newFunc NewFunc, precondition func(current meta.Object) error) (meta.Object, error)
	// List returns the objects under prefix (which ends in "/").
	List(ctx context.Context, prefix string, newFunc NewFunc, opts ListOptions) (*ListResult, error)
	// Watch streams every change under prefix after revision fromRV (0 = from now). The
	// event channel closes when ctx ends or the watch fails; on failure the error is sent
	// on the error channel (capacity 1) before the event channel closes, so after the close
	// a non-blocking receive tells the two apart. A watch from a compacted revision fails
	// with ErrExpired: normally at once, from Watch itself; through the error channel if
	// the compaction races the watch's start.
	Watch(ctx context.Context, prefix string, newFunc NewFunc, fromRV int64) (<-chan Event, <-chan error, error)
	// CurrentRevision returns etcd's current revision (a consistent read).
	CurrentRevision(ctx context.Context) (int64, error)
	// Count returns the number of keys under prefix.
	Count(ctx context.Context, prefix string) (int64, error)
}

// ProgressRequester is implemented by stores whose watches can be asked where they are
// (etcd's RequestProgress): every open watch of the store then sends a meta.Bookmark event
// with the revision it has reached, even when nothing under its prefix changed. A watch
// cache uses it to catch up with a revision written under another prefix.
type ProgressRequester interface {
	RequestWatchProgress(ctx context.Context) error
}

// UpdateOption tunes one GuaranteedUpdate.
type UpdateOption func(*updateOptions)

type updateOptions struct{ cached meta.Object }

// WithCachedObject lets GuaranteedUpdate start from a copy the caller believes current (a
// watch cache's), saving the initial read; a stale copy only costs the retry it would have
// cost anyway. obj is not modified.
func WithCachedObject(obj meta.Object) UpdateOption {
	return func(o *updateOptions) { o.cached = obj }
}
