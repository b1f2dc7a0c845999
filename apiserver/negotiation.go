package apiserver

// Response content negotiation: the one place that decides how an API object, a list, a
// Status or a watch stream goes on the wire. Kubernetes' rules (k8s.io/apiserver
// endpoints/handlers/negotiation): the Accept header's media ranges are tried in order of
// preference (q, then the more specific); the first one the endpoint can serve, parameters
// included, wins. Built-in kinds are served as JSON, YAML and Kubernetes protobuf; custom
// resources (which have no protobuf schema) as JSON and YAML; server-side printing
// (as=Table) and watches narrow the choice further. No Accept header means JSON; a header
// nothing in it can serve gets 406 NotAcceptable, itself written as JSON.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/protobuf"
	"github.com/skiff-sh/skiff/api/registry"
	"github.com/skiff-sh/skiff/storage/watchcache"
)

// encoding is a response media type.
type encoding int

const (
	encJSON encoding = iota
	encYAML
	encProtobuf
)

// mediaTypes in the order Kubernetes lists its serializers: */* and application/* pick the
// first the endpoint serves, which is JSON.
var mediaTypes = []struct {
	enc      encoding
	typ, sub string
	stream   bool // has a watch framing (YAML has none)
}{
	{encJSON, "application", "json", true},
	{encYAML, "application", "yaml", false},
	{encProtobuf, "application", "vnd.kubernetes.protobuf", true},
}

func (e encoding) contentType() string {
	switch e {
	case encYAML:
		return "application/yaml"
	case encProtobuf:
		return protobuf.ContentType
	}
	return "application/json"
}

// format is the outcome of negotiation.
type format struct {
	enc encoding
	// table: the client asked for server-side printing (as=Table;g=meta.k8s.io;v=v1 or
	// v1beta1), which is JSON or YAML only, as in Kubernetes (Table has no protobuf).
	table bool
}

// offer is what an endpoint can answer with.
type offer struct {
	protobuf bool // the kind has a protobuf encoding (built-in kinds, Status)
	stream   bool // a watch: only media types with a stream framing
	noTable  bool // the kind has no table form (create-only kinds: a question and its answer)
}

// acceptClause is one media range of an Accept header.
type acceptClause struct {
	typ, sub string
	q        float64
	params   map[string]string
}

// parseAccept splits an Accept header into its media ranges, most preferred first: higher q,
// then a concrete type before a wildcard; otherwise in header order. Malformed ranges are
// dropped, and so are q=0 ones (RFC 9110: "not acceptable").
func parseAccept(h string) []acceptClause {
	var out []acceptClause
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, rest, _ := strings.Cut(part, ";")
		typ, sub, ok := strings.Cut(strings.TrimSpace(mt), "/")
		if !ok {
			if strings.TrimSpace(mt) != "*" {
				continue
			}
			typ, sub = "*", "*"
		}
		c := acceptClause{typ: strings.ToLower(strings.TrimSpace(typ)), sub: strings.ToLower(strings.TrimSpace(sub)), q: 1}
		if c.typ == "" || c.sub == "" || strings.Contains(c.sub, "/") {
			continue
		}
		for _, p := range strings.Split(rest, ";") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.Trim(strings.TrimSpace(v), `"`)
			if k == "q" {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					c.q = f
				}
				continue
			}
			if c.params == nil {
				c.params = map[string]string{}
			}
			c.params[k] = v
		}
		if c.q <= 0 {
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b acceptClause) int {
		if a.q != b.q {
			if a.q > b.q {
				return -1
			}
			return 1
		}
		return wildcards(a) - wildcards(b)
	})
	return out
}

func wildcards(c acceptClause) int {
	n := 0
	if c.typ == "*" {
		n++
	}
	if c.sub == "*" {
		n++
	}
	return n
}

// negotiate picks the response format for an Accept header; ok is false when nothing in it
// can be served (406).
func negotiate(accept string, o offer) (f format, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return format{enc: encJSON}, true
	}
	for _, c := range parseAccept(accept) {
		for _, mt := range mediaTypes {
			if !(c.typ == "*" && c.sub == "*") && (c.typ != mt.typ || (c.sub != "*" && c.sub != mt.sub)) {
				continue
			}
			if mt.enc == encProtobuf && !o.protobuf || o.stream && !mt.stream {
				continue
			}
			if f, ok := acceptParams(c.params, mt.enc, mt.stream, o); ok {
				return f, true
			}
		}
	}
	return format{}, false
}

// acceptParams checks a media range's parameters as Kubernetes' acceptMediaTypeOptions does:
// a conversion (as, g, v) must be one the server makes, stream must be "watch" on a media type
// that has a stream framing, and a server version (sv) is never served; anything else
// (charset, pretty, ...) is ignored.
func acceptParams(params map[string]string, enc encoding, streams bool, o offer) (format, bool) {
	f := format{enc: enc}
	if s := params["stream"]; s != "" && (s != "watch" || !streams) {
		return f, false
	}
	if params["sv"] != "" {
		return f, false
	}
	as, g, v := params["as"], params["g"], params["v"]
	if as == "" && g == "" && v == "" {
		return f, true
	}
	// Only Table: skiff does not serve PartialObjectMetadata (a client that asks for it
	// lists the plain media type after it and gets whole objects).
	if as != "Table" || g != "meta.k8s.io" || (v != "v1" && v != "v1beta1") || enc == encProtobuf || o.noTable {
		return f, false
	}
	f.table = true
	return f, true
}

// errNotAcceptable is Kubernetes' 406 for an Accept header nothing in which is served.
func errNotAcceptable(o offer) *apiError {
	var types []string
	for _, mt := range mediaTypes {
		if mt.enc == encProtobuf && !o.protobuf || o.stream && !mt.stream {
			continue
		}
		t := mt.typ + "/" + mt.sub
		if o.stream {
			t += ";stream=watch"
		}
		types = append(types, t)
	}
	return newStatus(http.StatusNotAcceptable, meta.ReasonNotAcceptable,
		"only the following media types are accepted: "+strings.Join(types, ", "), nil)
}

// withNegotiation is the outermost filter: it keeps the request's Accept header with the
// response writer, so whatever answers the request (writeError from any filter, a handler's
// object) encodes its answer as the client asked. Handlers reach it through the writers the
// inner filters wrap around it (their Unwrap methods).
func withNegotiation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&negotiatingWriter{ResponseWriter: w, accept: r.Header.Get("Accept")}, r)
	})
}

type negotiatingWriter struct {
	http.ResponseWriter
	accept string
	// noProtobuf is set once the request is known to be for a kind without a protobuf
	// encoding (a custom resource): even its errors are then JSON or YAML, as Kubernetes
	// negotiates them with the resource's serializers. noTable: for a kind without a table
	// form.
	noProtobuf, noTable bool
}

func (w *negotiatingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush and Hijack are the underlying writer's, for the filters that look for them by type
// assertion rather than through http.ResponseController (watches flush, exec hijacks).
func (w *negotiatingWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w *negotiatingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// negotiatorOf finds the negotiatingWriter under w; nil when the handler runs without the
// filter (then everything is JSON).
func negotiatorOf(w http.ResponseWriter) *negotiatingWriter {
	for w != nil {
		if n, ok := w.(*negotiatingWriter); ok {
			return n
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// servesKind records the kind a request is for: a custom resource has no protobuf encoding,
// a create-only kind no table form.
func servesKind(w http.ResponseWriter, k *registry.Kind) {
	if n := negotiatorOf(w); n != nil {
		n.noProtobuf, n.noTable = !hasProtobuf(k), k.CreateOnly
	}
}

// hasProtobuf reports whether objects of k have a protobuf encoding: every built-in kind
// does (its Go type carries the protobuf tags of k8s.io/api); custom resources do not.
func hasProtobuf(k *registry.Kind) bool { return k.Custom == nil }

// responseFormat negotiates the format of this request's answer; stream is for a watch.
func responseFormat(w http.ResponseWriter, stream bool) (format, *apiError) {
	n := negotiatorOf(w)
	if n == nil {
		return format{enc: encJSON}, nil
	}
	o := offer{protobuf: !n.noProtobuf, stream: stream, noTable: n.noTable}
	f, ok := negotiate(n.accept, o)
	if !ok {
		return format{enc: encJSON}, errNotAcceptable(o)
	}
	return f, nil
}

// writeAPIObject writes obj (an object of a kind, a Status, a Scale, ...: anything with a
// TypeMeta and protobuf tags) in the negotiated encoding, or 406 when none is acceptable.
func writeAPIObject(w http.ResponseWriter, code int, obj typed) {
	f, aerr := responseFormat(w, false)
	if aerr != nil {
		writeEncoded(w, int(aerr.status.Code), encJSON, &aerr.status)
		return
	}
	writeEncoded(w, code, f.enc, obj)
}

// writeStatus writes an error Status in the negotiated encoding; when nothing acceptable
// can carry it, Kubernetes answers the original error as JSON rather than hide it behind a
// 406, and so does skiff.
func writeStatus(w http.ResponseWriter, st *meta.Status) {
	f, aerr := responseFormat(w, false)
	if aerr != nil || f.table {
		f.enc = encJSON
	}
	writeEncoded(w, int(st.Code), f.enc, st)
}

// writeEncoded writes obj as enc; a value that fails to encode is a 500 in JSON.
func writeEncoded(w http.ResponseWriter, code int, enc encoding, obj typed) {
	b, err := encode(enc, obj)
	if err != nil {
		enc, code, b = encJSON, http.StatusInternalServerError, []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","code":500}`)
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(code)
	w.Write(b)
}

// typed is what the encodings take: a pointer to a struct with a TypeMeta (which names the
// protobuf envelope's kind) and protobuf tags on its other fields.
type typed interface{ GetTypeMeta() *meta.TypeMeta }

func encode(enc encoding, obj typed) ([]byte, error) {
	switch enc {
	case encProtobuf:
		tm := obj.GetTypeMeta()
		return protobuf.EncodeAs(tm.APIVersion, tm.Kind, obj)
	case encYAML:
		b, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		return yaml.JSONToYAML(b)
	}
	return json.Marshal(obj)
}

// writeList writes a list of k's objects (in k's version already: Server.toVersions)
// without building a typed list value: JSON is streamed item by item, protobuf is one XList
// message with each item encoded once.
func writeList(w http.ResponseWriter, k *registry.Kind, items []meta.Object, lm meta.ListMeta) {
	f, aerr := responseFormat(w, false)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	switch f.enc {
	case encProtobuf:
		b, err := protobuf.EncodeList(k.APIVersion(), k.ListKind(), &lm, items)
		if err != nil {
			writeError(w, errInternal(err))
			return
		}
		w.Header().Set("Content-Type", protobuf.ContentType)
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	case encYAML:
		var buf bytesWriter
		writeListJSON(&buf, k, items, lm)
		b, err := yaml.JSONToYAML(buf)
		if err != nil {
			writeError(w, errInternal(err))
			return
		}
		w.Header().Set("Content-Type", encYAML.contentType())
		w.WriteHeader(http.StatusOK)
		w.Write(b)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		writeListJSON(w, k, items, lm)
	}
}

type bytesWriter []byte

func (b *bytesWriter) Write(p []byte) (int, error) { *b = append(*b, p...); return len(p), nil }

// writeListJSON streams a list as JSON, each item encoded once.
func writeListJSON(w interface{ Write([]byte) (int, error) }, k *registry.Kind, items []meta.Object, lm meta.ListMeta) {
	lmJSON, _ := json.Marshal(&lm)
	buf := make([]byte, 0, 64<<10)
	buf = fmt.Appendf(buf, `{"kind":%q,"apiVersion":%q,"metadata":%s,"items":[`, k.ListKind(), k.APIVersion(), lmJSON)
	for i, it := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		b, err := json.Marshal(it)
		if err != nil {
			b = []byte("null")
		}
		buf = append(buf, b...)
		if len(buf) > 32<<10 {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	buf = append(buf, "]}\n"...)
	w.Write(buf)
}

// watchEncoder writes watch events in the negotiated stream format: newline-delimited JSON
// ({"type":...,"object":...}), or Kubernetes' protobuf stream (Content-Type
// application/vnd.kubernetes.protobuf;stream=watch): each event a meta/v1 WatchEvent message
// framed by a 4-byte big-endian length, its object the object's full protobuf encoding.
type watchEncoder struct {
	enc encoding
}

// pbEncoding lets the watch cache encode each object version to protobuf once for all the
// watchers that want it, as it does JSON.
var pbEncoding = &watchcache.Encoding{Encode: protobuf.Encode}

func (e watchEncoder) contentType() string {
	if e.enc == encProtobuf {
		return protobuf.ContentType + ";stream=watch"
	}
	return "application/json"
}

// event returns one event's bytes for the wire; obj is the event's object already encoded
// in e's encoding.
func (e watchEncoder) event(typ string, obj []byte) []byte {
	if e.enc == encProtobuf {
		return protobuf.AppendFrame(nil, protobuf.WatchEventMessage(typ, obj))
	}
	return watchLine(typ, obj)
}

// object encodes an event's object; cached is the watch cache's shared encoding, when
// the event has one for e.
func (e watchEncoder) object(ev watchcache.Event, obj meta.Object) ([]byte, error) {
	if e.enc == encProtobuf {
		if obj == ev.Object {
			if b := ev.ObjectEncoded(pbEncoding); b != nil {
				return b, nil
			}
		}
		return protobuf.Encode(obj)
	}
	if obj == ev.Object {
		if b := ev.ObjectJSON(); b != nil {
			return b, nil
		}
	}
	return json.Marshal(obj)
}

// status encodes an ERROR event's Status.
func (e watchEncoder) status(st *meta.Status) []byte {
	b, err := encode(e.enc, st)
	if err != nil {
		b, _ = json.Marshal(st)
	}
	return e.event(meta.Error, b)
}
