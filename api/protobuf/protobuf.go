// Package protobuf reads and writes the Kubernetes protobuf wire format (Content-Type
// application/vnd.kubernetes.protobuf), which kubectl and client-go's typed clients use for the
// request bodies and responses of built-in kinds.
//
// A body is the 4-byte magic "k8s\x00" followed by a runtime.Unknown envelope whose typeMeta
// names the kind and whose raw field holds the object's own message. The object message is
// decoded and encoded by reflection over skiff's API types, driven by their `protobuf:"..."`
// struct tags (the same tags, and so the same field numbers, as k8s.io/api). The API server
// turns a protobuf request body into JSON with [ToJSON], so every later step (unknown field
// checks, defaulting, validation) runs on JSON as for any other body; responses are written
// with [Encode], [EncodeList] and, for watch streams, [WatchEventMessage] and [AppendFrame],
// byte for byte what Kubernetes' generated marshallers write.
//
// Decoding follows protobuf semantics: unknown field numbers are skipped, a repeated
// occurrence of a scalar field replaces the previous value, repeated messages append, and
// a message field seen twice is merged.
package protobuf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"reflect"
	"strings"

	"github.com/skiff-sh/skiff/api/meta"
)

// ContentType is the media type of the Kubernetes protobuf encoding.
const ContentType = "application/vnd.kubernetes.protobuf"

// Magic prefixes every protobuf-encoded object.
var Magic = []byte("k8s\x00")

// ErrMalformed is wrapped by every error about bytes that are not a valid encoding of the
// expected message.
var ErrMalformed = errors.New("malformed protobuf")

// ErrUnknownKind is wrapped by ToJSON's error when the envelope names a kind skiff has no
// type for.
var ErrUnknownKind = errors.New("no Go type for the kind")

// IsProtobuf reports whether a Content-Type header names the Kubernetes protobuf encoding
// (parameters such as ";stream=watch" are allowed).
func IsProtobuf(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	return mt == ContentType
}

// Envelope is the runtime.Unknown wrapper of a protobuf body.
type Envelope struct {
	APIVersion      string // "v1", "apps/v1"
	Kind            string // "Pod"
	Raw             []byte // the object's own message (it does not repeat the TypeMeta)
	ContentEncoding string // always empty in practice
	ContentType     string // empty or ContentType
}

// DecodeEnvelope checks the magic prefix and decodes the runtime.Unknown envelope.
func DecodeEnvelope(data []byte) (*Envelope, error) {
	if !bytes.HasPrefix(data, Magic) {
		return nil, fmt.Errorf("%w: the body does not start with the Kubernetes protobuf prefix k8s\\x00", ErrMalformed)
	}
	var u unknown
	if err := Unmarshal(data[len(Magic):], &u); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	env := &Envelope{APIVersion: u.TypeMeta.APIVersion, Kind: u.TypeMeta.Kind, Raw: u.Raw,
		ContentEncoding: u.ContentEncoding, ContentType: u.ContentType}
	if env.ContentEncoding != "" {
		return nil, fmt.Errorf("%w: unsupported content encoding %q", ErrMalformed, env.ContentEncoding)
	}
	if env.ContentType != "" && !IsProtobuf(env.ContentType) {
		return nil, fmt.Errorf("%w: unsupported content type %q inside the envelope", ErrMalformed, env.ContentType)
	}
	return env, nil
}

// unknown is the message runtime.Unknown.
type unknown struct {
	TypeMeta        runtimeTypeMeta `protobuf:"bytes,1,opt,name=typeMeta"`
	Raw             []byte          `protobuf:"bytes,2,opt,name=raw"`
	ContentEncoding string          `protobuf:"bytes,3,opt,name=contentEncoding"`
	ContentType     string          `protobuf:"bytes,4,opt,name=contentType"`
}

// runtimeTypeMeta is runtime.TypeMeta, whose field numbers differ from meta/v1's TypeMeta.
type runtimeTypeMeta struct {
	APIVersion string `protobuf:"bytes,1,opt,name=apiVersion"`
	Kind       string `protobuf:"bytes,2,opt,name=kind"`
}

// Decode decodes a protobuf body (magic, envelope, object) into obj, which should be a fresh
// object of the kind the envelope names; obj's TypeMeta is set from the envelope. Decode does
// not check that the envelope's kind matches obj; callers compare obj.GetTypeMeta() with what
// they expect.
func Decode(data []byte, obj meta.Object) error {
	env, err := DecodeEnvelope(data)
	if err != nil {
		return err
	}
	if err := Unmarshal(env.Raw, obj); err != nil {
		return fmt.Errorf("%s %s: %w", env.APIVersion, env.Kind, err)
	}
	tm := obj.GetTypeMeta()
	tm.APIVersion, tm.Kind = env.APIVersion, env.Kind
	return nil
}

// ToJSON decodes a protobuf body into a fresh object of the kind its envelope names (see
// [NewObject]) and returns that object as JSON, apiVersion and kind included.
func ToJSON(data []byte) ([]byte, error) {
	env, err := DecodeEnvelope(data)
	if err != nil {
		return nil, err
	}
	return env.ToJSON()
}

// ToJSON decodes the envelope's object and returns it as JSON.
func (env *Envelope) ToJSON() ([]byte, error) {
	obj, ok := NewObject(env.APIVersion, env.Kind)
	if !ok {
		return nil, fmt.Errorf("%w: %s %s", ErrUnknownKind, env.APIVersion, env.Kind)
	}
	if err := Unmarshal(env.Raw, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", env.APIVersion, env.Kind, err)
	}
	if tm := typeMetaOf(obj); tm != nil {
		tm.APIVersion, tm.Kind = env.APIVersion, env.Kind
	}
	out, err := json.Marshal(obj)
	if err != nil {
		// Only an invalid embedded JSON document (a RawExtension or fieldsV1) gets here.
		return nil, fmt.Errorf("%w: %s %s: %v", ErrMalformed, env.APIVersion, env.Kind, err)
	}
	return out, nil
}

// typeMetaOf returns the embedded TypeMeta of an object or list, or nil.
func typeMetaOf(obj any) *meta.TypeMeta {
	if o, ok := obj.(interface{ GetTypeMeta() *meta.TypeMeta }); ok {
		return o.GetTypeMeta()
	}
	v := reflect.ValueOf(obj)
	if v.Kind() == reflect.Pointer && v.Elem().Kind() == reflect.Struct {
		if f := v.Elem().FieldByName("TypeMeta"); f.IsValid() && f.Type() == reflect.TypeFor[meta.TypeMeta]() {
			return f.Addr().Interface().(*meta.TypeMeta)
		}
	}
	return nil
}
