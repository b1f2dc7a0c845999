package apiserver

import (
	"net/http/httptest"
	"testing"
)

func TestLongRunning(t *testing.T) {
	cases := map[string]bool{
		"/api/v1/namespaces/d/pods":                          false,
		"/api/v1/namespaces/d/pods?watch=true":               true,
		"/api/v1/namespaces/d/pods?watch=1":                  true,
		"/api/v1/watch/namespaces/d/pods":                    true,
		"/apis/apps/v1/watch/deployments":                    true,
		"/apis/apps/v1/namespaces/watch/deployments/x":       false, // a namespace named watch
		"/api/v1/namespaces/d/pods/p/log":                    true,
		"/api/v1/namespaces/d/pods/p/exec?command=sh":        true,
		"/api/v1/namespaces/d/pods/p/attach":                 true,
		"/api/v1/namespaces/d/pods/p/portforward":            true,
		"/api/v1/namespaces/d/pods/p:8080/proxy/healthz":     true,
		"/api/v1/namespaces/d/services/s/proxy/":             true,
		"/api/v1/nodes/n/proxy/metrics":                      true,
		"/api/v1/namespaces/d/serviceaccounts/default/token": false,
		"/api/v1/namespaces/d/pods/p/status":                 false,
		"/apis/apps/v1/namespaces/d/deployments/x/scale":     false,
		"/api/v1/namespaces/d/configmaps/log":                false, // a ConfigMap named log
		"/api/v1/namespaces/log":                             false,
	}
	for path, want := range cases {
		if got := longRunning(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("longRunning(%s) = %v, want %v", path, got, want)
		}
	}
}
