package skifftest

import (
	"k8s.io/client-go/rest"
)

// RESTConfig is an administrator's client-go configuration (a new copy each call; change it
// freely), which client-go's clientsets, the dynamic client and controller-runtime's client
// and manager take as they are. Its rate limit is client-go's default.
//
// skifftest is a test library, so it may import k8s.io/client-go; skiff's own programs
// never do (TestComponentsDoNotImportClientGo keeps it so).
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: c.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   append([]byte(nil), c.CAData...),
			CertData: append([]byte(nil), c.CertData...),
			KeyData:  append([]byte(nil), c.KeyData...),
		},
	}
}

// UserRESTConfig is a client-go configuration authenticating as user (in groups) with a
// client certificate from the cluster CA, for tests of what a controller's RBAC allows.
func (c *Cluster) UserRESTConfig(user string, groups ...string) (*rest.Config, error) {
	cert, key, err := c.PKI.CA.Issue(pkiClient(user, groups))
	if err != nil {
		return nil, err
	}
	return &rest.Config{Host: c.URL, TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.CAData...), CertData: cert, KeyData: key}}, nil
}
