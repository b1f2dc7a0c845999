package webhook

import (
	"context"
	"fmt"

	admissionv1 "github.com/skiff-sh/skiff/api/admission"
	ar "github.com/skiff-sh/skiff/api/admissionregistration"
	"github.com/skiff-sh/skiff/apiserver/webhookclient"
)

// clientConfig is the hook's client configuration as the shared client takes it.
func clientConfig(cc ar.WebhookClientConfig) webhookclient.ClientConfig {
	out := webhookclient.ClientConfig{URL: cc.URL, CABundle: cc.CABundle}
	if s := cc.Service; s != nil {
		out.Service = &webhookclient.ServiceReference{Namespace: s.Namespace, Name: s.Name, Path: s.Path, Port: s.Port}
	}
	return out
}

// call posts the review to the hook and returns its verified answer; every failure is a
// *callError.
func (d *dispatcher) call(ctx context.Context, h *hook, rr *reviewRequest, mutating bool) (*admissionv1.AdmissionResponse, error) {
	fail := func(format string, args ...any) error {
		return &callError{hook: h.name, reason: fmt.Errorf(format, args...)}
	}
	body, err := d.client.Post(ctx, clientConfig(h.clientConfig), h.timeout, rr.body)
	if err != nil {
		return nil, fail("%w", err)
	}
	out, err := verifyResponse(rr.uid, mutating, body)
	if err != nil {
		return nil, fail("received invalid webhook response: %w", err)
	}
	return out, nil
}
