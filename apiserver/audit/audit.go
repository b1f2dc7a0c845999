// Package audit writes the API server's audit log as Kubernetes does at the Metadata level:
// one audit.k8s.io/v1 Event per line, JSON, saying who (user, impersonated user, source
// addresses, user agent) did what (verb, URI, object) with which outcome (response code).
// Request and response bodies are never logged.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/skiff-sh/skiff/api/authentication"
	"github.com/skiff-sh/skiff/api/meta"
)

// Stages of a request at which an event is written.
const (
	// StageResponseStarted: the headers of a long-running response (watch, exec, logs)
	// were sent; its ResponseComplete comes when it ends.
	StageResponseStarted = "ResponseStarted"
	// StageResponseComplete: the response was sent.
	StageResponseComplete = "ResponseComplete"
)

// LevelMetadata is the only level skiff logs at.
const LevelMetadata = "Metadata"

// Event is an audit.k8s.io/v1 Event, with the fields the Metadata level fills.
type Event struct {
	Kind                     string                   `json:"kind"`
	APIVersion               string                   `json:"apiVersion"`
	Level                    string                   `json:"level"`
	AuditID                  string                   `json:"auditID"`
	Stage                    string                   `json:"stage"`
	RequestURI               string                   `json:"requestURI"`
	Verb                     string                   `json:"verb"`
	User                     authentication.UserInfo  `json:"user"`
	ImpersonatedUser         *authentication.UserInfo `json:"impersonatedUser,omitempty"`
	SourceIPs                []string                 `json:"sourceIPs,omitempty"`
	UserAgent                string                   `json:"userAgent,omitempty"`
	ObjectRef                *ObjectReference         `json:"objectRef,omitempty"`
	ResponseStatus           *ResponseStatus          `json:"responseStatus,omitempty"`
	RequestReceivedTimestamp meta.MicroTime           `json:"requestReceivedTimestamp"`
	StageTimestamp           meta.MicroTime           `json:"stageTimestamp"`
	Annotations              map[string]string        `json:"annotations,omitempty"`
}

// ObjectReference is what a resource request is about.
type ObjectReference struct {
	Resource    string `json:"resource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	APIGroup    string `json:"apiGroup,omitempty"`
	APIVersion  string `json:"apiVersion,omitempty"`
	Subresource string `json:"subresource,omitempty"`
}

// ResponseStatus is the metav1.Status of the response as the Metadata level keeps it: the
// code (and, Kubernetes-like, an empty metadata).
type ResponseStatus struct {
	Metadata struct{} `json:"metadata"`
	Code     int32    `json:"code"`
}

// NewEvent returns an event with its constant fields set.
func NewEvent() *Event {
	return &Event{Kind: "Event", APIVersion: "audit.k8s.io/v1", Level: LevelMetadata}
}

// Sink receives events.
type Sink interface {
	Write(ev *Event) error
}

// Writer writes events as JSON lines to w, one Write per line so concurrent requests'
// lines never interleave (the file is opened for appending).
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	c  io.Closer
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// OpenFile appends to the file path ("-" is standard output).
func OpenFile(path string) (*Writer, error) {
	if path == "-" {
		return NewWriter(os.Stdout), nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Writer{w: f, c: f}, nil
}

// Write appends one event.
func (l *Writer) Write(ev *Event) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(ev); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.Write(buf.Bytes())
	return err
}

// Close closes the file.
func (l *Writer) Close() error {
	if l.c == nil {
		return nil
	}
	return l.c.Close()
}
