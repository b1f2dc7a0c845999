// Package patch applies the three PATCH bodies the API server accepts to the JSON of a
// stored object:
//
//   - MergePatch: JSON merge patch, RFC 7386 (application/merge-patch+json);
//   - JSONPatch: JSON patch, RFC 6902 (application/json-patch+json);
//   - StrategicMergePatch: Kubernetes' strategic merge patch
//     (application/strategic-merge-patch+json), whose list semantics come from the
//     patchStrategy/patchMergeKey struct tags of the object's Go type.
//
// Everything works on decoded JSON (map[string]any, []any, json.Number, string, bool,
// nil) rather than on typed objects, so one implementation serves every kind and the
// API server decodes (and validates) the patched JSON exactly as it would a request body.
// Numbers are kept as json.Number so large integers (resourceVersion-like values,
// int64 fields) survive a patch without passing through float64.
//
// Every error caused by the patch wraps ErrBadPatch; those caused by a well-formed
// patch that does not fit the document (a failed JSON patch "test", a missing path)
// also wrap ErrCannotApply, so the API server can answer 422 rather than 400.
package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrBadPatch is wrapped by every error that the patch body is to blame for.
	ErrBadPatch = errors.New("invalid patch")
	// ErrCannotApply is wrapped (besides ErrBadPatch) by errors of a well-formed patch
	// that does not apply to this document.
	ErrCannotApply = errors.New("patch cannot be applied")
)

// patchError carries the message and, for strategic merge patch, where in the document
// it happened; errors.Is matches it against the sentinels.
type patchError struct {
	cannotApply bool
	path        string
	msg         string
	cause       error
}

func (e *patchError) Error() string {
	s := ErrBadPatch.Error()
	if e.cannotApply {
		s = ErrCannotApply.Error()
	}
	if e.path != "" {
		s += " at " + e.path
	}
	return s + ": " + e.msg
}

func (e *patchError) Is(target error) bool {
	return target == ErrBadPatch || (e.cannotApply && target == ErrCannotApply)
}

func (e *patchError) Unwrap() error { return e.cause }

func badPatch(format string, args ...any) error {
	return &patchError{msg: fmt.Sprintf(format, args...)}
}

func cannotApply(format string, args ...any) error {
	return &patchError{cannotApply: true, msg: fmt.Sprintf(format, args...)}
}

// within records that err happened inside the field or list element seg, so the message
// can point at e.g. spec.containers[name=app].ports.
func within(seg string, err error) error {
	var pe *patchError
	if !errors.As(err, &pe) {
		return err
	}
	switch {
	case pe.path == "":
		pe.path = seg
	case pe.path[0] == '[':
		pe.path = seg + pe.path
	default:
		pe.path = seg + "." + pe.path
	}
	return err
}

// decodeOriginal decodes the stored document. A failure here is the server's problem,
// not the client's, so it deliberately does not wrap ErrBadPatch.
func decodeOriginal(data []byte) (any, error) {
	v, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("patch: original document is not valid JSON: %w", err)
	}
	return v, nil
}

func decodePatch(data []byte) (any, error) {
	v, err := decode(data)
	if err != nil {
		return nil, &patchError{msg: "body is not valid JSON: " + err.Error(), cause: err}
	}
	return v, nil
}

func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if err == io.EOF {
			return nil, errors.New("empty document")
		}
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the top-level value")
	}
	return v, nil
}

// encode marshals without HTML escaping so that strings such as annotations come back
// byte for byte as they went in; map keys come out sorted, as Kubernetes' do.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("patch: encoding the result: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// jsonEqual compares two decoded JSON values; numbers compare by value, so 1, 1.0 and
// 1e0 are equal (RFC 6902 section 4.6).
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// numbersEqual compares integers exactly and other numbers as float64.
func numbersEqual(a, b json.Number) bool {
	return a == b || numberKey(a) == numberKey(b)
}

// deepCopy copies a decoded JSON value, for JSON patch "copy" whose source and
// destination must not share maps or slices.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// brief renders a value for an error message, cut short so a huge patch element does
// not flood the response.
func brief(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
