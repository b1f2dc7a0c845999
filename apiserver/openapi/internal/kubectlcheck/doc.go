// Package kubectlcheck runs kubectl's own code (v0.33) against what skiff serves: kubectl
// explain over the OpenAPI v3 documents, the fieldValidation verifier, strategic merge patches
// computed from the v3 and v2 schemas, and kubectl's table printer over server-side tables.
//
// It is a module of its own so that the main module does not depend on kubectl; run it with
//
//	cd apiserver/openapi/internal/kubectlcheck && go test ./...
//
// (it downloads kubectl's modules through the Go module proxy the first time).
package kubectlcheck
