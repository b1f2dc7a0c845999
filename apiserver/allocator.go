package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/networking"
	"github.com/skiff-sh/skiff/api/validation/field"
	"github.com/skiff-sh/skiff/storage"
)

// Service cluster IPs and node ports are allocated in etcd, one key per allocated value,
// created with create-if-absent: two concurrent creates can never get the same value, and
// allocations survive restarts. An allocation is made before its Service is stored; one
// left behind by a failed create or a crash is released by repair at start-up.
//
// A cluster IP's allocation is an IPAddress object (networking.k8s.io/v1, Kubernetes'
// allocator since 1.33): /registry/networking.k8s.io/ipaddresses/10.96.0.10 with a
// parentRef to its Service, the same key the API serves, so `kubectl get ipaddresses`
// lists exactly what is allocated, and a user's IPAddress reserves its address. The
// ranges are ServiceCIDRs: the API server's --service-cluster-ip-range is the default
// ServiceCIDR "kubernetes" (bootstrap.go), and addresses of any other ServiceCIDR may be
// asked for, or are handed out once the default range is full. Node ports keep plain
// records under /registry/ranges/servicenodeports/ (Kubernetes has no kind for them).

// allocation is the record of one allocated value.
type allocation struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata,omitempty"`
	// Owner is the Service holding the value, "namespace/name".
	Owner string `json:"owner"`
}

func newAllocation() meta.Object { return &allocation{} }

const (
	// legacyIPPrefix held cluster IP allocations before they were IPAddresses; repair
	// moves what it finds there.
	legacyIPPrefix = "/registry/ranges/serviceips/"
	portPrefix     = "/registry/ranges/servicenodeports/"
	// IPAddressPrefix and ServiceCIDRPrefix are the kinds' keys (api/registry's layout).
	IPAddressPrefix   = "/registry/" + networking.GroupName + "/ipaddresses/"
	ServiceCIDRPrefix = "/registry/" + networking.GroupName + "/servicecidrs/"
	kubernetesService = "default/kubernetes"
)

// allocator hands out Service IPs and node ports.
type allocator struct {
	store            storage.Interface
	cidr             netip.Prefix // the default ServiceCIDR's
	portMin, portMax int
}

func newAllocator(store storage.Interface, serviceCIDR string, portMin, portMax int) (*allocator, error) {
	p, err := netip.ParsePrefix(serviceCIDR)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("service CIDR %q: want an IPv4 CIDR", serviceCIDR)
	}
	if p.Bits() > 28 {
		return nil, fmt.Errorf("service CIDR %q is too small", serviceCIDR)
	}
	return &allocator{store: store, cidr: p.Masked(), portMin: portMin, portMax: portMax}, nil
}

func ipKey(ip string) string { return IPAddressPrefix + ip }

// newIPAddress is the allocation record of ip for owner ("namespace/name" of a Service),
// labelled as Kubernetes' allocator labels its own.
func newIPAddress(ip, owner string) *networking.IPAddress {
	ns, name, _ := strings.Cut(owner, "/")
	return &networking.IPAddress{
		TypeMeta: meta.TypeMeta{Kind: "IPAddress", APIVersion: networking.GroupName + "/v1"},
		ObjectMeta: meta.ObjectMeta{Name: ip, UID: uuid.NewString(), CreationTimestamp: meta.Now(),
			Labels: map[string]string{networking.LabelIPAddressFamily: "IPv4", networking.LabelManagedBy: networking.AllocatorManager}},
		Spec: networking.IPAddressSpec{ParentRef: &networking.ParentReference{Resource: "services", Namespace: ns, Name: name}},
	}
}

func newIPAddressObject() meta.Object { return &networking.IPAddress{} }

// ownerOf is who holds an allocation record: "namespace/name" of a Service, "" for an
// IPAddress whose parent is not a Service.
func ownerOf(o meta.Object) string {
	switch r := o.(type) {
	case *allocation:
		return r.Owner
	case *networking.IPAddress:
		if p := r.Spec.ParentRef; p != nil && p.Group == "" && p.Resource == "services" {
			return p.Namespace + "/" + p.Name
		}
	}
	return ""
}

func recordFor(key string) func() meta.Object {
	if strings.HasPrefix(key, IPAddressPrefix) {
		return newIPAddressObject
	}
	return newAllocation
}

// firstIP is the range's first usable address, reserved for the kubernetes Service.
func (a *allocator) firstIP() string { return a.cidr.Addr().Next().String() }

func (a *allocator) size() int64 { return int64(1) << (32 - a.cidr.Bits()) }

// nth returns the range's n-th address.
func (a *allocator) nth(n int64) netip.Addr {
	base := new(big.Int).SetBytes(a.cidr.Addr().AsSlice())
	b := base.Add(base, big.NewInt(n)).FillBytes(make([]byte, 4))
	addr, _ := netip.AddrFromSlice(b)
	return addr
}

func (a *allocator) claim(ctx context.Context, key, owner string) error {
	name := key[strings.LastIndexByte(key, '/')+1:]
	if strings.HasPrefix(key, IPAddressPrefix) {
		return a.store.Create(ctx, key, newIPAddress(name, owner))
	}
	return a.store.Create(ctx, key, &allocation{TypeMeta: meta.TypeMeta{Kind: "RangeAllocation", APIVersion: "v1"},
		ObjectMeta: meta.ObjectMeta{Name: name}, Owner: owner})
}

// claimOrOwn claims key for owner; a key the owner already holds counts as claimed.
func (a *allocator) claimOrOwn(ctx context.Context, key, owner string) error {
	err := a.claim(ctx, key, owner)
	if errors.Is(err, storage.ErrAlreadyExists) {
		cur := recordFor(key)()
		if gerr := a.store.Get(ctx, key, cur); gerr == nil && ownerOf(cur) == owner {
			return nil
		}
	}
	return err
}

func (a *allocator) release(ctx context.Context, key, owner string) {
	a.store.Delete(ctx, key, recordFor(key), func(o meta.Object) error {
		if ownerOf(o) != owner {
			return storage.ErrConflict
		}
		return nil
	})
}

// extraRanges are the ServiceCIDRs besides the default one (IPv4 ranges only: skiff's
// Services are single-stack IPv4).
func (a *allocator) extraRanges(ctx context.Context) []netip.Prefix {
	res, err := a.store.List(ctx, ServiceCIDRPrefix, func() meta.Object { return &networking.ServiceCIDR{} }, storage.ListOptions{})
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, it := range res.Items {
		sc := it.(*networking.ServiceCIDR)
		if sc.DeletionTimestamp != nil {
			continue // a range being deleted hands out nothing new, as in Kubernetes
		}
		for _, c := range sc.Spec.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() && p.Masked() != a.cidr {
				out = append(out, p.Masked())
			}
		}
	}
	return out
}

// usable says whether ip may be a Service's in range r: not its network or broadcast
// address.
func usable(r netip.Prefix, ip netip.Addr) bool {
	return r.Contains(ip) && ip != r.Addr() && ip != lastAddr(r)
}

func lastAddr(r netip.Prefix) netip.Addr {
	b := r.Masked().Addr().As4()
	host := uint32(1)<<(32-r.Bits()) - 1
	v := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// allocateIP claims want (validated) or, if empty, a random free address.
func (a *allocator) allocateIP(ctx context.Context, want, owner string) (string, *field.Error) {
	path := field.NewPath("spec", "clusterIPs").Index(0)
	if want != "" {
		ip, err := netip.ParseAddr(want)
		ok := err == nil && usable(a.cidr, ip)
		if err == nil && !ok {
			for _, r := range a.extraRanges(ctx) {
				ok = ok || usable(r, ip)
			}
		}
		if !ok {
			return "", field.Invalid(path, want, fmt.Sprintf("failed to allocate IP %s: provided IP is not in the valid range. The range of valid IPs is %s", want, a.cidr))
		}
		if err := a.claimOrOwn(ctx, ipKey(want), owner); err != nil {
			if errors.Is(err, storage.ErrAlreadyExists) {
				return "", field.Invalid(path, want, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", want))
			}
			return "", field.InternalError(path, err)
		}
		return want, nil
	}
	// Random probing finds a free address quickly while the range is far from full (a /12
	// has a million); a full scan backs it up.
	n := a.size()
	for i := 0; i < 64; i++ {
		ip := a.nth(2 + rand.Int64N(n-3)) // skip network, the kubernetes Service's and broadcast
		err := a.claim(ctx, ipKey(ip.String()), owner)
		if err == nil {
			return ip.String(), nil
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return "", field.InternalError(path, err)
		}
	}
	for i := int64(2); i < n-1; i++ {
		ip := a.nth(i)
		if err := a.claim(ctx, ipKey(ip.String()), owner); err == nil {
			return ip.String(), nil
		}
	}
	// The default range is full: the other ServiceCIDRs extend it.
	for _, r := range a.extraRanges(ctx) {
		for ip := r.Addr().Next(); usable(r, ip); ip = ip.Next() {
			if err := a.claim(ctx, ipKey(ip.String()), owner); err == nil {
				return ip.String(), nil
			}
		}
	}
	return "", field.InternalError(path, fmt.Errorf("range %s is full", a.cidr))
}

// allocatePort claims want (validated) or, if 0, a random free node port.
func (a *allocator) allocatePort(ctx context.Context, want int32, owner string, path *field.Path) (int32, *field.Error) {
	if want != 0 {
		if err := a.claimOrOwn(ctx, portPrefix+strconv.Itoa(int(want)), owner); err != nil {
			if errors.Is(err, storage.ErrAlreadyExists) {
				return 0, field.Invalid(path, want, "provided port is already allocated")
			}
			return 0, field.InternalError(path, err)
		}
		return want, nil
	}
	span := a.portMax - a.portMin + 1
	start := rand.IntN(span)
	for i := 0; i < span; i++ {
		p := a.portMin + (start+i)%span
		err := a.claim(ctx, portPrefix+strconv.Itoa(p), owner)
		if err == nil {
			return int32(p), nil
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return 0, field.InternalError(path, err)
		}
	}
	return 0, field.InternalError(path, fmt.Errorf("node port range %d-%d is full", a.portMin, a.portMax))
}

func wantsNodePorts(s *core.Service) bool {
	return s.Spec.Type == core.ServiceTypeNodePort || s.Spec.Type == core.ServiceTypeLoadBalancer
}

func wantsClusterIP(s *core.Service) bool {
	return s.Spec.Type != core.ServiceTypeExternalName && s.Spec.ClusterIP != core.ClusterIPNone
}

// allocateService fills in a Service's cluster IP and node ports, returning what it claimed
// so a failed write can release it.
// On update (creating false) only what is missing is claimed: the rest is held already.
func (a *allocator) allocateService(ctx context.Context, svc *core.Service, creating bool) ([]string, field.ErrorList) {
	owner := svc.Namespace + "/" + svc.Name
	var claimed []string
	var errs field.ErrorList
	if wantsClusterIP(svc) && (creating || svc.Spec.ClusterIP == "") {
		ip, ferr := a.allocateIP(ctx, svc.Spec.ClusterIP, owner)
		if ferr != nil {
			errs = append(errs, ferr)
		} else {
			claimed = append(claimed, ipKey(ip))
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
		}
	}
	if wantsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			if !creating && svc.Spec.Ports[i].NodePort != 0 {
				continue
			}
			p, ferr := a.allocatePort(ctx, svc.Spec.Ports[i].NodePort, owner, field.NewPath("spec", "ports").Index(i).Child("nodePort"))
			if ferr != nil {
				errs = append(errs, ferr)
				continue
			}
			claimed = append(claimed, portPrefix+strconv.Itoa(int(p)))
			svc.Spec.Ports[i].NodePort = p
		}
	}
	if len(errs) > 0 {
		a.releaseKeys(ctx, claimed, owner)
		return nil, errs
	}
	return claimed, nil
}

func (a *allocator) releaseKeys(ctx context.Context, keys []string, owner string) {
	for _, k := range keys {
		a.release(ctx, k, owner)
	}
}

// serviceKeys lists the allocation keys a stored Service holds.
func serviceKeys(svc *core.Service) []string {
	var keys []string
	if wantsClusterIP(svc) && svc.Spec.ClusterIP != "" {
		keys = append(keys, ipKey(svc.Spec.ClusterIP))
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			keys = append(keys, portPrefix+strconv.Itoa(int(p.NodePort)))
		}
	}
	return keys
}

// releaseUnused releases what old held and updated no longer does.
func (a *allocator) releaseUnused(ctx context.Context, old, updated *core.Service) {
	keep := map[string]bool{}
	for _, k := range serviceKeys(updated) {
		keep[k] = true
	}
	for _, k := range serviceKeys(old) {
		if !keep[k] {
			a.release(ctx, k, old.Namespace+"/"+old.Name)
		}
	}
}

// repair releases allocations whose Service does not exist or no longer holds them (left
// by a failed create or a crash between allocating and storing), records the addresses of
// Services stored before allocations were IPAddresses, and drops those older records.
// IPAddresses that the allocator did not make (a user's reservations) are left alone.
func (a *allocator) repair(ctx context.Context, services []meta.Object) error {
	held := map[string]string{}
	for _, o := range services {
		svc := o.(*core.Service)
		for _, k := range serviceKeys(svc) {
			held[k] = svc.Namespace + "/" + svc.Name
		}
	}
	for key, owner := range held {
		if strings.HasPrefix(key, IPAddressPrefix) {
			if err := a.claimOrOwn(ctx, key, owner); err != nil && !errors.Is(err, storage.ErrAlreadyExists) {
				return err
			}
		}
	}
	legacy, err := a.store.List(ctx, legacyIPPrefix, newAllocation, storage.ListOptions{})
	if err != nil {
		return err
	}
	for _, it := range legacy.Items {
		al := it.(*allocation)
		a.release(ctx, legacyIPPrefix+al.Name, al.Owner)
	}
	for _, prefix := range []string{IPAddressPrefix, portPrefix} {
		res, err := a.store.List(ctx, prefix, recordFor(prefix), storage.ListOptions{})
		if err != nil {
			return err
		}
		for _, it := range res.Items {
			if ip, ok := it.(*networking.IPAddress); ok && ip.Labels[networking.LabelManagedBy] != networking.AllocatorManager {
				continue
			}
			key := prefix + it.GetObjectMeta().Name
			if owner := ownerOf(it); held[key] == "" && owner != kubernetesService {
				a.release(ctx, key, owner)
			}
		}
	}
	return nil
}

// hostPort splits the API server's listen address for the kubernetes Service's endpoints.
func hostPort(listen string) (string, int32) {
	first, _, _ := strings.Cut(listen, ",")
	host, port, err := net.SplitHostPort(strings.TrimSpace(first))
	if err != nil {
		return "127.0.0.1", 6443
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	n, _ := strconv.Atoi(port)
	return host, int32(n)
}
