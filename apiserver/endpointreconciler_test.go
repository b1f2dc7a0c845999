package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/discovery"
	"github.com/skiff-sh/skiff/storage/storagetest"
)

func TestMasterSubsets(t *testing.T) {
	https := func(port int32) []core.EndpointPort {
		return []core.EndpointPort{{Name: "https", Port: port, Protocol: core.ProtocolTCP}}
	}
	addrs := func(ips ...string) []core.EndpointAddress {
		var out []core.EndpointAddress
		for _, ip := range ips {
			out = append(out, core.EndpointAddress{IP: ip})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []string
		want []core.EndpointSubset
	}{
		{"none", nil, nil},
		{"one", []string{"10.0.0.1:6443"}, []core.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: https(6443)}}},
		{"same port, sorted", []string{"10.0.0.3:6443", "10.0.0.1:6443", "10.0.0.2:6443"},
			[]core.EndpointSubset{{Addresses: addrs("10.0.0.1", "10.0.0.2", "10.0.0.3"), Ports: https(6443)}}},
		{"ports differ (one machine)", []string{"127.0.0.1:6444", "127.0.0.1:6443"}, []core.EndpointSubset{
			{Addresses: addrs("127.0.0.1"), Ports: https(6443)}, {Addresses: addrs("127.0.0.1"), Ports: https(6444)}}},
		{"duplicates and garbage dropped", []string{"10.0.0.1:6443", "10.0.0.1:6443", "nonsense", "10.0.0.2:0"},
			[]core.EndpointSubset{{Addresses: addrs("10.0.0.1"), Ports: https(6443)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := masterSubsets(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("masterSubsets(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// Two API servers on one etcd: the kubernetes endpoints list both; one that stops leaves
// the list, and the other's address stays.
func TestKubernetesEndpointsListEveryServer(t *testing.T) {
	e := storagetest.StartEtcd(t)
	type running struct {
		addr   string
		cancel context.CancelFunc
		done   chan error
	}
	start := func() *running {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		r := &running{addr: addr, cancel: cancel, done: make(chan error, 1)}
		go func() {
			r.done <- Run(ctx, Config{Listen: addr, Insecure: true, EtcdServers: []string{e.Endpoint()},
				MasterLeaseTTL: 5 * time.Second, MasterLeaseInterval: time.Second})
		}()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	a, b := start(), start()
	endpoints := func() string {
		resp, err := http.Get("http://" + a.addr + "/api/v1/namespaces/default/endpoints/kubernetes")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var ep core.Endpoints
		if err := json.NewDecoder(resp.Body).Decode(&ep); err != nil {
			return err.Error()
		}
		var got []string
		for _, s := range ep.Subsets {
			for _, ad := range s.Addresses {
				for _, p := range s.Ports {
					got = append(got, fmt.Sprintf("%s:%d", ad.IP, p.Port))
				}
			}
		}
		return fmt.Sprint(got)
	}
	// The EndpointSlices the servers write beside it (name=HOST:PORT), and the Endpoints'
	// skip-mirror label (the mirroring controller must not copy it as well).
	slicesOf := func() string {
		resp, err := http.Get("http://" + a.addr + "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		var list discovery.EndpointSliceList
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			return err.Error()
		}
		var got []string
		for _, sl := range list.Items {
			for _, e := range sl.Endpoints {
				got = append(got, fmt.Sprintf("%s=%s:%d/%s", sl.Name, e.Addresses[0], *sl.Ports[0].Port, sl.Labels[labelServiceName]))
			}
		}
		sort.Strings(got)
		var ep core.Endpoints
		if r, err := http.Get("http://" + a.addr + "/api/v1/namespaces/default/endpoints/kubernetes"); err == nil {
			json.NewDecoder(r.Body).Decode(&ep)
			r.Body.Close()
		}
		return fmt.Sprint(got, " skip-mirror=", ep.Labels[labelSkipMirror])
	}
	wantSlices := func(addrs ...string) string {
		var out []string
		for i, hp := range masterSubsetsStrings(addrs...) {
			name := "kubernetes"
			if i > 0 {
				_, port, _ := net.SplitHostPort(hp)
				name += "-" + port
			}
			out = append(out, name+"="+hp+"/kubernetes")
		}
		sort.Strings(out)
		return fmt.Sprint(out, " skip-mirror=true")
	}
	want := fmt.Sprint(masterSubsetsStrings(a.addr, b.addr))
	deadline := time.Now().Add(60 * time.Second)
	for got := endpoints(); got != want; got = endpoints() {
		if time.Now().After(deadline) {
			t.Fatalf("kubernetes endpoints = %s, want %s", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for got, want := slicesOf(), wantSlices(a.addr, b.addr); got != want; got = slicesOf() {
		if time.Now().After(deadline) {
			t.Fatalf("kubernetes endpoint slices = %s, want %s", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.cancel()
	if err := <-b.done; err != nil {
		t.Fatalf("second server: %v", err)
	}
	b.done <- nil // for the cleanup
	want = fmt.Sprint([]string{a.addr})
	deadline = time.Now().Add(30 * time.Second)
	for got := endpoints(); got != want; got = endpoints() {
		if time.Now().After(deadline) {
			t.Fatalf("after the second server stopped: kubernetes endpoints = %s, want %s", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The second server's slice goes with it.
	for got, want := slicesOf(), wantSlices(a.addr); got != want; got = slicesOf() {
		if time.Now().After(deadline) {
			t.Fatalf("after the second server stopped: kubernetes endpoint slices = %s, want %s", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// masterSubsetsStrings is the HOST:PORT list masterSubsets makes of addrs, in its order.
func masterSubsetsStrings(addrs ...string) []string {
	var out []string
	for _, s := range masterSubsets(addrs) {
		for _, a := range s.Addresses {
			out = append(out, fmt.Sprintf("%s:%d", a.IP, s.Ports[0].Port))
		}
	}
	return out
}
