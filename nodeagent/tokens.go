package nodeagent

import (
	"context"
	"time"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/client"
	"github.com/skiff-sh/skiff/nodeagent/token"
)

var serviceAccounts = client.Resource{Version: "v1", Resource: "serviceaccounts", Namespaced: true}

// requestToken asks the API server for a ServiceAccount token: POST
// /api/v1/namespaces/NS/serviceaccounts/NAME/token with the TokenRequest, as the kubelet
// does. The node authorizer lets a node ask only for the accounts of its own pods, bound to
// those pods.
func requestToken(c *client.Client) token.Requester {
	sas := client.For[core.ServiceAccount](c, serviceAccounts)
	return func(ctx context.Context, namespace, name string, tr *authentication.TokenRequest) (*authentication.TokenRequest, error) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		body := *tr
		body.Kind, body.APIVersion = "TokenRequest", authentication.APIVersion
		out := &authentication.TokenRequest{}
		if err := sas.CreateSubresource(ctx, namespace, name, "token", &body, out); err != nil {
			return nil, err
		}
		return out, nil
	}
}
