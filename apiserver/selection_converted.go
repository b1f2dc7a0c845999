package apiserver

// Field selectors over a custom resource's selectableFields read the object in the request's
// version. Objects are kept in their storage version, so for a kind converted by a webhook
// the selector's custom fields can only be matched after conversion. The watch cache matches
// its filters under its own lock and must never wait for a webhook, so such a selection is
// split: namespace, labels and metadata fields are matched on stored objects (by the cache or
// etcd, as for any kind), the custom fields on the converted objects, by the handler.

import (
	"context"

	"github.com/skiff-sh/skiff/api/fields"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// splitConverted returns the part of sel that can be matched on stored objects and the field
// requirements that need the object converted (nil if none: the kind has no webhook, or the
// selector names metadata fields only).
func (sel *selection) splitConverted(k *registry.Kind) (*selection, fields.Selector) {
	if k.Custom == nil || k.Custom.Webhook == nil || sel.field.Empty() {
		return sel, nil
	}
	var stored, converted []fields.Selector
	for _, r := range sel.field.Requirements() {
		term := fields.OneTermEqualSelector(r.Field, r.Value)
		if r.Operator == fields.NotEquals {
			term = fields.OneTermNotEqualSelector(r.Field, r.Value)
		}
		if r.Field == "metadata.name" || r.Field == "metadata.namespace" {
			stored = append(stored, term)
		} else {
			converted = append(converted, term)
		}
	}
	if len(converted) == 0 {
		return sel, nil
	}
	return &selection{namespace: sel.namespace, label: sel.label, field: fields.AndSelectors(stored...)}, fields.AndSelectors(converted...)
}

// filterConverted keeps the items (in k's version already) that match conv.
func filterConverted(k *registry.Kind, items []meta.Object, conv fields.Selector) []meta.Object {
	if conv == nil {
		return items
	}
	out := items[:0]
	for _, it := range items {
		if conv.Matches(fields.Set(k.SelectableFields(it))) {
			out = append(out, it)
		}
	}
	return out
}

// convertedPredicate is a storage predicate (for lists read page by page from etcd) that
// converts each object to match conv: a webhook call per object in another version, the price
// of pages that stay consistent. The first conversion error is kept in *errp and the object
// is skipped.
func (s *Server) convertedPredicate(ctx context.Context, k *registry.Kind, stored *selection, conv fields.Selector, errp **apiError) func(meta.Object) bool {
	return func(o meta.Object) bool {
		if !stored.matches(k, o) {
			return false
		}
		c, aerr := s.toVersion(ctx, k, o)
		if aerr != nil {
			if *errp == nil {
				*errp = aerr
			}
			return false
		}
		return conv.Matches(fields.Set(k.SelectableFields(c)))
	}
}

// convertEvent is a watch event in k's version, filtered by conv (nil: no filter) as the
// watch cache filters: an object that starts matching is Added, one that stops matching is
// Deleted in its last matching state at this revision. ok is false if the watcher does not
// see the event. The object and its previous state go to a webhook in one review.
func (s *Server) convertEvent(ctx context.Context, k *registry.Kind, ev watchcache.Event, conv fields.Selector) (obj meta.Object, typ string, ok bool, aerr *apiError) {
	if conv == nil || ev.Type != meta.Modified || ev.PrevObject == nil {
		o, aerr := s.toVersion(ctx, k, ev.Object)
		if aerr != nil {
			return nil, "", false, aerr
		}
		if conv != nil && !conv.Matches(fields.Set(k.SelectableFields(o))) {
			return nil, "", false, nil
		}
		return o, ev.Type, true, nil
	}
	both, aerr := s.toVersions(ctx, k, []meta.Object{ev.Object, ev.PrevObject})
	if aerr != nil {
		return nil, "", false, aerr
	}
	now := conv.Matches(fields.Set(k.SelectableFields(both[0])))
	before := conv.Matches(fields.Set(k.SelectableFields(both[1])))
	switch {
	case now && before:
		return both[0], meta.Modified, true, nil
	case now:
		return both[0], meta.Added, true, nil
	case before:
		return storage.WithResourceVersion(both[1], ev.ResourceVersion), meta.Deleted, true, nil
	}
	return nil, "", false, nil
}
