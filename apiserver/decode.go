package apiserver

// Request bodies: read with a size limit, YAML and protobuf turned into JSON, decoded
// strictly into the kind's type with unknown fields reported as fieldValidation asks.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/skiff-sh/skiff/api/meta"
	"github.com/skiff-sh/skiff/api/protobuf"
	"github.com/skiff-sh/skiff/api/registry"
)

// readBody reads a request body, refusing one over the size limit with 413.
func (s *Server) readBody(w http.ResponseWriter, req *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, s.cfg.MaxRequestBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newStatus(http.StatusRequestEntityTooLarge, meta.ReasonRequestEntityTooLarge,
				fmt.Sprintf("the request body is larger than the limit of %d bytes", s.cfg.MaxRequestBytes), nil)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, errTimeout(fmt.Errorf("reading the request body: %w", err))
		}
		return nil, errBadRequest("reading the request body: " + err.Error())
	}
	// The read deadline withTimeout set is for the body only: the handler may take its time.
	// (After a failed read it stays: the server must not wait for the rest of the body
	// before it answers.)
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	return body, nil
}

// readJSON reads a request body (refusing one over the size limit) as JSON: YAML and
// protobuf bodies are converted.
func (s *Server) readJSON(w http.ResponseWriter, req *http.Request) ([]byte, *apiError) {
	body, aerr := s.readBody(w, req)
	if aerr != nil {
		return nil, aerr
	}
	return toJSON(req, body)
}

// readObject reads a request body and decodes it as an object of kind k.
func (s *Server) readObject(w http.ResponseWriter, req *http.Request, k *registry.Kind) (meta.Object, *apiError) {
	body, aerr := s.readJSON(w, req)
	if aerr != nil {
		return nil, aerr
	}
	return s.decodeObject(w, req, k, body)
}

// toJSON turns a YAML body into JSON; JSON passes through.
func toJSON(req *http.Request, body []byte) ([]byte, *apiError) {
	ct := req.Header.Get("Content-Type")
	if strings.Contains(ct, "yaml") {
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, errBadRequest("the body of the request was in an unknown format: " + err.Error())
		}
		return j, nil
	}
	if protobuf.IsProtobuf(ct) {
		// kubectl's typed commands (create configmap, run, ...) send Kubernetes protobuf; it is
		// turned into JSON here so decoding, defaulting and validation are the same for all.
		j, err := protobuf.ToJSON(body)
		if err != nil {
			return nil, errBadRequest("the body of the request could not be decoded as protobuf: " + err.Error())
		}
		return j, nil
	}
	return body, nil
}

// decodeObject decodes a JSON object of kind k. Unknown fields are refused (fieldValidation=Strict),
// reported in Warning headers (Warn, the default) or dropped (Ignore).
func (s *Server) decodeObject(w http.ResponseWriter, req *http.Request, k *registry.Kind, body []byte) (meta.Object, *apiError) {
	if k.Custom != nil {
		u, aerr := s.decodeCustom(w, req, k, body, true) // customresource.go
		if aerr != nil {
			return nil, aerr
		}
		return u, nil
	}
	// The common case, no unknown field, costs one strict decode; only a body with unknown
	// fields pays for the lenient decode and the walk that names them.
	obj := k.New()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		if !strings.HasPrefix(err.Error(), "json: unknown field ") {
			return nil, errBadRequest(decodeMessage(err))
		}
		obj = k.New()
		if err := json.Unmarshal(body, obj); err != nil {
			return nil, errBadRequest(decodeMessage(err))
		}
		if err := s.checkUnknownFields(w, req, k, body); err != nil {
			return nil, err
		}
	}
	tm := obj.GetTypeMeta()
	if tm.Kind != "" && tm.Kind != k.Kind {
		return nil, errBadRequest(fmt.Sprintf("the kind %q of the body does not match the resource %s (kind %q)", tm.Kind, k.Resource, k.Kind))
	}
	if tm.APIVersion != "" && tm.APIVersion != k.APIVersion() {
		return nil, errBadRequest(fmt.Sprintf("the apiVersion %q of the body does not match %q", tm.APIVersion, k.APIVersion()))
	}
	tm.Kind, tm.APIVersion = k.Kind, k.APIVersion()
	return obj, nil
}

func decodeMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("the body of the request could not be decoded: invalid JSON at offset %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Sprintf("the body of the request could not be decoded: field %q: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
	}
	return "the body of the request could not be decoded: " + err.Error()
}

func (s *Server) checkUnknownFields(w http.ResponseWriter, req *http.Request, k *registry.Kind, body []byte) *apiError {
	mode := req.URL.Query().Get("fieldValidation")
	if mode == "Ignore" {
		return nil
	}
	problems := fieldProblems(body, k.Type)
	if len(problems) == 0 {
		return nil
	}
	if mode == "Strict" {
		return errBadRequest("strict decoding error: " + strings.Join(problems, ", "))
	}
	for _, p := range problems {
		w.Header().Add("Warning", "299 - "+strconv.Quote(p))
	}
	return nil
}
