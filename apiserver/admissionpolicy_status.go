package apiserver

// The ValidatingAdmissionPolicy status controller runs inside the API server, as Kubernetes'
// runs in kube-apiserver: it type-checks each policy's validations against the kinds its
// matchConstraints name (their types come from this process's kind registry: Go types for
// built-in kinds, structural schemas for custom resources) and writes status.typeChecking
// (empty warnings included, which is how clients tell the check is done) and
// status.observedGeneration. Kubernetes sets no conditions here, and neither does skiff.

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/google/cel-go/common/types"

	"github.com/skiff-sh/skiff/api/admissioncel"
	"github.com/skiff-sh/skiff/api/admissionpolicy"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage"
)

// followAdmissionPolicies type-checks every policy whose status does not describe its
// current generation, on each change the watch cache sees.
func (s *Server) followAdmissionPolicies(ctx context.Context) {
	k, ok := s.reg.Lookup(ar.GroupName, "v1", "validatingadmissionpolicies")
	if !ok {
		return
	}
	work := make(chan *ar.ValidatingAdmissionPolicy, 256)
	go follow(ctx, s.cache(k), func() {}, func(typ string, o meta.Object) {
		p, ok := o.(*ar.ValidatingAdmissionPolicy)
		if !ok || typ == meta.Deleted || (p.Status.TypeChecking != nil && p.Status.ObservedGeneration == p.Generation) {
			return
		}
		select {
		case work <- p:
		case <-ctx.Done():
		}
	}, s.log)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case p := <-work:
				if err := s.writePolicyStatus(ctx, k, p); err != nil && ctx.Err() == nil {
					s.log.Warn("ValidatingAdmissionPolicy status", "name", p.Name, "err", err)
				}
			}
		}
	}()
}

// writePolicyStatus stores the type check of p's generation, unless the policy changed
// meanwhile (its next event brings it back).
func (s *Server) writePolicyStatus(ctx context.Context, k *registry.Kind, p *ar.ValidatingAdmissionPolicy) error {
	warnings := s.typeCheckPolicy(p)
	_, err := s.store.GuaranteedUpdate(ctx, k.Key("", p.Name), k.New, func(cur meta.Object) (meta.Object, error) {
		o := cur.(*ar.ValidatingAdmissionPolicy)
		if o.UID != p.UID || o.Generation != p.Generation {
			return nil, errPolicyChanged
		}
		if o.Status.TypeChecking != nil && o.Status.ObservedGeneration == p.Generation {
			return nil, errPolicyChanged // written already (by another API server)
		}
		o.Status.ObservedGeneration = p.Generation
		o.Status.TypeChecking = &ar.TypeChecking{ExpressionWarnings: warnings}
		return o, nil
	})
	if errors.Is(err, errPolicyChanged) || errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

var errPolicyChanged = errors.New("policy changed")

// maxTypesToCheck bounds the kinds one policy is checked against, as Kubernetes does.
const maxTypesToCheck = 10

// typeCheckPolicy checks p against the kinds its resource rules name exactly (rules with
// wildcards or subresources are skipped, as in Kubernetes).
func (s *Server) typeCheckPolicy(p *ar.ValidatingAdmissionPolicy) []ar.ExpressionWarning {
	b := admissioncel.NewTypeBuilder()
	var resources []admissionpolicy.Resource
	seen := map[*registry.Kind]bool{}
	if mc := p.Spec.MatchConstraints; mc != nil {
	rules:
		for _, r := range mc.ResourceRules {
			for _, g := range r.APIGroups {
				for _, v := range r.APIVersions {
					for _, res := range r.Resources {
						if g == "*" || v == "*" || strings.ContainsAny(res, "*/") {
							continue
						}
						k, ok := s.reg.Lookup(g, v, res)
						if !ok || seen[k] || k.CreateOnly {
							continue
						}
						seen[k] = true
						resources = append(resources, admissionpolicy.Resource{GVK: gvkString(k), Object: kindType(b, k)})
						if len(resources) == maxTypesToCheck {
							break rules
						}
					}
				}
			}
		}
	}
	var params *types.Type
	if pk := p.Spec.ParamKind; pk != nil {
		g, v, ok := strings.Cut(pk.APIVersion, "/")
		if !ok {
			g, v = "", pk.APIVersion
		}
		if k, ok := s.reg.LookupKind(g, v, pk.Kind); ok {
			params = kindType(b, k)
		}
	}
	return admissionpolicy.TypeCheck(&p.Spec, b, resources, params)
}

func gvkString(k *registry.Kind) string {
	return k.APIVersion() + ", Kind=" + k.Kind
}

// kindType is the declared type of a kind's objects.
func kindType(b *admissioncel.TypeBuilder, k *registry.Kind) *types.Type {
	if k.Custom != nil {
		if k.Custom.Schema == nil {
			return types.DynType
		}
		return b.FromSchema(k.Custom.Schema.Props, true, reflect.TypeFor[meta.ObjectMeta]())
	}
	return b.FromGo(k.Type)
}
