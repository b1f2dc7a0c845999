package apiserver

import (
	"net/http/httptest"
	"testing"

	"github.com/skiff-sh/skiff/apiserver/authz"
)

func TestRequestAttributes(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         authz.Attributes
	}{
		{"GET", "/api/v1/namespaces/default/pods", authz.Attributes{ResourceRequest: true, Verb: "list", APIVersion: "v1", Namespace: "default", Resource: "pods"}},
		{"GET", "/api/v1/namespaces/default/pods?watch=true", authz.Attributes{ResourceRequest: true, Verb: "watch", APIVersion: "v1", Namespace: "default", Resource: "pods"}},
		{"GET", "/api/v1/watch/namespaces/default/pods", authz.Attributes{ResourceRequest: true, Verb: "watch", APIVersion: "v1", Namespace: "default", Resource: "pods"}},
		{"GET", "/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb&watch=1", authz.Attributes{ResourceRequest: true, Verb: "watch", APIVersion: "v1", Namespace: "default", Resource: "pods", Name: "web"}},
		{"GET", "/api/v1/namespaces/default/pods/web/log", authz.Attributes{ResourceRequest: true, Verb: "get", APIVersion: "v1", Namespace: "default", Resource: "pods", Name: "web", Subresource: "log"}},
		{"POST", "/api/v1/namespaces/default/pods/web/exec", authz.Attributes{ResourceRequest: true, Verb: "create", APIVersion: "v1", Namespace: "default", Resource: "pods", Name: "web", Subresource: "exec"}},
		{"GET", "/api/v1/namespaces/default/pods/web:8080/proxy/a/b", authz.Attributes{ResourceRequest: true, Verb: "get", APIVersion: "v1", Namespace: "default", Resource: "pods", Name: "web:8080", Subresource: "proxy"}},
		{"DELETE", "/apis/apps/v1/namespaces/x/deployments", authz.Attributes{ResourceRequest: true, Verb: "deletecollection", APIGroup: "apps", APIVersion: "v1", Namespace: "x", Resource: "deployments"}},
		{"PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale", authz.Attributes{ResourceRequest: true, Verb: "patch", APIGroup: "apps", APIVersion: "v1", Namespace: "x", Resource: "deployments", Name: "d", Subresource: "scale"}},
		{"GET", "/api/v1/namespaces/kube-system", authz.Attributes{ResourceRequest: true, Verb: "get", APIVersion: "v1", Namespace: "kube-system", Resource: "namespaces", Name: "kube-system"}},
		{"PUT", "/api/v1/namespaces/gone/finalize", authz.Attributes{ResourceRequest: true, Verb: "update", APIVersion: "v1", Resource: "namespaces", Name: "gone", Subresource: "finalize"}},
		{"GET", "/api/v1/nodes", authz.Attributes{ResourceRequest: true, Verb: "list", APIVersion: "v1", Resource: "nodes"}},
		{"GET", "/api/v1", authz.Attributes{Verb: "get"}},
		{"GET", "/apis/apps/v1", authz.Attributes{Verb: "get"}},
		{"HEAD", "/version", authz.Attributes{Verb: "get"}},
		{"POST", "/healthz", authz.Attributes{Verb: "post"}},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		got := requestAttributes(req)
		tc.want.Path = req.URL.Path
		if got != tc.want {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tc.method, tc.path, got, tc.want)
		}
	}
}
