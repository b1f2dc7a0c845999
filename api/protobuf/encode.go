package protobuf

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// encodeFunc appends the encoding of field num holding v (key included) to b.
type encodeFunc func(b []byte, num int, v reflect.Value) ([]byte, error)

// Encode returns obj as a Kubernetes protobuf body: magic, runtime.Unknown envelope with
// obj's apiVersion and kind, and the object's message. It writes what the Kubernetes
// (gogo-generated) marshallers write, byte for byte: fields in number order, non-pointer
// scalars and messages always, pointers and bytes when non-nil, map keys sorted, repeated
// scalars unpacked.
func Encode(obj meta.Object) ([]byte, error) {
	tm := obj.GetTypeMeta()
	return EncodeAs(tm.APIVersion, tm.Kind, obj)
}

// EncodeAs is Encode for any value with protobuf tags (a pointer to a struct), named
// apiVersion and kind in the envelope whatever its own TypeMeta says.
func EncodeAs(apiVersion, kind string, v any) ([]byte, error) {
	if apiVersion == "" || kind == "" {
		return nil, errors.New("protobuf.Encode: the object has no apiVersion and kind")
	}
	raw, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return wrap(apiVersion, kind, raw), nil
}

// wrap wraps an object's message in the magic prefix and the runtime.Unknown envelope.
func wrap(apiVersion, kind string, raw []byte) []byte {
	b := make([]byte, 0, len(Magic)+len(apiVersion)+len(kind)+len(raw)+16)
	b = append(b, Magic...)
	b = appendMessage(b, 1, func(b []byte) ([]byte, error) {
		b = appendString(b, 1, apiVersion)
		return appendString(b, 2, kind), nil
	})
	b = appendBytes(b, 2, raw)
	b = appendString(b, 3, "") // contentEncoding
	b = appendString(b, 4, "") // contentType
	return b
}

// EncodeList returns a list kind (PodList, ...) as a Kubernetes protobuf body without
// building a typed list: the XList message is {ListMeta metadata = 1; repeated X items = 2},
// and each item is written as its own message, which is all a generated XList marshaller
// writes.
func EncodeList(apiVersion, listKind string, lm *meta.ListMeta, items []meta.Object) ([]byte, error) {
	if apiVersion == "" || listKind == "" {
		return nil, errors.New("protobuf.EncodeList: no apiVersion and kind")
	}
	// The list's message is written after room for the magic and the envelope's head, which
	// is filled in at the end right before it: a list of thousands of objects is not copied
	// once more into its envelope.
	head := headRoom(apiVersion, listKind)
	b := make([]byte, head, head+4096)
	b, err := appendMessageErr(b, 1, func(b []byte) ([]byte, error) { return encodeMessage(b, reflect.ValueOf(lm).Elem()) })
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		rv := reflect.ValueOf(it)
		if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
			return nil, fmt.Errorf("protobuf.EncodeList: items[%d] is a %T, not a pointer to a struct", i, it)
		}
		start := len(b)
		if b, err = appendMessageErr(b, 2, func(b []byte) ([]byte, error) { return encodeMessage(b, rv.Elem()) }); err != nil {
			return nil, fmt.Errorf("items[%d]: %w", i, err)
		}
		if i == 0 && len(items) > 1 {
			// Objects of a kind are alike: size the buffer for the rest from the first.
			b = slices.Grow(b, (len(b)-start)*(len(items)-1)*9/8)
		}
	}
	raw := b[head:]
	// The envelope's head: magic, typeMeta, and the key and length of raw.
	h := append([]byte{}, Magic...)
	h = appendMessage(h, 1, func(h []byte) ([]byte, error) {
		h = appendString(h, 1, apiVersion)
		return appendString(h, 2, listKind), nil
	})
	h = appendVarint(appendKey(h, 2, wireBytes), uint64(len(raw)))
	out := b[head-len(h):]
	copy(out, h)
	out = appendString(out, 3, "") // contentEncoding
	return appendString(out, 4, ""), nil
}

// headRoom is the most the magic, the envelope's typeMeta and raw's key and length take.
func headRoom(apiVersion, kind string) int {
	return len(Magic) + 2*binaryMaxVarint + len(apiVersion) + len(kind) + 4 + 1 + binaryMaxVarint
}

const binaryMaxVarint = binary.MaxVarintLen64

// WatchEventMessage returns the bare meta/v1 WatchEvent message {type = 1; RawExtension
// object = 2} whose object holds obj, an object's full encoding (an [Encode] result). This
// is one frame of a protobuf watch stream (Content-Type
// application/vnd.kubernetes.protobuf;stream=watch): Kubernetes writes the event with its
// raw serializer, so the frame has neither the magic prefix nor an envelope, and the
// embedded object has both. The frame goes on the wire after a 4-byte big-endian length
// ([AppendFrame]).
func WatchEventMessage(eventType string, obj []byte) []byte {
	b := make([]byte, 0, len(eventType)+len(obj)+16)
	b = appendString(b, 1, eventType)
	return appendMessage(b, 2, func(b []byte) ([]byte, error) { return appendBytes(b, 1, obj), nil })
}

// AppendFrame appends msg with the length prefix of Kubernetes' length-delimited framer
// (protobuf.LengthDelimitedFramer): 4 bytes, big-endian.
func AppendFrame(b, msg []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	return append(b, msg...)
}

// Marshal returns the bare message (no magic, no envelope) of v, a pointer to a struct whose
// fields carry protobuf tags.
func Marshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("protobuf.Marshal: want a non-nil pointer to a struct, got %T", v)
	}
	return encodeMessage(nil, rv.Elem())
}

func encodeMessage(b []byte, v reflect.Value) ([]byte, error) {
	var err error
	for _, f := range tableFor(v.Type()).ordered {
		if b, err = f.enc(b, f.num, v.Field(f.index)); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return b, nil
}

// Wire helpers.

func appendVarint(b []byte, x uint64) []byte { return binary.AppendUvarint(b, x) }

func appendKey(b []byte, num, wire int) []byte {
	return appendVarint(b, uint64(num)<<3|uint64(wire))
}

func appendBytes(b []byte, num int, p []byte) []byte {
	b = appendKey(b, num, wireBytes)
	b = appendVarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendString(b []byte, num int, s string) []byte {
	b = appendKey(b, num, wireBytes)
	b = appendVarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendMessage appends field num holding the message body writes. The body is written in
// place and shifted when its length needs more than one byte.
func appendMessage(b []byte, num int, body func([]byte) ([]byte, error)) []byte {
	b, _ = appendMessageErr(b, num, body)
	return b
}

func appendMessageErr(b []byte, num int, body func([]byte) ([]byte, error)) ([]byte, error) {
	b = appendKey(b, num, wireBytes)
	start := len(b)
	b = append(b, 0)
	b, err := body(b)
	if err != nil {
		return nil, err
	}
	n := len(b) - start - 1
	if n < 0x80 {
		b[start] = byte(n)
		return b, nil
	}
	var lb [binary.MaxVarintLen64]byte
	l := binary.PutUvarint(lb[:], uint64(n))
	b = append(b, lb[1:l]...)
	copy(b[start+l:], b[start+1:start+1+n])
	copy(b[start:], lb[:l])
	return b, nil
}

// Encoders by Go type.

func fieldEncoder(parent reflect.Type, tg tag, t reflect.Type) encodeFunc {
	if parent == reflect.TypeFor[meta.ObjectMeta]() && tg.num == 17 && t == reflect.TypeFor[[]json.RawMessage]() {
		return repeatedEncoder(fromJSON(reflect.TypeFor[managedFieldsEntry]()))
	}
	return encoderFor(t, tg.enc)
}

func encoderFor(t reflect.Type, enc string) encodeFunc {
	switch t {
	case timeType:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			tm := v.Interface().(meta.Time)
			return appendTimestamp(b, num, tm.Time.IsZero(), tm.Unix(), 0), nil
		}
	case microTimeType:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			tm := v.Interface().(meta.MicroTime)
			return appendTimestamp(b, num, tm.Time.IsZero(), tm.Unix(), int32(tm.Nanosecond())), nil
		}
	case durationType:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			d := v.Interface().(meta.Duration)
			return appendMessage(b, num, func(b []byte) ([]byte, error) {
				return appendVarint(appendKey(b, 1, wireVarint), uint64(d.Duration)), nil
			}), nil
		}
	case quantityType:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			q := v.Interface().(resource.Quantity)
			return appendMessage(b, num, func(b []byte) ([]byte, error) {
				return appendString(b, 1, q.String()), nil
			}), nil
		}
	case intOrStringType:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			x := v.Interface().(intstr.IntOrString)
			return appendMessage(b, num, func(b []byte) ([]byte, error) {
				b = appendVarint(appendKey(b, 1, wireVarint), uint64(x.Type))
				b = appendVarint(appendKey(b, 2, wireVarint), uint64(x.IntVal))
				return appendString(b, 3, x.StrVal), nil
			}), nil
		}
	case rawMessageType:
		// runtime.RawExtension or apiextensions' JSON {bytes raw = 1}. An absent value is not
		// written: Kubernetes' JSON fields are pointers (a CRD schema's default and example),
		// and a non-pointer RawExtension decodes to the same empty value either way.
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			raw := v.Bytes()
			if raw == nil {
				return b, nil
			}
			return appendMessage(b, num, func(b []byte) ([]byte, error) {
				if raw != nil {
					b = appendBytes(b, 1, raw)
				}
				return b, nil
			}), nil
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := encoderFor(t.Elem(), enc)
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			if v.IsNil() {
				return b, nil
			}
			return elem(b, num, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(b []byte, num int, v reflect.Value) ([]byte, error) {
				if v.IsNil() {
					return b, nil
				}
				return appendBytes(b, num, v.Bytes()), nil
			}
		}
		return repeatedEncoder(encoderFor(t.Elem(), enc))
	case reflect.Map:
		return mapEncoder(t)
	case reflect.Struct:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return appendMessageErr(b, num, func(b []byte) ([]byte, error) { return encodeMessage(b, v) })
		}
	case reflect.String:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return appendString(b, num, v.String()), nil
		}
	case reflect.Bool:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			x := uint64(0)
			if v.Bool() {
				x = 1
			}
			return appendVarint(appendKey(b, num, wireVarint), x), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch {
		case strings.HasPrefix(enc, "zigzag"):
			return func(b []byte, num int, v reflect.Value) ([]byte, error) {
				x := v.Int()
				return appendVarint(appendKey(b, num, wireVarint), uint64(x<<1)^uint64(x>>63)), nil
			}
		case enc == "fixed32":
			return func(b []byte, num int, v reflect.Value) ([]byte, error) {
				return binary.LittleEndian.AppendUint32(appendKey(b, num, wireFixed32), uint32(v.Int())), nil
			}
		case enc == "fixed64":
			return func(b []byte, num int, v reflect.Value) ([]byte, error) {
				return binary.LittleEndian.AppendUint64(appendKey(b, num, wireFixed64), uint64(v.Int())), nil
			}
		}
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return appendVarint(appendKey(b, num, wireVarint), uint64(v.Int())), nil
		}
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return appendVarint(appendKey(b, num, wireVarint), v.Uint()), nil
		}
	case reflect.Float32:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return binary.LittleEndian.AppendUint32(appendKey(b, num, wireFixed32), math.Float32bits(float32(v.Float()))), nil
		}
	case reflect.Float64:
		return func(b []byte, num int, v reflect.Value) ([]byte, error) {
			return binary.LittleEndian.AppendUint64(appendKey(b, num, wireFixed64), math.Float64bits(v.Float())), nil
		}
	}
	return func(b []byte, num int, v reflect.Value) ([]byte, error) {
		return nil, fmt.Errorf("the Go type %s has no protobuf encoding", t)
	}
}

func appendTimestamp(b []byte, num int, zero bool, sec int64, nanos int32) []byte {
	return appendMessage(b, num, func(b []byte) ([]byte, error) {
		if zero {
			return b, nil
		}
		b = appendVarint(appendKey(b, 1, wireVarint), uint64(sec))
		return appendVarint(appendKey(b, 2, wireVarint), uint64(nanos)), nil
	})
}

func repeatedEncoder(elem encodeFunc) encodeFunc {
	return func(b []byte, num int, v reflect.Value) ([]byte, error) {
		var err error
		for i := 0; i < v.Len(); i++ {
			if b, err = elem(b, num, v.Index(i)); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return b, nil
	}
}

// mapEncoder writes one entry message per key, keys sorted. A nil bytes value is left out of
// its entry, as Kubernetes does.
func mapEncoder(t reflect.Type) encodeFunc {
	keyEnc, valEnc := encoderFor(t.Key(), ""), encoderFor(t.Elem(), "")
	if isStringListMessage(t.Elem()) {
		valEnc = encodeStringList
	}
	bytesVal := t.Elem().Kind() == reflect.Slice && t.Elem().Elem().Kind() == reflect.Uint8
	return func(b []byte, num int, v reflect.Value) ([]byte, error) {
		keys := v.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int {
			if x.Kind() == reflect.String {
				return strings.Compare(x.String(), y.String())
			}
			return cmp.Compare(x.Int(), y.Int())
		})
		var err error
		for _, k := range keys {
			e := v.MapIndex(k)
			b, err = appendMessageErr(b, num, func(b []byte) ([]byte, error) {
				b, err := keyEnc(b, 1, k)
				if err != nil || (bytesVal && e.IsNil()) {
					return b, err
				}
				return valEnc(b, 2, e)
			})
			if err != nil {
				return nil, fmt.Errorf("[%v]: %w", k, err)
			}
		}
		return b, nil
	}
}

// fromJSON encodes a json.RawMessage as the message of struct type t.
func fromJSON(t reflect.Type) encodeFunc {
	return func(b []byte, num int, v reflect.Value) ([]byte, error) {
		m := reflect.New(t)
		if err := json.Unmarshal(v.Bytes(), m.Interface()); err != nil {
			return nil, err
		}
		return appendMessageErr(b, num, func(b []byte) ([]byte, error) { return encodeMessage(b, m.Elem()) })
	}
}
