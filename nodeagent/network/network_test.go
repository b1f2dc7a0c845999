package network

import (
	"reflect"
	"testing"

	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

func TestWant(t *testing.T) {
	node := func(name, cidr, ip string) *core.Node {
		n := &core.Node{ObjectMeta: meta.ObjectMeta{Name: name}}
		n.Spec.PodCIDR = cidr
		if ip != "" {
			n.Status.Addresses = []core.NodeAddress{{Type: core.NodeHostName, Address: name}, {Type: core.NodeInternalIP, Address: ip}}
		}
		return n
	}
	nodes := []*core.Node{
		node("self", "10.244.0.0/24", "192.0.2.1"),
		node("b", "10.244.1.0/24", "192.0.2.2"),
		node("no-cidr", "", "192.0.2.3"),
		node("no-ip", "10.244.3.0/24", ""),
	}
	want := map[string]string{"10.244.1.0/24": "192.0.2.2"}
	if got := Want("self", nodes); !reflect.DeepEqual(got, want) {
		t.Errorf("Want = %v, want %v", got, want)
	}
}
