package protobuf

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiff-sh/skiff/api/intstr"
	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/resource"
)

// Wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

// maxFieldNumber is the largest field number protobuf allows.
const maxFieldNumber = 1<<29 - 1

// maxGroupDepth bounds the nesting of skipped (unknown, deprecated) groups.
const maxGroupDepth = 100

// value is one field occurrence as read from the wire: u holds a varint or fixed value,
// b the payload of a length-delimited one (a sub-slice of the input, never retained).
type value struct {
	wire int
	u    uint64
	b    []byte
}

// decodeFunc stores one occurrence of a field into v (addressable and settable).
type decodeFunc func(val value, v reflect.Value) error

// Unmarshal decodes a bare protobuf message (no magic, no envelope) into v, a non-nil
// pointer to a struct whose fields carry protobuf tags. Fields without a tag are left alone.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("protobuf.Unmarshal: want a non-nil pointer to a struct, got %T", v)
	}
	return decodeMessage(data, rv.Elem())
}

// decodeMessage decodes the fields in data into the struct v.
func decodeMessage(data []byte, v reflect.Value) error {
	t := tableFor(v.Type())
	return eachField(data, func(num int, val value) error {
		f := t.field(num)
		if f == nil {
			return nil // unknown field: protobuf skips it
		}
		if err := f.dec(val, v.Field(f.index)); err != nil {
			return atPath(err, f.name)
		}
		return nil
	})
}

// eachField calls fn for every field occurrence in data, in order. Groups (a deprecated
// encoding no Kubernetes message uses) are skipped whole.
func eachField(data []byte, fn func(num int, val value) error) error {
	for len(data) > 0 {
		key, n := consumeVarint(data)
		if n < 0 {
			return malformed("truncated field key")
		}
		data = data[n:]
		num, wire := key>>3, int(key&7)
		if num == 0 || num > maxFieldNumber {
			return malformed("invalid field number %d", num)
		}
		val := value{wire: wire}
		switch wire {
		case wireVarint:
			val.u, n = consumeVarint(data)
			if n < 0 {
				return malformed("field %d: truncated varint", num)
			}
		case wireFixed64:
			if len(data) < 8 {
				return malformed("field %d: truncated fixed64", num)
			}
			val.u, n = binary.LittleEndian.Uint64(data), 8
		case wireFixed32:
			if len(data) < 4 {
				return malformed("field %d: truncated fixed32", num)
			}
			val.u, n = uint64(binary.LittleEndian.Uint32(data)), 4
		case wireBytes:
			l, m := consumeVarint(data)
			if m < 0 || l > uint64(len(data)-m) {
				return malformed("field %d: length-delimited value runs past the end of its message", num)
			}
			val.b, n = data[m:m+int(l)], m+int(l)
		case wireStartGroup:
			n = skipGroup(data, num)
			if n < 0 {
				return malformed("field %d: unterminated group", num)
			}
			data = data[n:]
			continue
		default:
			return malformed("field %d: invalid wire type %d", num, wire)
		}
		data = data[n:]
		if err := fn(int(num), val); err != nil {
			return err
		}
	}
	return nil
}

// consumeVarint reads a base-128 varint; n is -1 if it is truncated or longer than 10 bytes.
func consumeVarint(b []byte) (x uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1 // overflows 64 bits
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, -1
}

// skipGroup returns the length of a group's body and its end marker, or -1.
func skipGroup(b []byte, num uint64) int {
	depth := []uint64{num}
	i := 0
	for i < len(b) {
		key, n := consumeVarint(b[i:])
		if n < 0 {
			return -1
		}
		i += n
		switch key & 7 {
		case wireVarint:
			_, n = consumeVarint(b[i:])
		case wireFixed64:
			n = 8
		case wireFixed32:
			n = 4
		case wireBytes:
			l, m := consumeVarint(b[i:])
			if m < 0 || l > uint64(len(b)-i-m) {
				return -1
			}
			n = m + int(l)
		case wireStartGroup:
			if len(depth) == maxGroupDepth {
				return -1
			}
			depth = append(depth, key>>3)
			n = 0
		case wireEndGroup:
			if key>>3 != depth[len(depth)-1] {
				return -1
			}
			depth = depth[:len(depth)-1]
			if len(depth) == 0 {
				return i
			}
			n = 0
		default:
			return -1
		}
		if n < 0 || n > len(b)-i {
			return -1
		}
		i += n
	}
	return -1
}

// Errors.

// decodeError is a malformed-input error with the path of the field it was found in.
type decodeError struct {
	path string
	msg  string
}

func (e *decodeError) Error() string {
	if e.path == "" {
		return ErrMalformed.Error() + ": " + e.msg
	}
	return ErrMalformed.Error() + " at " + e.path + ": " + e.msg
}

func (e *decodeError) Unwrap() error { return ErrMalformed }

func malformed(format string, args ...any) error {
	return &decodeError{msg: fmt.Sprintf(format, args...)}
}

// atPath prefixes the path of a decodeError with the name of the enclosing field.
func atPath(err error, name string) error {
	de, ok := err.(*decodeError)
	if !ok {
		return err
	}
	switch {
	case de.path == "":
		de.path = name
	case strings.HasPrefix(de.path, "["):
		de.path = name + de.path
	default:
		de.path = name + "." + de.path
	}
	return de
}

func wrongWire(val value, want string) error {
	return malformed("wire type %d, want %s", val.wire, want)
}

// Field tables.

// field is one tagged struct field.
type field struct {
	index int
	num   int
	name  string
	dec   decodeFunc
	enc   encodeFunc
}

// table holds the tagged fields of a struct type by field number.
type table struct {
	dense   []*field // by number, for the small numbers every Kubernetes message uses
	sparse  map[int]*field
	ordered []*field // by number, for encoding
}

func (t *table) field(num int) *field {
	if num < len(t.dense) {
		return t.dense[num]
	}
	return t.sparse[num]
}

var tables sync.Map // reflect.Type -> *table

func tableFor(t reflect.Type) *table {
	if tb, ok := tables.Load(t); ok {
		return tb.(*table)
	}
	tb, _ := tables.LoadOrStore(t, buildTable(t))
	return tb.(*table)
}

// tag is a parsed `protobuf:"varint,7,opt,name=generation"` struct tag.
type tag struct {
	enc  string // varint, zigzag32, zigzag64, fixed32, fixed64, bytes, group
	num  int
	name string
}

func parseTag(s string) (tag, bool) {
	parts := strings.Split(s, ",")
	if len(parts) < 2 {
		return tag{}, false
	}
	num, err := strconv.Atoi(parts[1])
	if err != nil || num <= 0 || num > maxFieldNumber {
		return tag{}, false
	}
	tg := tag{enc: parts[0], num: num}
	for _, p := range parts[2:] {
		if name, ok := strings.CutPrefix(p, "name="); ok {
			tg.name = name
		}
	}
	return tg, true
}

// buildTable reads the protobuf tags of struct type t. A malformed or duplicate tag is a
// programming error in the API types, so it panics (the tests build every kind's table).
func buildTable(t reflect.Type) *table {
	tb := &table{sparse: map[int]*field{}}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		s, ok := sf.Tag.Lookup("protobuf")
		if !ok || s == "-" {
			continue
		}
		tg, ok := parseTag(s)
		if !ok {
			panic(fmt.Sprintf("protobuf: %s.%s: malformed tag %q", t, sf.Name, s))
		}
		if tb.field(tg.num) != nil {
			panic(fmt.Sprintf("protobuf: %s.%s: field number %d used twice", t, sf.Name, tg.num))
		}
		if tg.name == "" {
			tg.name = sf.Name
		}
		f := &field{index: i, num: tg.num, name: tg.name, dec: fieldDecoder(t, tg, sf.Type),
			enc: fieldEncoder(t, tg, sf.Type)}
		tb.ordered = append(tb.ordered, f)
		if tg.num < 64 {
			for len(tb.dense) <= tg.num {
				tb.dense = append(tb.dense, nil)
			}
			tb.dense[tg.num] = f
		} else {
			tb.sparse[tg.num] = f
		}
	}
	sort.Slice(tb.ordered, func(i, j int) bool { return tb.ordered[i].num < tb.ordered[j].num })
	return tb
}

// fieldDecoder returns the decoder of one field of struct type parent.
func fieldDecoder(parent reflect.Type, tg tag, t reflect.Type) decodeFunc {
	// skiff keeps managedFields as raw JSON; on the wire they are ManagedFieldsEntry messages.
	if parent == reflect.TypeFor[meta.ObjectMeta]() && tg.num == 17 && t == reflect.TypeFor[[]json.RawMessage]() {
		return repeated(t, viaJSON(reflect.TypeFor[managedFieldsEntry]()))
	}
	return decoderFor(t, tg.enc)
}

// Decoders by Go type.

var (
	timeType        = reflect.TypeFor[meta.Time]()
	microTimeType   = reflect.TypeFor[meta.MicroTime]()
	durationType    = reflect.TypeFor[meta.Duration]()
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
)

// decoderFor returns the decoder of a value of type t; enc is the encoding named by the
// field's tag, which only matters for integers (zigzag, fixed). The wire type actually read
// is checked against t, not against the tag: a few upstream tags name the wrong one
// (ListMeta.remainingItemCount says bytes, DeleteOptions.propagationPolicy says varint).
func decoderFor(t reflect.Type, enc string) decodeFunc {
	switch t {
	case timeType:
		return decodeTime
	case microTimeType:
		return decodeMicroTime
	case durationType:
		return decodeDuration
	case quantityType:
		return decodeQuantity
	case intOrStringType:
		return decodeIntOrString
	case rawMessageType:
		return decodeRawExtension
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := decoderFor(t.Elem(), enc)
		return func(val value, v reflect.Value) error {
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			return elem(val, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return decodeBytes
		}
		return repeated(t, decoderFor(t.Elem(), enc))
	case reflect.Map:
		return mapDecoder(t)
	case reflect.Struct:
		return func(val value, v reflect.Value) error {
			if val.wire != wireBytes {
				return wrongWire(val, "an embedded message")
			}
			return decodeMessage(val.b, v)
		}
	case reflect.String:
		return func(val value, v reflect.Value) error {
			if val.wire != wireBytes {
				return wrongWire(val, "a string")
			}
			v.SetString(string(val.b))
			return nil
		}
	case reflect.Bool:
		return func(val value, v reflect.Value) error {
			if val.wire != wireVarint {
				return wrongWire(val, "a bool varint")
			}
			v.SetBool(val.u != 0)
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		zigzag := strings.HasPrefix(enc, "zigzag")
		return func(val value, v reflect.Value) error {
			switch val.wire {
			case wireVarint:
				if zigzag {
					v.SetInt(int64(val.u>>1) ^ -int64(val.u&1))
				} else {
					v.SetInt(int64(val.u))
				}
			case wireFixed64:
				v.SetInt(int64(val.u))
			case wireFixed32:
				v.SetInt(int64(int32(uint32(val.u))))
			default:
				return wrongWire(val, "an integer")
			}
			return nil
		}
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(val value, v reflect.Value) error {
			if val.wire == wireBytes {
				return wrongWire(val, "an integer")
			}
			v.SetUint(val.u)
			return nil
		}
	case reflect.Float32:
		return func(val value, v reflect.Value) error {
			if val.wire != wireFixed32 {
				return wrongWire(val, "a float")
			}
			v.SetFloat(float64(math.Float32frombits(uint32(val.u))))
			return nil
		}
	case reflect.Float64:
		return func(val value, v reflect.Value) error {
			if val.wire != wireFixed64 {
				return wrongWire(val, "a double")
			}
			v.SetFloat(math.Float64frombits(val.u))
			return nil
		}
	}
	return func(value, reflect.Value) error {
		return malformed("the Go type %s has no protobuf decoding", t)
	}
}

// packable reports whether a repeated field of kind k may use the packed encoding.
func packable(t reflect.Type) (elemWire int, ok bool) {
	if t.Kind() == reflect.Pointer {
		return 0, false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return wireVarint, true
	case reflect.Float32:
		return wireFixed32, true
	case reflect.Float64:
		return wireFixed64, true
	}
	return 0, false
}

// repeated decodes one occurrence of a repeated field into the slice v: one element, or for
// scalars in the packed encoding, a run of them.
func repeated(t reflect.Type, elem decodeFunc) decodeFunc {
	et := t.Elem()
	elemWire, packs := packable(et)
	appendOne := func(val value, v reflect.Value) error {
		n := v.Len()
		v.Set(reflect.Append(v, reflect.Zero(et)))
		if err := elem(val, v.Index(n)); err != nil {
			v.SetLen(n)
			return atPath(err, "["+strconv.Itoa(n)+"]")
		}
		return nil
	}
	return func(val value, v reflect.Value) error {
		if !packs || val.wire != wireBytes {
			return appendOne(val, v)
		}
		b := val.b
		for len(b) > 0 {
			one := value{wire: elemWire}
			switch elemWire {
			case wireVarint:
				x, n := consumeVarint(b)
				if n < 0 {
					return malformed("truncated varint in a packed repeated field")
				}
				one.u, b = x, b[n:]
			case wireFixed32:
				if len(b) < 4 {
					return malformed("truncated fixed32 in a packed repeated field")
				}
				one.u, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
			case wireFixed64:
				if len(b) < 8 {
					return malformed("truncated fixed64 in a packed repeated field")
				}
				one.u, b = binary.LittleEndian.Uint64(b), b[8:]
			}
			if err := appendOne(one, v); err != nil {
				return err
			}
		}
		return nil
	}
}

// mapDecoder decodes one map entry (a message with key = 1 and value = 2) into the map v.
func mapDecoder(t reflect.Type) decodeFunc {
	kt, vt := t.Key(), t.Elem()
	keyDec, valDec := decoderFor(kt, ""), decoderFor(vt, "")
	if isStringListMessage(vt) {
		valDec = decodeStringList
	}
	bytesVal := vt.Kind() == reflect.Slice && vt.Elem().Kind() == reflect.Uint8
	return func(val value, v reflect.Value) error {
		if val.wire != wireBytes {
			return wrongWire(val, "a map entry")
		}
		k, e := reflect.New(kt).Elem(), reflect.New(vt).Elem()
		if bytesVal {
			e.SetBytes([]byte{}) // an absent bytes value is empty, not null
		}
		err := eachField(val.b, func(num int, one value) error {
			switch num {
			case 1:
				return atPath(keyDec(one, k), "key")
			case 2:
				return valDec(one, e)
			}
			return nil
		})
		if err != nil {
			if kt.Kind() == reflect.String && k.String() != "" {
				return atPath(err, "["+strconv.Quote(k.String())+"]")
			}
			return err
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
		v.SetMapIndex(k, e)
		return nil
	}
}

func decodeBytes(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "bytes")
	}
	v.SetBytes(append([]byte{}, val.b...))
	return nil
}

// Special types: their Go types differ from their messages.

// timestamp decodes the message {int64 seconds = 1; int32 nanos = 2} of Time and MicroTime;
// zero reports an empty message, which is how the zero time is encoded.
func timestamp(val value) (sec int64, nanos int32, zero bool, err error) {
	if val.wire != wireBytes {
		return 0, 0, false, wrongWire(val, "a timestamp message")
	}
	if len(val.b) == 0 {
		return 0, 0, true, nil
	}
	err = eachField(val.b, func(num int, one value) error {
		if one.wire != wireVarint && (num == 1 || num == 2) {
			return wrongWire(one, "a varint")
		}
		switch num {
		case 1:
			sec = int64(one.u)
		case 2:
			nanos = int32(one.u)
		}
		return nil
	})
	return sec, nanos, false, err
}

func decodeTime(val value, v reflect.Value) error {
	sec, _, zero, err := timestamp(val)
	if err != nil || zero {
		v.Set(reflect.Zero(timeType))
		return err
	}
	// Time has second precision in JSON; Kubernetes drops the nanoseconds too.
	v.Set(reflect.ValueOf(meta.Time{Time: time.Unix(sec, 0).Local()}))
	return nil
}

func decodeMicroTime(val value, v reflect.Value) error {
	sec, nanos, zero, err := timestamp(val)
	if err != nil || zero {
		v.Set(reflect.Zero(microTimeType))
		return err
	}
	v.Set(reflect.ValueOf(meta.MicroTime{Time: time.Unix(sec, int64(nanos)).Local()}))
	return nil
}

// decodeDuration decodes {int64 duration = 1} (nanoseconds).
func decodeDuration(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "a duration message")
	}
	var d int64
	err := eachField(val.b, func(num int, one value) error {
		if num == 1 {
			if one.wire != wireVarint {
				return wrongWire(one, "a varint")
			}
			d = int64(one.u)
		}
		return nil
	})
	v.Set(reflect.ValueOf(meta.Duration{Duration: time.Duration(d)}))
	return err
}

// decodeQuantity decodes {string string = 1}.
func decodeQuantity(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "a quantity message")
	}
	s, seen := "", false
	err := eachField(val.b, func(num int, one value) error {
		if num == 1 {
			if one.wire != wireBytes {
				return wrongWire(one, "a string")
			}
			s, seen = string(one.b), true
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !seen {
		v.Set(reflect.Zero(quantityType))
		return nil
	}
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return malformed("invalid quantity %q: %v", s, err)
	}
	v.Set(reflect.ValueOf(q))
	return nil
}

// decodeIntOrString decodes {int64 type = 1; int32 intVal = 2; string strVal = 3}.
func decodeIntOrString(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "an IntOrString message")
	}
	var x intstr.IntOrString
	err := eachField(val.b, func(num int, one value) error {
		switch num {
		case 1, 2:
			if one.wire != wireVarint {
				return wrongWire(one, "a varint")
			}
			if num == 1 {
				x.Type = intstr.Type(int64(one.u))
			} else {
				x.IntVal = int32(one.u)
			}
		case 3:
			if one.wire != wireBytes {
				return wrongWire(one, "a string")
			}
			x.StrVal = string(one.b)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if x.Type != intstr.Int && x.Type != intstr.String {
		return malformed("IntOrString of unknown type %d", x.Type)
	}
	v.Set(reflect.ValueOf(x))
	return nil
}

// decodeRawExtension decodes runtime.RawExtension {bytes raw = 1} into a json.RawMessage.
// The raw bytes must be the embedded object's JSON, which is what clients put there; an
// embedded protobuf body is refused rather than decoded recursively (a body could nest them
// without bound).
func decodeRawExtension(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "a RawExtension message")
	}
	var raw []byte
	err := eachField(val.b, func(num int, one value) error {
		if num == 1 {
			if one.wire != wireBytes {
				return wrongWire(one, "bytes")
			}
			raw = one.b
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case len(raw) == 0:
		v.SetBytes(nil)
	case json.Valid(raw):
		v.SetBytes(append([]byte{}, raw...))
	default:
		return malformed("the embedded object is not JSON (an embedded protobuf object is not supported)")
	}
	return nil
}

// viaJSON decodes a message of struct type t and stores its JSON into a json.RawMessage.
func viaJSON(t reflect.Type) decodeFunc {
	return func(val value, v reflect.Value) error {
		if val.wire != wireBytes {
			return wrongWire(val, "an embedded message")
		}
		m := reflect.New(t)
		if err := decodeMessage(val.b, m.Elem()); err != nil {
			return err
		}
		j, err := json.Marshal(m.Interface())
		if err != nil {
			return malformed("%v", err)
		}
		v.SetBytes(j)
		return nil
	}
}

// managedFieldsEntry is meta/v1 ManagedFieldsEntry, which skiff keeps as raw JSON.
type managedFieldsEntry struct {
	Manager     string     `json:"manager,omitempty" protobuf:"bytes,1,opt,name=manager"`
	Operation   string     `json:"operation,omitempty" protobuf:"bytes,2,opt,name=operation"`
	APIVersion  string     `json:"apiVersion,omitempty" protobuf:"bytes,3,opt,name=apiVersion"`
	Time        *meta.Time `json:"time,omitempty" protobuf:"bytes,4,opt,name=time"`
	FieldsType  string     `json:"fieldsType,omitempty" protobuf:"bytes,6,opt,name=fieldsType"`
	FieldsV1    *fieldsV1  `json:"fieldsV1,omitempty" protobuf:"bytes,7,opt,name=fieldsV1"`
	Subresource string     `json:"subresource,omitempty" protobuf:"bytes,8,opt,name=subresource"`
}

// fieldsV1 is meta/v1 FieldsV1 {bytes Raw = 1}: a JSON document.
type fieldsV1 struct {
	Raw []byte `protobuf:"bytes,1,opt,name=Raw"`
}

func (f *fieldsV1) UnmarshalJSON(b []byte) error {
	if string(b) != "null" {
		f.Raw = append([]byte{}, b...)
	}
	return nil
}

func (f *fieldsV1) MarshalJSON() ([]byte, error) {
	if f == nil || f.Raw == nil {
		return []byte("null"), nil
	}
	if !json.Valid(f.Raw) {
		return nil, fmt.Errorf("managedFields: fieldsV1 is not JSON")
	}
	return f.Raw, nil
}
