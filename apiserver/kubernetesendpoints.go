package apiserver

import (
	"context"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/defaults"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/storage"
)

// The kubernetes Service has no selector: the API servers write its endpoints themselves, as
// kube-apiserver does — the Endpoints default/kubernetes, labelled skip-mirror so that the
// mirroring controller leaves it alone, and the EndpointSlice default/kubernetes next to it
// (clients and the conformance suite get it by that name). Servers on several ports of one
// machine (skiff up --apiservers N) make several subsets: the first port's slice is
// "kubernetes", each further port's "kubernetes-PORT".

const (
	labelServiceName = "kubernetes.io/service-name"
	labelSkipMirror  = "endpointslice.kubernetes.io/skip-mirror"
)

// setKubernetesEndpoints makes default/kubernetes list subsets. With keep, an Endpoints
// that exists is kept as it is (a server starting under the lease reconciler must not drop
// the others); the slices follow whatever the Endpoints ends up holding.
func (s *Server) setKubernetesEndpoints(ctx context.Context, subsets []core.EndpointSubset, keep bool) error {
	epKind, _ := s.reg.Lookup("", "v1", "endpoints")
	key := epKind.Key("default", "kubernetes")
	var cur []core.EndpointSubset
	_, err := s.store.GuaranteedUpdate(ctx, key, epKind.New, func(o meta.Object) (meta.Object, error) {
		c := o.(*core.Endpoints)
		if keep {
			subsets = c.Subsets
		}
		cur = c.Subsets
		if reflect.DeepEqual(c.Subsets, subsets) && c.Labels[labelSkipMirror] == "true" {
			return nil, errUnchanged
		}
		c.Subsets = subsets
		c.Labels = setLabel(c.Labels, labelSkipMirror, "true")
		cur = subsets
		return c, nil
	})
	if errors.Is(err, storage.ErrNotFound) {
		ep := &core.Endpoints{TypeMeta: meta.TypeMeta{Kind: "Endpoints", APIVersion: "v1"},
			ObjectMeta: meta.ObjectMeta{Name: "kubernetes", Namespace: "default",
				Labels: map[string]string{labelSkipMirror: "true"}}, Subsets: subsets}
		defaults.Object(ep)
		ep.UID, ep.CreationTimestamp = uuid.NewString(), meta.Now()
		cur, err = subsets, s.store.Create(ctx, key, ep)
		if errors.Is(err, storage.ErrAlreadyExists) {
			return nil // another server created it: the next round writes the slices
		}
	}
	if err != nil && !errors.Is(err, errUnchanged) {
		return err
	}
	return s.setKubernetesSlices(ctx, cur)
}

// kubernetesSlices are the EndpointSlices of subsets, by name.
func kubernetesSlices(subsets []core.EndpointSubset) map[string]*discovery.EndpointSlice {
	out := map[string]*discovery.EndpointSlice{}
	for i, ss := range subsets {
		if len(ss.Ports) == 0 {
			continue
		}
		name := "kubernetes"
		if i > 0 {
			name += "-" + strconv.Itoa(int(ss.Ports[0].Port))
		}
		sl := &discovery.EndpointSlice{TypeMeta: meta.TypeMeta{Kind: "EndpointSlice", APIVersion: "discovery.k8s.io/v1"},
			ObjectMeta:  meta.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{labelServiceName: "kubernetes"}},
			AddressType: discovery.AddressTypeIPv4}
		for _, p := range ss.Ports {
			p := p
			sl.Ports = append(sl.Ports, discovery.EndpointPort{Name: &p.Name, Protocol: &p.Protocol, Port: &p.Port})
		}
		ready := true
		for _, a := range ss.Addresses {
			if ip := net.ParseIP(a.IP); ip != nil && ip.To4() == nil {
				sl.AddressType = discovery.AddressTypeIPv6
			}
			sl.Endpoints = append(sl.Endpoints, discovery.Endpoint{Addresses: []string{a.IP},
				Conditions: discovery.EndpointConditions{Ready: &ready}})
		}
		out[name] = sl
	}
	return out
}

// setKubernetesSlices writes the slices of subsets and deletes those of ports no longer
// served.
func (s *Server) setKubernetesSlices(ctx context.Context, subsets []core.EndpointSubset) error {
	kind, ok := s.reg.Lookup("discovery.k8s.io", "v1", "endpointslices")
	if !ok {
		return nil
	}
	want := kubernetesSlices(subsets)
	for name, sl := range want {
		key := kind.Key("default", name)
		_, err := s.store.GuaranteedUpdate(ctx, key, kind.New, func(o meta.Object) (meta.Object, error) {
			c := o.(*discovery.EndpointSlice)
			if reflect.DeepEqual(c.Endpoints, sl.Endpoints) && reflect.DeepEqual(c.Ports, sl.Ports) &&
				c.AddressType == sl.AddressType && c.Labels[labelServiceName] == "kubernetes" {
				return nil, errUnchanged
			}
			c.Endpoints, c.Ports, c.AddressType = sl.Endpoints, sl.Ports, sl.AddressType
			c.Labels = setLabel(c.Labels, labelServiceName, "kubernetes")
			return c, nil
		})
		if errors.Is(err, storage.ErrNotFound) {
			defaults.Object(sl)
			sl.UID, sl.CreationTimestamp = uuid.NewString(), meta.Now()
			if err = s.store.Create(ctx, key, sl); errors.Is(err, storage.ErrAlreadyExists) {
				err = nil
			}
		}
		if err != nil && !errors.Is(err, errUnchanged) {
			return err
		}
	}
	res, err := s.store.List(ctx, kind.Prefix("default"), kind.New, storage.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range res.Items {
		sl := o.(*discovery.EndpointSlice)
		port, isPort := strings.CutPrefix(sl.Name, "kubernetes-")
		if _, err := strconv.Atoi(port); err != nil || !isPort || want[sl.Name] != nil ||
			sl.Labels[labelServiceName] != "kubernetes" || sl.Labels["endpointslice.kubernetes.io/managed-by"] != "" {
			continue
		}
		if _, err := s.store.Delete(ctx, kind.Key("default", sl.Name), kind.New, nil); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

func setLabel(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
