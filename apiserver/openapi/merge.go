package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
)

// Documents of other servers (extension API servers behind aggregated APIServices) join
// this server's: their Swagger 2.0 paths and definitions are added to /openapi/v2, their
// OpenAPI 3.0 documents are listed in the /openapi/v3 index.

// MergeV2 adds the paths and definitions of the Swagger 2.0 documents others to base.
// What base (or an earlier document) already has wins: an extension cannot replace a
// built-in path, and the definitions every Kubernetes-style server repeats
// (io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, ...) are kept once. kube-aggregator
// renames a conflicting definition that differs instead; here the first one stands.
func MergeV2(base []byte, others ...[]byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	sections := map[string]map[string]json.RawMessage{"paths": {}, "definitions": {}}
	for name, into := range sections {
		if raw, ok := doc[name]; ok {
			if err := json.Unmarshal(raw, &into); err != nil {
				return nil, fmt.Errorf("openapi v2 %s: %w", name, err)
			}
		}
	}
	for i, other := range others {
		var od map[string]json.RawMessage
		if err := json.Unmarshal(other, &od); err != nil {
			return nil, fmt.Errorf("openapi v2 document %d: %w", i, err)
		}
		for name, into := range sections {
			var add map[string]json.RawMessage
			if raw, ok := od[name]; ok {
				if err := json.Unmarshal(raw, &add); err != nil {
					return nil, fmt.Errorf("openapi v2 document %d %s: %w", i, name, err)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(add)) {
				if _, have := into[k]; !have {
					into[k] = add[k]
				}
			}
		}
	}
	for name, m := range sections {
		doc[name] = mustJSON(m)
	}
	return mustJSON(doc), nil
}

// ProtobufV2 encodes a Swagger 2.0 JSON document as the gnostic OpenAPIv2 message.
func ProtobufV2(doc []byte) ([]byte, error) {
	d, err := openapi_v2.ParseDocument(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi v2: %w", err)
	}
	return proto.Marshal(d)
}

// AddToV3Index lists more documents in the /openapi/v3 index document base: path
// ("apis/wardle.example.com/v1alpha1") → document, each at /openapi/v3/PATH?hash=HASH.
// A path base already lists stays as it is.
func AddToV3Index(base []byte, docs map[string][]byte) ([]byte, error) {
	var index struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(base, &index); err != nil {
		return nil, fmt.Errorf("openapi v3 index: %w", err)
	}
	if index.Paths == nil {
		index.Paths = map[string]json.RawMessage{}
	}
	for p, doc := range docs {
		if _, have := index.Paths[p]; !have {
			index.Paths[p] = mustJSON(map[string]string{"serverRelativeURL": "/openapi/v3/" + p + "?hash=" + Hash(doc)})
		}
	}
	return mustJSON(index), nil
}
