package launcher

import (
	"bytes"
	"reflect"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	sealed, err := seal(key, []byte("the CA key"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("the CA key")) {
		t.Error("sealed data contains the plain text")
	}
	if got, err := open(key, sealed); err != nil || string(got) != "the CA key" {
		t.Errorf("open = %q, %v", got, err)
	}
	if _, err := open(bytes.Repeat([]byte{8}, 32), sealed); err == nil {
		t.Error("another key opened it")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := open(key, sealed); err == nil {
		t.Error("tampered data opened")
	}
}

func TestEtcdServersOf(t *testing.T) {
	env := "SKIFF_PORT=6443\nSKIFF_ETCD_ARGS=--etcd-servers https://a:2379,https://b:2379 --etcd-cafile /x\n"
	if got := etcdServersOf(env); !reflect.DeepEqual(got, []string{"https://a:2379", "https://b:2379"}) {
		t.Errorf("etcdServersOf = %v", got)
	}
	if got := etcdServersOf("SKIFF_ETCD_ARGS=\n"); got != nil {
		t.Errorf("embedded etcd: %v", got)
	}
}
