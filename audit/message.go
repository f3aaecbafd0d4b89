// Package audit writes DICOM audit messages (PS3.15 A.5, the Audit Trail
// Message Format Profile; IHE ATNA) and sends them to the site's audit
// repository: RFC 5424 syslog over TLS (RFC 5425) or UDP (RFC 5426), or a
// file.
//
// A message names the patients and studies an event touched: after the
// disc itself, the audit record is the one place their identifiers go.
// Nothing here logs a message's content anywhere else.
//
// The constructors (Export, Import, InstancesTransferred,
// InstancesAccessed) follow the event definitions of PS3.15 A.5.3; the XML
// follows the schema of PS3.15 A.5.1 (testdata/audit holds it, and the
// tests validate every message against it with jing).
package audit

import (
	"encoding/xml"
	"time"
)

// Message is one audit message, the AuditMessage element of PS3.15
// A.5.1. The constructors fill it; Marshal writes it.
type Message struct {
	XMLName      xml.Name            `xml:"AuditMessage"`
	Event        EventIdentification `xml:"EventIdentification"`
	Participants []ActiveParticipant `xml:"ActiveParticipant"`
	Source       AuditSource         `xml:"AuditSourceIdentification"`
	Objects      []ParticipantObject `xml:"ParticipantObjectIdentification"`
}

// Code is a coded value (PS3.15 A.5.1 CodedValueType): csd-code,
// codeSystemName and originalText, the Code Meaning.
type Code struct {
	Value   string `xml:"csd-code,attr"`
	System  string `xml:"codeSystemName,attr"`
	Meaning string `xml:"originalText,attr"`
}

func dcm(value, meaning string) Code { return Code{Value: value, System: "DCM", Meaning: meaning} }

// The event IDs of DCID 400 (PS3.16) this package writes.
var (
	EventExport               = dcm("110106", "Export")
	EventImport               = dcm("110107", "Import")
	EventInstancesTransferred = dcm("110104", "DICOM Instances Transferred")
	EventInstancesAccessed    = dcm("110103", "DICOM Instances Accessed")
)

// The participant roles of DCID 402 (PS3.16).
var (
	RoleApplication      = dcm("110150", "Application")
	RoleDestination      = dcm("110152", "Destination Role ID")
	RoleSource           = dcm("110153", "Source Role ID")
	RoleDestinationMedia = dcm("110154", "Destination Media")
	RoleSourceMedia      = dcm("110155", "Source Media")
)

// MediaType is a medium's type code, DCID 405 (PS3.16).
type MediaType Code

// The media types of DCID 405 a securemedia medium can be.
var (
	MediaUSB = MediaType(dcm("110030", "USB Disk Emulation"))
	MediaCD  = MediaType(dcm("110032", "CD"))
	MediaDVD = MediaType(dcm("110033", "DVD"))
	MediaURI = MediaType(dcm("110037", "URI")) // a folder or image file not (yet) on a physical medium
)

// Action is an EventActionCode (PS3.15 A.5.1).
type Action string

const (
	Create  Action = "C"
	Read    Action = "R"
	Update  Action = "U"
	Delete  Action = "D"
	Execute Action = "E"
)

// Outcome is an EventOutcomeIndicator (PS3.15 A.5.2): 0 success, 4 minor
// failure (the action was retried or partly done), 8 serious failure (the
// action ended), 12 major failure (made unavailable).
type Outcome int

const (
	Success        Outcome = 0
	MinorFailure   Outcome = 4
	SeriousFailure Outcome = 8
	MajorFailure   Outcome = 12
)

// EventIdentification is the event: what, when and how it ended.
type EventIdentification struct {
	Action      Action  `xml:"EventActionCode,attr,omitempty"`
	DateTime    string  `xml:"EventDateTime,attr"`
	Outcome     Outcome `xml:"EventOutcomeIndicator,attr"`
	ID          Code    `xml:"EventID"`
	Types       []Code  `xml:"EventTypeCode"`
	Description string  `xml:"EventOutcomeDescription,omitempty"`
}

// ActiveParticipant is a person, process or medium taking part.
type ActiveParticipant struct {
	Roles                []Code          `xml:"RoleIDCode"`
	Media                *MediaIdentifer `xml:"MediaIdentifier"`
	UserID               string          `xml:"UserID,attr"`
	AlternativeUserID    string          `xml:"AlternativeUserID,attr,omitempty"`
	UserName             string          `xml:"UserName,attr,omitempty"`
	Requestor            bool            `xml:"UserIsRequestor,attr"`
	NetworkAccessPoint   string          `xml:"NetworkAccessPointID,attr,omitempty"`
	NetworkAccessPointTC string          `xml:"NetworkAccessPointTypeCode,attr,omitempty"`
}

// MediaIdentifer holds a medium participant's type.
type MediaIdentifer struct {
	Type Code `xml:"MediaType"`
}

// AuditSource is the system that reports the event.
type AuditSource struct {
	Site  string            `xml:"AuditEnterpriseSiteID,attr,omitempty"`
	ID    string            `xml:"AuditSourceID,attr"`
	Types []AuditSourceType `xml:"AuditSourceTypeCode"`
}

// AuditSourceType is an AuditSourceTypeCode of PS3.15 A.5.1.2.1, by its
// digit alone.
type AuditSourceType struct {
	Code string `xml:"csd-code,attr"`
}

// Audit source types (PS3.15 A.5.1.2.1).
var (
	SourceEndUser     = AuditSourceType{"1"} // End-user interface: a command or page a person runs
	SourceApplication = AuditSourceType{"4"} // Application server process: a service such as publish
)

// ParticipantObject is a patient, study or other object the event
// touched.
type ParticipantObject struct {
	IDType       Code                `xml:"ParticipantObjectIDTypeCode"`
	Name         string              `xml:"ParticipantObjectName"`
	Descriptions []ObjectDescription `xml:"ParticipantObjectDescription"`
	ID           string              `xml:"ParticipantObjectID,attr"`
	Type         string              `xml:"ParticipantObjectTypeCode,attr,omitempty"`
	Role         string              `xml:"ParticipantObjectTypeCodeRole,attr,omitempty"`
	LifeCycle    string              `xml:"ParticipantObjectDataLifeCycle,attr,omitempty"`
}

// ObjectDescription is the DICOM description of a study object (PS3.15
// A.5.1 DICOMObjectDescriptionContents).
type ObjectDescription struct {
	Accessions []Accession        `xml:"Accession"`
	SOPClasses []SOPClassInstance `xml:"SOPClass"`
	Encrypted  *bool              `xml:"Encrypted"`
}

// Accession is an accession number of the study.
type Accession struct {
	Number string `xml:"Number,attr"`
}

// SOPClassInstance is a SOP class of a study and how many of its instances
// the event touched.
type SOPClassInstance struct {
	UID   string `xml:"UID,attr,omitempty"`
	Count int    `xml:"NumberOfInstances,attr"`
}

// The participant object ID types the messages use (PS3.15 A.5.1.2.4 and
// DCID 404).
var (
	idPatient = Code{Value: "2", System: "RFC-3881", Meaning: "Patient Number"}
	idStudy   = dcm("110180", "Study Instance UID")
)

// Marshal is the message as XML, with the XML declaration, on one line.
func (m *Message) Marshal() ([]byte, error) {
	body, err := xml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header[:len(xml.Header)-1]), body...), nil
}

// timestamp is the EventDateTime: UTC, to the millisecond, with its zone
// (PS3.15 A.5.2.5 asks for the zone).
func timestamp(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
