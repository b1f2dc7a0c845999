package apiserver_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-sh/skiff/test/harness"
)

// Settings Kubernetes refuses are refused, not silently dropped (reliability issue:
// "quietly ignored settings").
func TestChangesKubernetesRefusesAreRefused(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{})
	created := a.must(201, "POST", cms, cm("keep", "a"))
	uid := get(created, "metadata", "uid").(string)
	a.must(201, "POST", "/api/v1/namespaces", `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"other"}}`)

	cases := []struct {
		name, method, path, contentType, body string
		code                                  int
		reason, msg                           string
	}{
		{"patch moving the object to another namespace", "PATCH", cms + "/keep", "application/merge-patch+json",
			`{"metadata":{"namespace":"other"}}`, 400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request"},
		{"patch changing the uid", "PATCH", cms + "/keep", "application/merge-patch+json",
			`{"metadata":{"uid":"d6a3cbd4-7c09-4a8c-9a0e-5e2b6c1d0f11"}}`, 422, "Invalid",
			`metadata.uid: Invalid value: "d6a3cbd4-7c09-4a8c-9a0e-5e2b6c1d0f11": field is immutable`},
		{"update of another object's uid (deleted and recreated meanwhile)", "PUT", cms + "/keep", "",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"keep","uid":"d6a3cbd4-7c09-4a8c-9a0e-5e2b6c1d0f11"},"data":{"k":"b"}}`, 409, "Conflict",
			"Precondition failed: UID in precondition: d6a3cbd4-7c09-4a8c-9a0e-5e2b6c1d0f11, UID in object meta: " + uid},
		{"list at resourceVersion -1", "GET", cms + "?resourceVersion=-1", "", "", 422, "Invalid",
			`resourceVersion: Invalid value: "-1": strconv.ParseUint: parsing "-1": invalid syntax`},
		{"paged list at resourceVersion -1", "GET", cms + "?resourceVersion=-1&limit=5", "", "", 422, "Invalid",
			`resourceVersion: Invalid value: "-1"`},
		{"watch from resourceVersion -5", "GET", cms + "?watch=1&resourceVersion=-5", "", "", 422, "Invalid",
			`resourceVersion: Invalid value: "-5": strconv.ParseUint: parsing "-5": invalid syntax`},
		{"watch from a resourceVersion that is no number", "GET", cms + "?watch=1&resourceVersion=abc", "", "", 422, "Invalid",
			`resourceVersion: Invalid value: "abc"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, st := a.do(c.method, c.path, c.contentType, []byte(c.body))
			msg, _ := st["message"].(string)
			if code != c.code || st["reason"] != c.reason || !strings.Contains(msg, c.msg) {
				t.Fatalf("got %d %v %q, want %d %s containing %q", code, st["reason"], msg, c.code, c.reason, c.msg)
			}
		})
	}
	// Nothing was changed by the refused writes.
	got := a.must(200, "GET", cms+"/keep", "")
	if get(got, "metadata", "uid") != uid || get(got, "metadata", "namespace") != "default" || get(got, "data", "k") != "a" {
		t.Errorf("the object changed: %v", got)
	}
	code, _ := a.do("GET", "/api/v1/namespaces/other/configmaps/keep", "", nil)
	if code != 404 {
		t.Errorf("a copy appeared in the other namespace: %d", code)
	}
	// A patch naming the object's own namespace and uid is fine.
	code, st := a.do("PATCH", cms+"/keep", "application/merge-patch+json", []byte(fmt.Sprintf(`{"metadata":{"namespace":"default","uid":%q},"data":{"k":"c"}}`, uid)))
	if code != 200 {
		t.Errorf("a patch naming the same namespace and uid: %d %v", code, st)
	}
}

// A full etcd refuses writes with 507 and etcd's message, never a crash; reads and deletes
// still work (reliability issue).
func TestFullEtcdAnswers507(t *testing.T) {
	a, _ := newAPI(t, harness.ServerOptions{EtcdQuotaBytes: 16 << 20})
	big := strings.Repeat("x", 900<<10)
	created := 0
	for i := 0; i < 100; i++ {
		code, st := a.do("POST", cms, "", []byte(cm(fmt.Sprintf("big%03d", i), big)))
		if code == 201 {
			created++
			continue
		}
		if code != 507 || st["message"] != "etcdserver: mvcc: database space exceeded" {
			t.Fatalf("create %d: %d %v", i, code, st)
		}
		// Reads and deletes go on.
		list := a.must(200, "GET", cms, "")
		if n := len(list["items"].([]any)); n != created {
			t.Fatalf("list shows %d configmaps, %d were acknowledged", n, created)
		}
		a.must(200, "DELETE", cms+"/big000", "")
		return
	}
	t.Fatalf("100 × 900 KiB into a 16 MiB quota were all accepted")
}
