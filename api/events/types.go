// Package events is events.k8s.io/v1's Event: a served version of the core/v1 Event, stored
// as one (as Kubernetes stores both as the core Event), so an event written through one API
// reads through the other. Only names differ: regarding is involvedObject, note is message,
// reportingController is reportingComponent, and the fields the events.k8s.io API deprecates
// (source, firstTimestamp, lastTimestamp, count) carry a deprecated prefix.
//
// Types derived from k8s.io/api v0.33.0 events/v1 (Apache-2.0): the same JSON and protobuf
// tags; comments shortened.
package events

import (
	"github.com/skiff-sh/skiff/api/core"
	"github.com/skiff-sh/skiff/api/meta"
)

// GroupName is the events API group.
const GroupName = "events.k8s.io"

// Version is its served version.
const Version = "v1"

// APIVersion is "events.k8s.io/v1".
const APIVersion = GroupName + "/" + Version

// Event is a report of an event somewhere in the cluster.
type Event struct {
	meta.TypeMeta   `json:",inline"`
	meta.ObjectMeta `json:"metadata" protobuf:"bytes,1,opt,name=metadata"`
	// eventTime is the time when this Event was first observed (required on create).
	EventTime meta.MicroTime `json:"eventTime" protobuf:"bytes,2,opt,name=eventTime"`
	// series is data about the Event series this event represents, or nil for a singleton.
	Series *EventSeries `json:"series,omitempty" protobuf:"bytes,3,opt,name=series"`
	// reportingController is the name of the controller that emitted this Event.
	ReportingController string `json:"reportingController,omitempty" protobuf:"bytes,4,opt,name=reportingController"`
	// reportingInstance is the ID of the controller instance.
	ReportingInstance string `json:"reportingInstance,omitempty" protobuf:"bytes,5,opt,name=reportingInstance"`
	// action is what action was taken/failed regarding the regarding object.
	Action string `json:"action,omitempty" protobuf:"bytes,6,name=action"`
	// reason is why the action was taken.
	Reason string `json:"reason,omitempty" protobuf:"bytes,7,name=reason"`
	// regarding contains the object this Event is about.
	Regarding core.ObjectReference `json:"regarding,omitempty" protobuf:"bytes,8,opt,name=regarding"`
	// related is the optional secondary object for more complex actions.
	Related *core.ObjectReference `json:"related,omitempty" protobuf:"bytes,9,opt,name=related"`
	// note is a human-readable description of the status of this operation.
	Note string `json:"note,omitempty" protobuf:"bytes,10,opt,name=note"`
	// type is the type of this event (Normal, Warning).
	Type string `json:"type,omitempty" protobuf:"bytes,11,opt,name=type"`
	// deprecatedSource is the deprecated field assuring backward compatibility with core.v1 Event type.
	DeprecatedSource core.EventSource `json:"deprecatedSource,omitempty" protobuf:"bytes,12,opt,name=deprecatedSource"`
	// deprecatedFirstTimestamp is the deprecated field assuring backward compatibility with core.v1 Event type.
	DeprecatedFirstTimestamp meta.Time `json:"deprecatedFirstTimestamp,omitempty" protobuf:"bytes,13,opt,name=deprecatedFirstTimestamp"`
	// deprecatedLastTimestamp is the deprecated field assuring backward compatibility with core.v1 Event type.
	DeprecatedLastTimestamp meta.Time `json:"deprecatedLastTimestamp,omitempty" protobuf:"bytes,14,opt,name=deprecatedLastTimestamp"`
	// deprecatedCount is the deprecated field assuring backward compatibility with core.v1 Event type.
	DeprecatedCount int32 `json:"deprecatedCount,omitempty" protobuf:"varint,15,opt,name=deprecatedCount"`
}

// EventSeries contains information on a series of events.
type EventSeries struct {
	// count is the number of occurrences in this series up to the last heartbeat time.
	Count int32 `json:"count" protobuf:"varint,1,opt,name=count"`
	// lastObservedTime is the time when last Event from the series was seen before last heartbeat.
	LastObservedTime meta.MicroTime `json:"lastObservedTime" protobuf:"bytes,2,opt,name=lastObservedTime"`
}

// EventList is a list of events.k8s.io/v1 Events.
type EventList = meta.List[Event]

// ToCore is an events.k8s.io/v1 Event as it is stored, a core/v1 Event. in is not modified.
func ToCore(in *Event) (*core.Event, error) {
	out := &core.Event{
		TypeMeta:   meta.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: in.ObjectMeta, EventTime: in.EventTime,
		ReportingController: in.ReportingController, ReportingInstance: in.ReportingInstance,
		Action: in.Action, Reason: in.Reason, InvolvedObject: in.Regarding, Related: in.Related,
		Message: in.Note, Type: in.Type, Source: in.DeprecatedSource,
		FirstTimestamp: in.DeprecatedFirstTimestamp, LastTimestamp: in.DeprecatedLastTimestamp, Count: in.DeprecatedCount,
	}
	if s := in.Series; s != nil {
		out.Series = &core.EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	return out, nil
}

// FromCore is a stored core/v1 Event as events.k8s.io/v1 serves it. in is not modified.
func FromCore(in *core.Event) (*Event, error) {
	out := &Event{
		TypeMeta:   meta.TypeMeta{APIVersion: APIVersion, Kind: "Event"},
		ObjectMeta: in.ObjectMeta, EventTime: in.EventTime,
		ReportingController: in.ReportingController, ReportingInstance: in.ReportingInstance,
		Action: in.Action, Reason: in.Reason, Regarding: in.InvolvedObject, Related: in.Related,
		Note: in.Message, Type: in.Type, DeprecatedSource: in.Source,
		DeprecatedFirstTimestamp: in.FirstTimestamp, DeprecatedLastTimestamp: in.LastTimestamp, DeprecatedCount: in.Count,
	}
	if s := in.Series; s != nil {
		out.Series = &EventSeries{Count: s.Count, LastObservedTime: s.LastObservedTime}
	}
	return out, nil
}
