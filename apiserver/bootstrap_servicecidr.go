package apiserver

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/storage"
)

// bootstrapServiceCIDR makes the Service IP range visible as Kubernetes' default
// ServiceCIDR "kubernetes", Ready. One left by an earlier run with another range is kept
// and reported, as Kubernetes does: the flag and the object disagree, and which is right
// is the administrator's call.
func (s *Server) bootstrapServiceCIDR(ctx context.Context) error {
	want := []string{s.alloc.cidr.String()}
	sc := &networking.ServiceCIDR{
		TypeMeta: meta.TypeMeta{Kind: "ServiceCIDR", APIVersion: networking.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: networking.DefaultServiceCIDRName, UID: uuid.NewString(), CreationTimestamp: meta.Now(),
			Labels: map[string]string{"app.kubernetes.io/managed-by": "skiff-apiserver"}},
		Spec: networking.ServiceCIDRSpec{CIDRs: want},
		Status: networking.ServiceCIDRStatus{Conditions: []meta.Condition{{
			Type: networking.ServiceCIDRConditionReady, Status: meta.ConditionTrue, LastTransitionTime: meta.Now(),
			Reason: "", Message: "Kubernetes default Service CIDR is ready"}}},
	}
	key := ServiceCIDRPrefix + networking.DefaultServiceCIDRName
	err := s.store.Create(ctx, key, sc)
	if errors.Is(err, storage.ErrAlreadyExists) {
		cur := &networking.ServiceCIDR{}
		if err := s.store.Get(ctx, key, cur); err != nil {
			return fmt.Errorf("read the default ServiceCIDR: %w", err)
		}
		if !slices.Equal(cur.Spec.CIDRs, want) {
			s.log.Warn("the default ServiceCIDR does not match --service-cluster-ip-range; configure the flag to match it or delete the ServiceCIDR",
				"serviceCIDR", cur.Spec.CIDRs, "flag", want)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("create the default ServiceCIDR: %w", err)
	}
	return nil
}
