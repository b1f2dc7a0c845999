package protobuf

import "reflect"

// Kubernetes wraps a list of strings that is a map value in a message of its own, since
// protobuf maps cannot hold repeated values: ExtraValue (user extra attributes in
// CertificateSigningRequest, TokenReview, SubjectAccessReview) is `message ExtraValue {
// repeated string items = 1; }`. In Go it is a named []string, which is how these types are
// recognised here.

func isStringListMessage(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Name() != "" && t.Elem().Kind() == reflect.String
}

// stringList is the wire shape of such a value.
type stringList struct {
	Items []string `protobuf:"bytes,1,rep,name=items"`
}

func decodeStringList(val value, v reflect.Value) error {
	if val.wire != wireBytes {
		return wrongWire(val, "an embedded message")
	}
	var l stringList
	if err := decodeMessage(val.b, reflect.ValueOf(&l).Elem()); err != nil {
		return err
	}
	s := reflect.MakeSlice(v.Type(), len(l.Items), len(l.Items))
	for i, it := range l.Items {
		s.Index(i).SetString(it)
	}
	v.Set(s)
	return nil
}

func encodeStringList(b []byte, num int, v reflect.Value) ([]byte, error) {
	l := stringList{Items: make([]string, v.Len())}
	for i := range l.Items {
		l.Items[i] = v.Index(i).String()
	}
	return appendMessageErr(b, num, func(b []byte) ([]byte, error) { return encodeMessage(b, reflect.ValueOf(&l).Elem()) })
}
