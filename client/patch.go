package client

import (
	"context"
	"errors"
	"net/http"
)

// PatchDiscard is Patch for writers that do not need the object back (the node agent's
// status writes, by the thousand per second on simulated nodes): the answer is read and
// dropped instead of decoded.
func (t *Typed[T, PT]) PatchDiscard(ctx context.Context, namespace, name string, pt PatchType, data []byte, subresource ...string) error {
	if name == "" {
		return errors.New("client: Patch needs a name")
	}
	r := request{
		method:      http.MethodPatch,
		path:        t.r.Path(namespace, name, subresource...),
		body:        data,
		contentType: string(pt),
	}
	return t.c.do(ctx, r, nil)
}
